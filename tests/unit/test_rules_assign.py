"""RULES.md's submission rules: to which meeting an item goes, lateness, the two-week rule."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from daemon.model import ItemStatus, Kind, Meeting, MeetingId, MeetingStatus, Offset, SeriesId
from daemon.rules import defaults
from daemon.rules.assignment import (
    Assignment,
    assign,
    deadline,
    is_decision_ready,
    is_late,
    keep_for_discussion,
    next_meeting,
)

TZ = ZoneInfo("Europe/Amsterdam")
RULES = defaults.WIJKALLIANTIE
SECOND = timedelta(seconds=1)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def meeting(start: str, status: MeetingStatus = MeetingStatus.PLANNED) -> Meeting:
    begins = local(start)
    return Meeting(
        id=MeetingId(f"wijkalliantie-{begins.date().isoformat()}"),
        series=SeriesId("wijkalliantie"),
        title="Wijkalliantie",
        start=begins,
        end=begins + timedelta(hours=2),
        location="Buurthuis",
        status=status,
    )


APRIL = meeting("2027-04-06 19:30")
MAY = meeting("2027-05-11 19:30")
JUNE = meeting("2027-06-08 19:30")
PLAN = [JUNE, APRIL, MAY]  # any order


def filed(
    at: Meeting, *, late: bool = False, ready: bool | None = None, moved_from: Meeting | None = None
) -> Assignment:
    """A filed assignment; a late item is niet besluitrijp unless the test says otherwise."""
    return Assignment(
        at, late, (not late) if ready is None else ready, moved_from, ItemStatus.FILED
    )


# (kind, the deadline of APRIL in local time, decision ready when exactly on time)
DEADLINES = [
    (Kind.AGENDAPUNT, "2027-03-22 19:30", True),
    (Kind.STUK, "2027-03-23 19:30", True),  # exactly T-14d: the two-week rule holds
    (Kind.TER_KENNISGEVING, "2027-03-30 19:30", False),  # for information only
    (Kind.ACTUALITEIT, "2027-04-04 19:30", False),  # too late for a decision
]


@pytest.mark.parametrize(("kind", "closes", "ready"), DEADLINES)
def test_item_exactly_at_the_deadline_is_on_time(kind: Kind, closes: str, ready: bool) -> None:
    """The deadline instant itself is on time."""
    assert local(closes) == deadline(APRIL, kind, RULES, TZ)
    assert filed(APRIL, ready=ready) == assign(kind, local(closes), PLAN, RULES, TZ)


@pytest.mark.parametrize(("kind", "closes", "ready"), DEADLINES)
def test_item_one_second_before_the_deadline_is_on_time(
    kind: Kind, closes: str, ready: bool
) -> None:
    """A second early is on time for the intended meeting."""
    received = local(closes) - SECOND
    assert filed(APRIL, ready=ready) == assign(kind, received, PLAN, RULES, TZ)
    assert not is_late(kind, received, APRIL, RULES, TZ)


@pytest.mark.parametrize(("kind", "closes", "ready"), DEADLINES)
def test_item_one_second_after_the_deadline_is_late_and_moves_to_the_next_meeting(
    kind: Kind, closes: str, ready: bool
) -> None:
    """Every kind that misses its deadline moves to the next meeting, late and niet besluitrijp."""
    received = local(closes) + SECOND
    assert filed(MAY, late=True, ready=False, moved_from=APRIL) == assign(
        kind, received, PLAN, RULES, TZ
    )
    assert is_late(kind, received, APRIL, RULES, TZ)


def test_late_stuk_is_marked_niet_besluitrijp_and_moves_to_may() -> None:
    """A stuk on 25 March misses April's package: RULES.md marks it niet besluitrijp, and
    it moves to May, although the two-week rule alone would hold for May."""
    received = local("2027-03-25 10:00")
    assert not is_decision_ready(Kind.STUK, received, APRIL, RULES, TZ)
    assert is_decision_ready(Kind.STUK, received, MAY, RULES, TZ)
    assert filed(MAY, late=True, ready=False, moved_from=APRIL) == assign(
        Kind.STUK, received, PLAN, RULES, TZ
    )


def test_late_stuk_skips_a_next_meeting_whose_deadline_has_passed_too() -> None:
    """With a meeting a week later, a stuk too late for both goes to the one after."""
    soon_after = meeting("2027-04-13 19:30")  # stuk deadline 30 March
    received = local("2027-04-01 09:00")
    assert filed(JUNE, late=True, moved_from=APRIL) == assign(
        Kind.STUK, received, [APRIL, soon_after, JUNE], RULES, TZ
    )


def test_decision_ready_follows_the_two_week_rule_for_the_assigned_meeting() -> None:
    """An agendapunt in time for a meeting but inside its last 14 days is not decision ready."""
    received = local("2027-03-23 19:30") + SECOND  # one second after T-14d
    rules = dataclasses.replace(RULES, deadlines={})  # anything may come until the start
    assert filed(APRIL, ready=False) == assign(Kind.AGENDAPUNT, received, PLAN, rules, TZ)


def test_no_next_meeting_planned_gives_the_unplanned_state() -> None:
    """After the last planned meeting an item waits as "not planned yet", no crash."""
    received = local("2027-06-09 10:00")
    assert Assignment(None, False, False, None, ItemStatus.UNPLANNED) == assign(
        Kind.STUK, received, PLAN, RULES, TZ
    )
    assert Assignment(None, False, False, None, ItemStatus.UNPLANNED) == assign(
        Kind.STUK, received, [], RULES, TZ
    )


def test_late_item_with_no_meeting_after_it_is_late_and_unplanned() -> None:
    """Too late for the last planned meeting: late, and no meeting yet to move to."""
    received = local("2027-05-30 10:00")  # June's stuk deadline was 25 May
    assert Assignment(None, True, False, JUNE, ItemStatus.UNPLANNED) == assign(
        Kind.STUK, received, PLAN, RULES, TZ
    )


def test_cancelled_meeting_takes_no_items() -> None:
    """An item that would go to a cancelled meeting goes to the next one, not late."""
    cancelled = dataclasses.replace(APRIL, status=MeetingStatus.CANCELLED)
    assert filed(MAY) == assign(Kind.STUK, local("2027-03-01 10:00"), [cancelled, MAY], RULES, TZ)


def test_late_item_skips_a_cancelled_next_meeting() -> None:
    """A late stuk moves past a cancelled meeting to the first one that is held."""
    cancelled_may = dataclasses.replace(MAY, status=MeetingStatus.CANCELLED)
    received = local("2027-03-25 10:00")
    assert filed(JUNE, late=True, moved_from=APRIL) == assign(
        Kind.STUK, received, [APRIL, cancelled_may, JUNE], RULES, TZ
    )


def test_target_tag_files_for_the_named_meeting() -> None:
    """A subject tag naming May files the item for May, though April is next."""
    assert filed(MAY) == assign(
        Kind.STUK, local("2027-03-01 10:00"), PLAN, RULES, TZ, target=MAY.id
    )


def test_target_past_its_deadline_moves_on_as_late() -> None:
    """A tag naming a meeting whose deadline passed moves the item on, late."""
    received = local("2027-04-28 10:00")  # May's stuk deadline was 27 April
    assert filed(JUNE, late=True, moved_from=MAY) == assign(
        Kind.STUK, received, PLAN, RULES, TZ, target=MAY.id
    )


def test_target_already_started_moves_on_as_late() -> None:
    """A tag naming a meeting that has begun is a missed deadline."""
    received = local("2027-04-06 20:00")
    assert filed(MAY, late=True, moved_from=APRIL) == assign(
        Kind.AGENDAPUNT, received, PLAN, RULES, TZ, target=APRIL.id
    )


def test_cancelled_target_moves_on_without_being_late() -> None:
    """A tag naming a cancelled meeting files for the next one; the sender was not late."""
    cancelled = dataclasses.replace(MAY, status=MeetingStatus.CANCELLED)
    received = local("2027-03-01 10:00")
    assert filed(JUNE, moved_from=cancelled) == assign(
        Kind.STUK, received, [APRIL, cancelled, JUNE], RULES, TZ, target=MAY.id
    )


def test_unknown_target_is_ignored() -> None:
    """A mistyped tag files the item as if it had none."""
    received = local("2027-03-01 10:00")
    assert filed(APRIL) == assign(
        Kind.STUK, received, PLAN, RULES, TZ, target=MeetingId("wijkalliantie-2027-04-07")
    )


def test_direct_agendapunt_during_a_meeting_goes_on_the_next_agenda() -> None:
    """Filed directly during April's meeting: on the next agenda although its deadline passed."""
    soon_after = meeting("2027-04-13 19:30")  # agendapunt deadline 29 March
    during_april = local("2027-04-06 20:15")
    plan = [APRIL, soon_after, JUNE]
    assert filed(soon_after, ready=False) == assign(
        Kind.AGENDAPUNT, during_april, plan, RULES, TZ, direct=True
    )
    assert filed(JUNE, late=True, moved_from=soon_after) == assign(
        Kind.AGENDAPUNT, during_april, plan, RULES, TZ
    )


def test_direct_for_a_started_meeting_still_moves_on() -> None:
    """Direct filing skips the deadline, not the meeting's start."""
    received = local("2027-04-06 20:15")
    assert filed(MAY, late=True, moved_from=APRIL) == assign(
        Kind.AGENDAPUNT, received, PLAN, RULES, TZ, target=APRIL.id, direct=True
    )


def test_keep_for_discussion_keeps_a_late_stuk_on_its_original_meeting() -> None:
    """The core group keeps a late stuk on April: ter bespreking, geen besluit."""
    assert Assignment(APRIL, True, False, None, ItemStatus.TER_BESPREKING) == keep_for_discussion(
        APRIL
    )


def test_keep_for_discussion_refuses_a_cancelled_meeting() -> None:
    """Cancelled meetings take no items, not even for discussion."""
    with pytest.raises(ValueError, match="cancelled"):
        keep_for_discussion(dataclasses.replace(APRIL, status=MeetingStatus.CANCELLED))


def test_configured_stuk_deadline_is_followed() -> None:
    """With stuk at 10d, a stuk 12 days ahead is on time (it would be late at 14d)."""
    rules = dataclasses.replace(
        RULES, deadlines={**RULES.deadlines, Kind.STUK: Offset.parse("10d")}
    )
    received = local("2027-03-25 19:30")
    assert filed(APRIL, ready=False) == assign(Kind.STUK, received, PLAN, rules, TZ)
    assert filed(MAY, late=True, moved_from=APRIL) == assign(Kind.STUK, received, PLAN, RULES, TZ)


def test_receive_time_in_utc_is_judged_by_the_instant() -> None:
    """18:30 UTC on 23 March is 19:30 CET, exactly the stuk deadline: on time."""
    received = datetime(2027, 3, 23, 18, 30, tzinfo=UTC)
    assert filed(APRIL) == assign(Kind.STUK, received, PLAN, RULES, TZ)


def test_next_meeting_is_the_first_held_meeting_after_now() -> None:
    """Cancelled meetings and a meeting starting exactly now are not next."""
    cancelled = dataclasses.replace(MAY, status=MeetingStatus.CANCELLED)
    assert next_meeting([JUNE, cancelled, APRIL], APRIL.start) == JUNE
    assert next_meeting(PLAN, APRIL.start - SECOND) == APRIL
    assert next_meeting(PLAN, JUNE.start) is None


def test_autumn_repeated_hour_is_judged_by_the_instant_not_the_wall_clock() -> None:
    """Deadline 02:50 summer time on 31 Oct; 02:40 winter time comes 50 minutes later: late."""
    night = meeting("2027-11-02 02:50")
    rules = dataclasses.replace(RULES, deadlines={Kind.ACTUALITEIT: Offset.parse("2d")})
    received = datetime(2027, 10, 31, 1, 40, tzinfo=UTC).astimezone(TZ)  # 02:40, fold=1
    assert datetime(2027, 10, 31, 0, 50, tzinfo=UTC) == deadline(
        night, Kind.ACTUALITEIT, rules, TZ
    ).astimezone(UTC)
    assert is_late(Kind.ACTUALITEIT, received, night, rules, TZ)
