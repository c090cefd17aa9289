"""Instants and dates as the store writes them: fixed-width ISO 8601 text in UTC.

One fixed width (``2027-04-06T17:30:00.000000+00:00``) makes text order equal
time order, so SQL can compare and sort the columns directly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime


def instant_to_db(when: datetime) -> str:
    """``when`` as UTC text with microseconds; a naive datetime is refused."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"the store only takes timezone-aware datetimes, not {when!r}")
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def instant_from_db(text: str) -> datetime:
    """The aware UTC datetime of a stored instant."""
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError(f"stored instant without a UTC offset: {text!r}")
    return when.astimezone(UTC)


def optional_instant_to_db(when: datetime | None) -> str | None:
    return None if when is None else instant_to_db(when)


def optional_instant_from_db(text: str | None) -> datetime | None:
    return None if text is None else instant_from_db(text)


def date_to_db(day: date) -> str:
    """A calendar date as ``YYYY-MM-DD``; a datetime is refused (it would hide a time)."""
    if isinstance(day, datetime):
        raise TypeError(f"expected a date, got the datetime {day!r}")
    return day.isoformat()


def date_from_db(text: str) -> date:
    return date.fromisoformat(text)
