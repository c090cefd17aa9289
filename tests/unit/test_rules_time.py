"""RULES.md "Time": day offsets keep the local wall-clock time, hour offsets are exact."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from daemon.model import Offset
from daemon.rules.assignment import apply_offset

TZ = ZoneInfo("Europe/Amsterdam")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "offset", "expected_utc", "expected_local"),
    [
        # RULES.md's own example: spring change between the moment and the meeting.
        ("2027-04-06 19:30", "14d", "2027-03-23 18:30", "2027-03-23 19:30+01:00"),
        # Autumn change between them: the moment is in summer time.
        ("2027-11-02 19:30", "14d", "2027-10-19 17:30", "2027-10-19 19:30+02:00"),
        # No change in between.
        ("2027-06-08 19:30", "21d", "2027-05-18 17:30", "2027-05-18 19:30+02:00"),
    ],
)
def test_day_offset_keeps_local_wall_clock_time(
    start: str, offset: str, expected_utc: str, expected_local: str
) -> None:
    """``Nd`` is the same local time N calendar days earlier, whatever DST did."""
    moment = apply_offset(local(start), Offset.parse(offset), TZ)
    assert utc(expected_utc) == moment
    assert datetime.fromisoformat(expected_local).isoformat() == moment.isoformat()


@pytest.mark.parametrize(
    ("start", "expected_utc"),
    [
        # Spring: 48 elapsed hours before 19:30 CEST is 18:30 CET, not 19:30.
        ("2027-03-29 19:30", "2027-03-27 17:30"),
        # Autumn: 48 elapsed hours before 19:30 CET is 20:30 CEST.
        ("2027-11-01 19:30", "2027-10-30 18:30"),
    ],
)
def test_hour_offset_is_exact_elapsed_time_across_dst(start: str, expected_utc: str) -> None:
    """``48h`` is exactly 48 hours, so the local wall-clock time shifts by the DST hour."""
    assert utc(expected_utc) == apply_offset(local(start), Offset.parse("48h"), TZ)


def test_day_offset_into_the_spring_gap_moves_forward() -> None:
    """02:30 does not exist on 2027-03-28; it is read as 02:30 CET, i.e. 03:30 CEST."""
    moment = apply_offset(local("2027-03-29 02:30"), Offset.parse("1d"), TZ)
    assert utc("2027-03-28 01:30") == moment
    assert moment.isoformat() == "2027-03-28T03:30:00+02:00"


def test_day_offset_into_the_autumn_overlap_takes_the_first_occurrence() -> None:
    """02:30 happens twice on 2027-10-31; the first (summer time) one is taken."""
    moment = apply_offset(local("2027-11-01 02:30"), Offset.parse("1d"), TZ)
    # In UTC: Python never calls an ambiguous local time equal to another zone's time.
    assert utc("2027-10-31 00:30") == moment.astimezone(UTC)


def test_offset_result_is_in_the_deployment_zone_whatever_the_input_zone() -> None:
    """An instant given in UTC gives the same moment, expressed in local time."""
    from_utc = apply_offset(utc("2027-04-06 17:30"), Offset.parse("14d"), TZ)
    assert (utc("2027-03-23 18:30"), TZ) == (from_utc, from_utc.tzinfo)


def test_zero_offset_is_the_instant_itself() -> None:
    """``0d`` and ``0h`` are the instant itself, also in the ambiguous autumn hour."""
    second_0230 = utc("2027-10-31 01:30").astimezone(TZ)  # 02:30 CET, fold=1
    assert [utc("2027-10-31 01:30")] * 2 == [
        apply_offset(second_0230, Offset.parse("0d"), TZ).astimezone(UTC),
        apply_offset(second_0230, Offset.parse("0h"), TZ).astimezone(UTC),
    ]
