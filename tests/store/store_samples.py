"""Sample meetings and items for the store tests (a plain module: conftest is not imported)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from daemon.model import Item, ItemStatus, Kind, Meeting, MeetingId, MeetingStatus, SeriesId
from daemon.store import Tx

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


async def file_item(
    tx: Tx,
    meeting_id: MeetingId | None,
    *,
    kind: Kind = Kind.STUK,
    title: str = "Jaarverslag",
    received_at: datetime = NOW,
    status: ItemStatus = ItemStatus.FILED,
) -> Item:
    """An on-time item from a partner by mail; the tests vary only what they are about."""
    return await tx.add_item(
        kind=kind,
        title=title,
        submitter="partner@example.org",
        received_at=received_at,
        meeting_id=meeting_id,
        late=False,
        decision_ready=True,
        status=status,
        source="mail",
    )
