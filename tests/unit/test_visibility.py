"""The one visibility rule (issue 9, point 1): series × surface × asker, and the publication
code that asks it where a meeting's moments and notices may go."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from daemon.model import Meeting, MeetingId, Series, SeriesId
from daemon.ports.outbox import ChannelName
from daemon.publish.scheduled import (
    FireContext,
    Targets,
    meeting_destinations,
    meeting_effects,
    surface_of,
)
from daemon.rules.catchup import CANCELLED_NOTICE, MOVED_NOTICE, NOTICES, REINSTATED_NOTICE
from daemon.rules.defaults import BEWONERSBIJEENKOMST, KERNGROEP, WIJKALLIANTIE
from daemon.rules.moments import ANNOUNCE, CONCEPT_AGENDA, FOLDER, MEETING_REMINDER
from daemon.rules.visibility import PRIVATE, Asker, SeriesVisibility, Surface, may_show
from daemon.store.engine import Job, JobStatus, SubjectType

# --- the rule -----------------------------------------------------------------------

# Written out by hand, surface by surface: a new surface must be added here to pass.
PRIVATE_SERIES_SHOWN = {
    Surface.CORE_ROOM: True,
    Surface.ANNOUNCE_ROOM: False,
    Surface.OTHER_CHAT: False,
    Surface.PUBLIC_CALENDAR: False,
    Surface.PUBLIC_FEED: False,
    Surface.PUBLIC_PAGE: False,
    Surface.RESIDENTS_MAIL: False,
}
PUBLIC_SERIES_SHOWN = dict.fromkeys(Surface, True)
ASKERS = (Asker.CORE_MEMBER, Asker.OTHER, None)  # None: a broadcast, nobody asked


def test_the_table_names_every_surface() -> None:
    assert set(PRIVATE_SERIES_SHOWN) == set(Surface)


@pytest.mark.parametrize(
    ("public", "surface", "asker"), list(itertools.product((True, False), Surface, ASKERS))
)
def test_series_by_surface_by_asker(public: bool, surface: Surface, asker: Asker | None) -> None:
    expected = (PUBLIC_SERIES_SHOWN if public else PRIVATE_SERIES_SHOWN)[surface]
    assert may_show(SeriesVisibility(public=public), surface, asker) is expected


@pytest.mark.parametrize("surface", [s for s in Surface if s is not Surface.CORE_ROOM])
def test_a_core_member_outside_the_core_room_sees_no_more_than_anyone(surface: Surface) -> None:
    private = SeriesVisibility(public=False)
    assert may_show(private, surface, Asker.CORE_MEMBER) is False
    assert may_show(private, surface, Asker.CORE_MEMBER) == may_show(private, surface, Asker.OTHER)


def test_unknown_means_private() -> None:
    assert SeriesVisibility(public=False) == PRIVATE
    assert may_show(PRIVATE, Surface.ANNOUNCE_ROOM, Asker.OTHER) is False
    assert may_show(PRIVATE, Surface.CORE_ROOM, Asker.CORE_MEMBER) is True


def test_the_series_flag_comes_from_the_configured_series() -> None:
    assert SeriesVisibility.of(_series("kerngroep", False)) == SeriesVisibility(public=False)
    assert SeriesVisibility.of(_series("bewonersbijeenkomst", True)).public is True


# --- publication asks the same rule ------------------------------------------------------

CORE = "!core:wijk.example.org"
ANNOUNCE_ROOM = "!buurt:wijk.example.org"
RESIDENTS = "bewoners@lists.example.org"
PARTNER = "gemeente@example.org"
CALENDAR = "Openbare agenda"
TARGETS = Targets(
    core_room=CORE,
    announce_rooms=(ANNOUNCE_ROOM,),
    partner_addresses=(PARTNER,),
    residents_address=RESIDENTS,
    calendar=CALENDAR,
    mail_domain="wijk.example.org",
)
PUBLIC_PLACES = {ANNOUNCE_ROOM, RESIDENTS, CALENDAR}
START = datetime(2027, 4, 6, 17, 30, tzinfo=UTC)


def _series(sid: str, public: bool) -> Series:
    rules = {"kerngroep": KERNGROEP, "bewonersbijeenkomst": BEWONERSBIJEENKOMST}
    return Series(
        SeriesId(sid), sid.capitalize(), public, rules.get(sid, WIJKALLIANTIE),
        timedelta(hours=2), "Buurthuis",
    )  # fmt: skip


def _everywhere(moment: str, series: Series) -> set[str]:
    found = meeting_destinations(moment, series, TARGETS)
    return {d for where in found.values() for d in where}


MOMENTS = (ANNOUNCE, MEETING_REMINDER, FOLDER, CONCEPT_AGENDA, *NOTICES)


@pytest.mark.parametrize("moment", MOMENTS)
def test_a_private_series_never_reaches_a_public_audience(moment: str) -> None:
    for sid in ("kerngroep", "bewonersbijeenkomst", "wijkalliantie"):
        private = _everywhere(moment, _series(sid, public=False))
        assert private.isdisjoint(PUBLIC_PLACES), (sid, moment, private)


def test_a_public_series_still_reaches_every_audience_as_before() -> None:
    bewoners = _series("bewonersbijeenkomst", public=True)
    assert meeting_destinations(ANNOUNCE, bewoners, TARGETS) == {
        ChannelName.MATRIX: (CORE, ANNOUNCE_ROOM),
        ChannelName.MAIL: (RESIDENTS,),
        ChannelName.CALDAV: (CALENDAR,),
    }
    assert meeting_destinations(MEETING_REMINDER, bewoners, TARGETS) == {
        ChannelName.MATRIX: (CORE, ANNOUNCE_ROOM),
        ChannelName.MAIL: (RESIDENTS,),
    }
    assert meeting_destinations(FOLDER, bewoners, TARGETS) == {ChannelName.MATRIX: (CORE,)}
    # Partners' packages follow the moments, public or not.
    alliance = _series("wijkalliantie", public=True)
    assert meeting_destinations(CONCEPT_AGENDA, alliance, TARGETS)[ChannelName.MAIL] == (PARTNER,)
    private_alliance = _series("wijkalliantie", public=False)
    assert meeting_destinations(CONCEPT_AGENDA, private_alliance, TARGETS)[ChannelName.MAIL] == (
        PARTNER,
    )


def test_each_destination_is_the_surface_its_audience_reads() -> None:
    assert surface_of(ChannelName.MATRIX, CORE, TARGETS) is Surface.CORE_ROOM
    assert surface_of(ChannelName.MATRIX, ANNOUNCE_ROOM, TARGETS) is Surface.ANNOUNCE_ROOM
    assert surface_of(ChannelName.MATRIX, "!elders:x", TARGETS) is Surface.OTHER_CHAT
    assert surface_of(ChannelName.MAIL, RESIDENTS, TARGETS) is Surface.RESIDENTS_MAIL
    assert surface_of(ChannelName.MAIL, "vroeger@example.org", TARGETS) is Surface.RESIDENTS_MAIL
    assert surface_of(ChannelName.MAIL, PARTNER, TARGETS) is None
    assert surface_of(ChannelName.CALDAV, CALENDAR, TARGETS) is Surface.PUBLIC_CALENDAR


def _job(moment: str, channel: ChannelName) -> Job:
    return Job(
        id=1, key=f"meeting/m/{moment}/{channel.value}", subject_type=SubjectType.MEETING,
        subject_id="m", moment=moment, channel=channel, due_at=START, target_at=START,
        subject_at=START, status=JobStatus.PENDING, fired_at=None, note="",
        created_at=START, updated_at=START,
    )  # fmt: skip


def _meeting(sid: str) -> Meeting:
    return Meeting(
        MeetingId(f"{sid}-2027-04-06"), SeriesId(sid), sid.capitalize(), START,
        START + timedelta(hours=2), "Buurthuis",
    )  # fmt: skip


@pytest.mark.parametrize("moment", [CANCELLED_NOTICE, MOVED_NOTICE, REINSTATED_NOTICE])
@pytest.mark.parametrize(
    ("channel", "carried"),
    [
        (ChannelName.MATRIX, (CORE, ANNOUNCE_ROOM, "!elders:x")),
        (ChannelName.MAIL, (RESIDENTS, PARTNER)),
    ],
)
def test_a_notice_of_a_series_made_private_goes_only_where_private_things_may_go(
    moment: str, channel: ChannelName, carried: tuple[str, ...]
) -> None:
    context = FireContext(ZoneInfo("Europe/Amsterdam"), TARGETS, carried=carried)
    job = _job(moment, channel)
    private = meeting_effects(job, _meeting("kerngroep"), _series("kerngroep", False), context)
    public = meeting_effects(
        job, _meeting("bewonersbijeenkomst"), _series("bewonersbijeenkomst", True), context
    )
    assert {e.destination for e in public} == set(carried)  # unchanged for a public series
    assert {e.destination for e in private} == set(carried) & {CORE, PARTNER}
