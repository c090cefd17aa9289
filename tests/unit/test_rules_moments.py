"""RULES.md's moments of a meeting: concept agenda, deadlines, packages, reminders, publication."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from daemon.model import (
    Kind,
    Meeting,
    MeetingId,
    MeetingStatus,
    Offset,
    SeriesId,
    SeriesRules,
)
from daemon.rules import defaults
from daemon.rules.assignment import Moment, deadline, moments, upcoming_moments

TZ = ZoneInfo("Europe/Amsterdam")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def meeting(
    start: str, series: str = "wijkalliantie", status: MeetingStatus = MeetingStatus.PLANNED
) -> Meeting:
    begins = local(start)
    return Meeting(
        id=MeetingId(f"{series}-{begins.date().isoformat()}"),
        series=SeriesId(series),
        title=series,
        start=begins,
        end=begins + timedelta(hours=2),
        location="Buurthuis",
        status=status,
    )


def schedule(found: Sequence[Moment]) -> list[tuple[str, str, datetime]]:
    """(name, offset, UTC instant) per moment, in the order given."""
    return [(m.name, str(m.offset), m.at.astimezone(UTC)) for m in found]


def test_every_moment_of_a_wijkalliantie_meeting_across_the_spring_change() -> None:
    """Tue 2027-04-06 19:30 CEST: day moments stay at 19:30 local, in CET before 28 March."""
    expected = [
        ("reminder:agendapunt", "7d", utc("2027-03-15 18:30")),  # 7d before T-15d
        ("concept_agenda", "21d", utc("2027-03-16 18:30")),
        ("reminder:stuk", "7d", utc("2027-03-16 18:30")),
        ("reminder:agendapunt", "2d", utc("2027-03-20 18:30")),
        ("reminder:stuk", "2d", utc("2027-03-21 18:30")),
        ("agendapunt", "15d", utc("2027-03-22 18:30")),
        ("reminder:ter_kennisgeving", "7d", utc("2027-03-23 18:30")),
        ("stuk", "14d", utc("2027-03-23 18:30")),  # RULES.md: 19:30 CET = 18:30 UTC
        ("reminder:actualiteit", "7d", utc("2027-03-28 17:30")),  # first day of CEST
        ("reminder:ter_kennisgeving", "2d", utc("2027-03-28 17:30")),
        ("ter_kennisgeving", "7d", utc("2027-03-30 17:30")),
        ("reminder:actualiteit", "2d", utc("2027-04-02 17:30")),
        ("actualiteit", "48h", utc("2027-04-04 17:30")),
    ]
    found = moments(meeting("2027-04-06 19:30"), defaults.WIJKALLIANTIE, TZ)
    assert expected == schedule(found)
    assert {"19:30"} == {m.at.strftime("%H:%M") for m in found}


def test_every_moment_of_a_wijkalliantie_meeting_across_the_autumn_change() -> None:
    """Tue 2027-11-02 19:30 CET: the October moments are 19:30 CEST, i.e. 17:30 UTC."""
    found = moments(meeting("2027-11-02 19:30"), defaults.WIJKALLIANTIE, TZ)
    packages = [m for m in found if not m.name.startswith("reminder:")]
    assert [
        ("concept_agenda", "21d", utc("2027-10-12 17:30")),
        ("agendapunt", "15d", utc("2027-10-18 17:30")),
        ("stuk", "14d", utc("2027-10-19 17:30")),
        ("ter_kennisgeving", "7d", utc("2027-10-26 17:30")),
        ("actualiteit", "48h", utc("2027-10-31 18:30")),  # after the change: CET
    ] == schedule(packages)


def test_actualiteit_deadline_is_48_exact_hours_across_the_spring_change() -> None:
    """Mon 2027-03-29 19:30 CEST minus 48h is Sat 17:30 UTC (18:30 CET), not 18:30 UTC."""
    found = moments(meeting("2027-03-29 19:30"), defaults.WIJKALLIANTIE, TZ)
    [actualiteit] = [m for m in found if m.name == "actualiteit"]
    assert utc("2027-03-27 17:30") == actualiteit.at


def test_bewonersbijeenkomst_is_announced_then_gets_a_folder_then_a_reminder() -> None:
    """T-28d announce, T-14d folder, T-2d reminder; no agenda deadlines."""
    found = moments(
        meeting("2027-04-10 14:00", "bewonersbijeenkomst"), defaults.BEWONERSBIJEENKOMST, TZ
    )
    assert [
        ("announce", "28d", utc("2027-03-13 13:00")),  # 14:00 CET
        ("folder", "14d", utc("2027-03-27 13:00")),  # 14:00 CET, the day before the change
        ("reminder:meeting", "2d", utc("2027-04-08 12:00")),  # 14:00 CEST
    ] == schedule(found)


def test_kerngroep_meeting_has_only_its_reminder() -> None:
    """The core group's own meeting: a reminder two days before, nothing else."""
    found = moments(meeting("2027-03-03 20:00", "kerngroep"), defaults.KERNGROEP, TZ)
    assert [("reminder:meeting", "2d", utc("2027-03-01 19:00"))] == schedule(found)


def test_cancelled_meeting_has_no_moments() -> None:
    """A cancelled meeting sends no agenda, package or reminder."""
    cancelled = meeting("2027-04-06 19:30", status=MeetingStatus.CANCELLED)
    assert moments(cancelled, defaults.WIJKALLIANTIE, TZ) == []


def test_configured_override_is_followed_by_deadline_moment_and_reminders() -> None:
    """With stuk at 10d, the stuk deadline and its reminders move; the others stay."""
    rules = dataclasses.replace(
        defaults.WIJKALLIANTIE,
        deadlines={**defaults.WIJKALLIANTIE.deadlines, Kind.STUK: Offset.parse("10d")},
    )
    start = meeting("2027-06-08 19:30")
    found = moments(start, rules, TZ)
    stuk = [m for m in found if m.name in {"stuk", "reminder:stuk"}]
    assert [
        ("reminder:stuk", "7d", utc("2027-05-22 17:30")),
        ("reminder:stuk", "2d", utc("2027-05-27 17:30")),
        ("stuk", "10d", utc("2027-05-29 17:30")),
    ] == schedule(stuk)
    assert utc("2027-05-29 17:30") == deadline(start, Kind.STUK, rules, TZ)
    assert utc("2027-05-24 17:30") == deadline(start, Kind.AGENDAPUNT, rules, TZ)


def test_kind_without_a_deadline_can_be_submitted_until_the_start() -> None:
    """A kind the series configures no deadline for closes when the meeting starts."""
    kerngroep = meeting("2027-03-03 20:00", "kerngroep")
    assert kerngroep.start == deadline(kerngroep, Kind.STUK, defaults.KERNGROEP, TZ)


def test_moment_keys_are_unique_and_name_meeting_moment_and_offset() -> None:
    """Two reminders share a name but not a key; a reminder configured twice counts once."""
    rules = dataclasses.replace(
        defaults.WIJKALLIANTIE,
        deadline_reminders=(Offset.parse("7d"), Offset.parse("2d"), Offset.parse("7d")),
    )
    found = moments(meeting("2027-04-06 19:30"), rules, TZ)
    keys = [m.key for m in found]
    assert len(keys) == len(set(keys)) == 13
    assert "wijkalliantie-2027-04-06/reminder:stuk/7d" in keys
    assert "wijkalliantie-2027-04-06/actualiteit/48h" in keys


def test_moment_keys_stay_when_a_meeting_moves() -> None:
    """A moved meeting keeps its id, so its moments keep their keys at new instants."""
    planned = meeting("2027-04-06 19:30")
    moved = dataclasses.replace(planned, start=local("2027-04-13 19:30"))
    before = moments(planned, defaults.WIJKALLIANTIE, TZ)
    after = moments(moved, defaults.WIJKALLIANTIE, TZ)
    assert [m.key for m in before] == [m.key for m in after]
    assert [timedelta(days=7)] * 13 == [b.at - a.at for a, b in zip(before, after, strict=True)]


@pytest.mark.parametrize("rules", [defaults.WIJKALLIANTIE, defaults.BEWONERSBIJEENKOMST])
def test_moments_are_sorted_by_time(rules: SeriesRules) -> None:
    """moments() comes back in time order."""
    found = moments(meeting("2027-10-26 19:30"), rules, TZ)
    assert sorted(m.at.astimezone(UTC) for m in found) == [m.at.astimezone(UTC) for m in found]


def test_upcoming_moments_of_all_series_from_now_on_in_time_order() -> None:
    """Only moments at or after now, across series, sorted by (at, meeting, name)."""
    alliance = meeting("2027-04-06 19:30")
    residents = meeting("2027-04-10 14:00", "bewonersbijeenkomst")
    now = utc("2027-03-28 17:30")  # exactly two alliance moments
    found = upcoming_moments(
        {alliance.series: [alliance], residents.series: [residents]},
        {alliance.series: defaults.WIJKALLIANTIE, residents.series: defaults.BEWONERSBIJEENKOMST},
        TZ,
        now,
    )
    assert [
        ("wijkalliantie-2027-04-06", "reminder:actualiteit", utc("2027-03-28 17:30")),
        ("wijkalliantie-2027-04-06", "reminder:ter_kennisgeving", utc("2027-03-28 17:30")),
        ("wijkalliantie-2027-04-06", "ter_kennisgeving", utc("2027-03-30 17:30")),
        ("wijkalliantie-2027-04-06", "reminder:actualiteit", utc("2027-04-02 17:30")),
        ("wijkalliantie-2027-04-06", "actualiteit", utc("2027-04-04 17:30")),
        ("bewonersbijeenkomst-2027-04-10", "reminder:meeting", utc("2027-04-08 12:00")),
    ] == [(m.meeting, m.name, m.at.astimezone(UTC)) for m in found]
