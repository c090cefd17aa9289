"""Fixtures for the state store tests: a real SQLite store in a temporary directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from daemon.model import Meeting, MeetingId, MeetingStatus, SeriesId
from daemon.store import Store

# A fixed "now" for the tests: the store never reads the clock itself.
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def planned_meeting(
    day: int,
    *,
    series: str = "wijkalliantie",
    month: int = 4,
    location: str = "Buurthuis De Punt",
    status: MeetingStatus = MeetingStatus.PLANNED,
) -> Meeting:
    """A meeting on 2027-``month``-``day`` from 17:30 to 19:30 UTC."""
    start = datetime(2027, month, day, 17, 30, tzinfo=UTC)
    return Meeting(
        id=MeetingId(f"{series}-2027-{month:02d}-{day:02d}"),
        series=SeriesId(series),
        title=f"{series} {day}-{month}",
        start=start,
        end=start + timedelta(hours=2),
        location=location,
        status=status,
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "state")
    try:
        yield opened
    finally:
        await opened.close()
