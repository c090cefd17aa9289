"""The store's time text: fixed width, UTC, and text order equal to time order."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.store.timefmt import (
    date_from_db,
    date_to_db,
    instant_from_db,
    instant_to_db,
    optional_instant_from_db,
    optional_instant_to_db,
)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
instants = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from([UTC, AMSTERDAM, timezone(timedelta(hours=-9, minutes=-30))]),
)


def test_a_local_time_is_written_as_utc() -> None:
    """19:30 CEST on 6 April 2027 is 17:30 UTC."""
    text = instant_to_db(datetime(2027, 4, 6, 19, 30, tzinfo=AMSTERDAM))
    assert text == "2027-04-06T17:30:00.000000+00:00"


def test_read_back_is_utc() -> None:
    when = instant_from_db("2027-10-31T01:30:00.250000+00:00")
    assert when == datetime(2027, 10, 31, 1, 30, 0, 250000, tzinfo=UTC)
    assert when.utcoffset() == timedelta(0)


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        instant_to_db(datetime(2027, 4, 6, 19, 30))


def test_stored_text_without_offset_is_refused() -> None:
    with pytest.raises(ValueError, match="without a UTC offset"):
        instant_from_db("2027-04-06T17:30:00")


def test_optional_instants() -> None:
    assert optional_instant_to_db(None) is None
    assert optional_instant_from_db(None) is None
    when = datetime(2027, 1, 1, tzinfo=UTC)
    assert optional_instant_from_db(optional_instant_to_db(when)) == when


def test_dates() -> None:
    assert date_to_db(date(2027, 4, 6)) == "2027-04-06"
    assert date_from_db("2027-04-06") == date(2027, 4, 6)
    with pytest.raises(TypeError, match="datetime"):
        date_to_db(datetime(2027, 4, 6, tzinfo=UTC))


@given(instants)
def test_round_trip_keeps_the_instant(when: datetime) -> None:
    text = instant_to_db(when)
    assert len(text) == len("2027-04-06T17:30:00.000000+00:00")
    # Compared in UTC: Python never calls an ambiguous local time equal across zones.
    assert instant_from_db(text) == when.astimezone(UTC)


@given(instants, instants)
def test_text_order_is_time_order(a: datetime, b: datetime) -> None:
    assert (instant_to_db(a) < instant_to_db(b)) == (a.timestamp() < b.timestamp())
