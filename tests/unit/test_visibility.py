"""The one visibility rule (issue 9, point 1; issue 16, point 2): series × surface × asker ×
part × meeting and item state, when a meeting and its agenda are out, the configured
``public_agenda``, and the publication code that asks it where a meeting's moments and
notices may go."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from daemon.config import parse_config
from daemon.errors import ConfigError
from daemon.model import Item, ItemId, ItemStatus, Kind, Meeting, MeetingId, Series, SeriesId
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
from daemon.rules.visibility import (
    PRIVATE,
    Asker,
    ItemState,
    MeetingState,
    Part,
    SeriesVisibility,
    Surface,
    agenda_moment,
    may_show,
    meeting_state,
    publication_moment,
)
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


# --- parts, meetings and items (issue 16, point 2) -----------------------------------------

PUBLIC_SURFACES = [s for s in Surface if s is not Surface.CORE_ROOM]
SERIES_KINDS = {
    "private": SeriesVisibility(public=False),
    "dates": SeriesVisibility(public=True),  # a wijkalliantie configured without its agenda
    "dates+agenda": SeriesVisibility(public=True, public_agenda=True),
    # public_agenda without public dates cannot be configured; the rule still says no.
    "agenda-only": SeriesVisibility(public=False, public_agenda=True),
}
MEETINGS = {
    "unknown": None,
    "not-published": MeetingState(published=False, agenda_out=False),
    "published": MeetingState(published=True, agenda_out=False),
    "agenda-out": MeetingState(published=True, agenda_out=True),
}
ITEMS = {
    "none": None,
    "filed": ItemState(),
    "partner": ItemState(from_partner=True),
    "confidential": ItemState(confidential=True),
    "confidential-partner": ItemState(confidential=True, from_partner=True),
    "awaiting": ItemState(awaiting_acceptance=True),
    "closed": ItemState(closed=True),
}

# Written out by hand: outside the core room, with the meeting and its agenda out and a
# plain filed item, which parts of each kind of series are shown.
SHOWN_PLAINLY = {
    "private": set(),
    "dates": {Part.DATES},
    "dates+agenda": {Part.DATES, Part.AGENDA},
    "agenda-only": set(),
}
MATRIX = list(
    itertools.product(SERIES_KINDS, Surface, ASKERS, Part, MEETINGS, ITEMS)
)  # every combination: 4 × 7 × 3 × 5 × 4 × 7


def test_the_tables_name_every_part() -> None:
    assert set(Part) == {Part.DATES, Part.AGENDA, Part.STUKKEN, Part.SUBMITTER, Part.ADDRESS}


@pytest.mark.parametrize(("kind", "part"), list(itertools.product(SERIES_KINDS, Part)))
def test_what_a_series_shows_in_public_by_part(kind: str, part: Part) -> None:
    for surface in PUBLIC_SURFACES:
        for asker in ASKERS:
            shown = may_show(
                SERIES_KINDS[kind], surface, asker, part,
                meeting=MEETINGS["agenda-out"], item=ITEMS["filed"],
            )  # fmt: skip
            assert shown is (part in SHOWN_PLAINLY[kind]), (surface, asker)


def test_the_whole_matrix_keeps_its_promises() -> None:
    """Over every combination: the core room sees all; the asker widens nothing; stukken,
    addresses, confidential, unvetted and closed items and unpublished meetings are never
    public; a resident's name never, a partner's only with a public title."""
    shown_in_public = set()
    for kind, surface, asker, part, meeting_key, item_key in MATRIX:
        series, meeting, item = SERIES_KINDS[kind], MEETINGS[meeting_key], ITEMS[item_key]
        shown = may_show(series, surface, asker, part, meeting=meeting, item=item)
        case = (kind, surface, asker, part, meeting_key, item_key)
        if surface is Surface.CORE_ROOM:
            assert shown, case
            continue
        others = [
            may_show(series, surface, who, part, meeting=meeting, item=item) for who in ASKERS
        ]
        assert others == [shown] * len(ASKERS), case
        if not shown:
            continue
        shown_in_public.add(part)
        # Whatever is shown in public is of a public series and a published meeting ...
        assert series.public, case
        assert meeting is None or meeting.published, case
        assert part not in (Part.STUKKEN, Part.ADDRESS), case
        if part is Part.DATES:
            continue
        # ... and beyond the dates only of a public agenda that is out, never of an item
        # kept back, and who submitted only for a partner.
        assert series.public_agenda, case
        assert meeting is None or meeting.agenda_out, case
        assert item_key not in ("confidential", "confidential-partner", "awaiting", "closed"), case
        if part is Part.SUBMITTER:
            assert item_key == "partner", case
    # Not vacuous: outside the core room dates, titles and partners' names do get out.
    assert shown_in_public == {Part.DATES, Part.AGENDA, Part.SUBMITTER}


@pytest.mark.parametrize("surface", PUBLIC_SURFACES)
def test_a_confidential_item_is_kept_off_every_public_surface(surface: Surface) -> None:
    open_agenda, out = SERIES_KINDS["dates+agenda"], MEETINGS["agenda-out"]
    kept = ItemState.of(_item(confidential=True))
    assert may_show(open_agenda, surface, None, Part.AGENDA, meeting=out, item=kept) is False
    assert may_show(open_agenda, Surface.CORE_ROOM, None, Part.AGENDA, meeting=out, item=kept)
    plain = ItemState.of(_item())
    assert may_show(open_agenda, surface, None, Part.AGENDA, meeting=out, item=plain) is True


def test_item_state_from_the_item() -> None:
    assert ItemState.of(_item()) == ItemState()
    assert ItemState.of(_item(confidential=True)).confidential is True
    awaiting = ItemState.of(_item(status=ItemStatus.AWAITING_ACCEPTANCE))
    assert awaiting.awaiting_acceptance is True
    assert awaiting.public is False
    for closed in (ItemStatus.WITHDRAWN, ItemStatus.REJECTED):
        assert ItemState.of(_item(status=closed)).closed is True
    assert ItemState.of(_item(status=ItemStatus.TER_BESPREKING)).public is True
    assert ItemState.of(_item(), from_partner=True).from_partner is True


def _item(*, status: ItemStatus = ItemStatus.FILED, confidential: bool = False) -> Item:
    return Item(
        ItemId(12), Kind.AGENDAPUNT, "Bankjes", "jan@example.org", START, None, False, True,
        status, "mail", confidential=confidential,
    )  # fmt: skip


# --- when a meeting and its agenda are out ------------------------------------------------

AMS = ZoneInfo("Europe/Amsterdam")
# A bewonersbijeenkomst on Thu 2027-04-08 19:00 CEST: T-28d is Thu 2027-03-11 19:00 CET
# (18:00 UTC), across the DST change. A wijkalliantie on Tue 2027-04-06 19:30 CEST:
# its concept agenda (T-21d) is Tue 2027-03-16 19:30 CET (18:30 UTC).
BEWONERS_AT = datetime(2027, 4, 8, 17, 0, tzinfo=UTC)
BEWONERS_OUT = datetime(2027, 3, 11, 18, 0, tzinfo=UTC)
ALLIANCE_AT = datetime(2027, 4, 6, 17, 30, tzinfo=UTC)
CONCEPT_OUT = datetime(2027, 3, 16, 18, 30, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def _on(sid: str, start: datetime) -> Meeting:
    return Meeting(MeetingId(f"{sid}-x"), SeriesId(sid), sid, start, start + timedelta(hours=2), "")


def test_a_bewonersbijeenkomst_is_public_from_its_announcement_with_its_agenda() -> None:
    meeting = _on("bewonersbijeenkomst", BEWONERS_AT)
    assert publication_moment(meeting, BEWONERSBIJEENKOMST, AMS) == BEWONERS_OUT
    assert agenda_moment(meeting, BEWONERSBIJEENKOMST, AMS) == BEWONERS_OUT
    before = meeting_state(meeting, BEWONERSBIJEENKOMST, AMS, BEWONERS_OUT - SECOND)
    assert before == MeetingState(published=False, agenda_out=False)
    assert meeting_state(meeting, BEWONERSBIJEENKOMST, AMS, BEWONERS_OUT) == MeetingState()
    seen = SeriesVisibility(public=True, public_agenda=True)
    for surface in PUBLIC_SURFACES:
        assert may_show(seen, surface, None, Part.DATES, meeting=before) is False
        assert may_show(seen, surface, None, Part.AGENDA, meeting=before) is False


def test_a_wijkalliantie_has_public_dates_from_the_plan_and_titles_from_the_concept_agenda() -> (
    None
):
    meeting = _on("wijkalliantie", ALLIANCE_AT)
    assert publication_moment(meeting, WIJKALLIANTIE, AMS) is None
    assert agenda_moment(meeting, WIJKALLIANTIE, AMS) == CONCEPT_OUT
    long_before = datetime(2027, 1, 1, tzinfo=UTC)
    assert meeting_state(meeting, WIJKALLIANTIE, AMS, long_before) == MeetingState(
        published=True, agenda_out=False
    )
    assert meeting_state(meeting, WIJKALLIANTIE, AMS, CONCEPT_OUT - SECOND).agenda_out is False
    assert meeting_state(meeting, WIJKALLIANTIE, AMS, CONCEPT_OUT).agenda_out is True


def test_a_series_without_moments_is_out_with_its_dates() -> None:
    meeting = _on("kerngroep", ALLIANCE_AT)
    assert meeting_state(meeting, KERNGROEP, AMS, datetime(2027, 1, 1, tzinfo=UTC)) == (
        MeetingState()
    )


# --- public_agenda in the configuration -----------------------------------------------------

SERIES_TOML = """[series.wijkalliantie]
public = true
[series.bewonersbijeenkomst]
public = true
[series.kerngroep]
public = {kern}
[series.buurtpreventie]
public = true
"""


def _configured(text: str) -> dict[str, SeriesVisibility]:
    config = parse_config(text, Path("wijkbode.toml"))
    return {sid: SeriesVisibility.of(entry.series) for sid, entry in config.series.items()}


def test_public_agenda_defaults_follow_the_rules() -> None:
    """RULES.md: the bewonersbijeenkomst's agenda and the wijkalliantie's agenda titles are
    public, the kerngroep has nothing public (even when its dates are made public); a
    series RULES.md does not name follows the alliance."""
    seen = _configured(SERIES_TOML.format(kern="true"))
    assert seen["bewonersbijeenkomst"] == SeriesVisibility(public=True, public_agenda=True)
    assert seen["wijkalliantie"] == SeriesVisibility(public=True, public_agenda=True)
    assert seen["kerngroep"] == SeriesVisibility(public=True, public_agenda=False)
    assert seen["buurtpreventie"] == SeriesVisibility(public=True, public_agenda=True)
    assert _configured(SERIES_TOML.format(kern="false"))["kerngroep"] == PRIVATE


def test_public_agenda_can_be_switched_off_and_needs_public_dates() -> None:
    text = SERIES_TOML.format(kern="false").replace(
        "[series.wijkalliantie]\npublic = true\n",
        "[series.wijkalliantie]\npublic = true\npublic_agenda = false\n",
    )
    assert _configured(text)["wijkalliantie"] == SeriesVisibility(public=True)
    private_with_agenda = SERIES_TOML.format(kern="false\npublic_agenda = true")
    with pytest.raises(ConfigError) as caught:
        parse_config(private_with_agenda, Path("wijkbode.toml"))
    message = str(caught.value)
    assert message.startswith("wijkbode.toml:7: series.kerngroep.public_agenda: ")
    assert "een openbare agenda vraagt openbare data" in message
    assert message.index("openbare data") < message.index("a public agenda needs public dates")


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
