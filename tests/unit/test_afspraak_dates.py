"""Due dates from chat: rules for the common forms, dateparser for the rest, never a guess."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from daemon.chat.dates import parse_day, parse_due

AMS = ZoneInfo("Europe/Amsterdam")
# Wednesday 10 March 2027, noon.
BASE = datetime(2027, 3, 10, 12, 0, tzinfo=AMS)


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("2027-04-01", date(2027, 4, 1)),
        ("15 maart", date(2027, 3, 15)),
        ("15 maart.", date(2027, 3, 15)),
        ("1 april 2027", date(2027, 4, 1)),
        ("31-03-2027", date(2027, 3, 31)),
        ("March 15", date(2027, 3, 15)),
        ("1 oktober", date(2027, 10, 1)),
        ("vrijdag", date(2027, 3, 12)),
        ("Vrijdag", date(2027, 3, 12)),
        ("friday", date(2027, 3, 12)),
        ("vrijdag a.s.", date(2027, 3, 12)),
        ("volgende vrijdag", date(2027, 3, 12)),
        ("next friday", date(2027, 3, 12)),
        ("woensdag", date(2027, 3, 17)),  # said on a Wednesday: next week's
        ("maandag", date(2027, 3, 15)),
        ("morgen", date(2027, 3, 11)),
        ("tomorrow", date(2027, 3, 11)),
        ("vandaag", date(2027, 3, 10)),
        ("binnen 2 weken", date(2027, 3, 24)),
        ("binnen twee weken", date(2027, 3, 24)),
        ("binnen 10 dagen", date(2027, 3, 20)),
        ("over 3 dagen", date(2027, 3, 13)),
        ("binnen een maand", date(2027, 4, 10)),
        ("within 2 weeks", date(2027, 3, 24)),
        ("in 1 month", date(2027, 4, 10)),
    ],
)
def test_due_dates_in_dutch_and_english(phrase: str, expected: date) -> None:
    assert expected == parse_due(phrase, BASE)


@pytest.mark.parametrize(
    "phrase",
    [
        "",
        "5",  # a bare number is not a date
        "de bijeenkomst",
        "de zaal",
        "gisteren",  # the past
        "15 maart 2026",  # the past
        "2027-02-30",  # no such day
        "binnen 2 jaren",  # no such unit here
        "x" * 200,
    ],
)
def test_no_date_or_a_past_one_is_none(phrase: str) -> None:
    assert parse_due(phrase, BASE) is None


def test_a_day_long_past_this_year_means_next_year_a_recent_one_is_past() -> None:
    late_in_march = datetime(2027, 3, 20, 9, 0, tzinfo=AMS)
    assert date(2028, 1, 15) == parse_due("15 januari", datetime(2027, 12, 28, tzinfo=AMS))
    assert parse_due("15 maart", late_in_march) is None  # five days ago: a question


def test_a_weekday_counts_from_the_local_date_not_utc() -> None:
    # Thursday 23:30 local; the base is given in local time and its date is Thursday.
    thursday_night = datetime(2027, 3, 11, 23, 30, tzinfo=AMS)
    assert date(2027, 3, 12) == parse_due("vrijdag", thursday_night)


def test_parse_day_allows_the_past_for_naming_a_meeting() -> None:
    assert date(2027, 1, 12) == parse_day("2027-01-12", BASE)
    assert parse_day("de vergadering", BASE) is None
