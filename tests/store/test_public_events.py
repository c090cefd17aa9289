"""The public events (0008): what the feed channel published, per meeting, never rolled back."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from daemon.model import MeetingId
from daemon.ports.outbox import CalendarWrite
from daemon.store import Store

MEETING = MeetingId("bewonersbijeenkomst-2027-04-06")
START = datetime(2027, 4, 6, 17, 30, tzinfo=UTC)
AT = datetime(2027, 3, 9, 17, 30, tzinfo=UTC)
ANNOUNCED = CalendarWrite(
    uid=f"{MEETING}@wijk.test",
    action="upsert",
    summary="Bewonersbijeenkomst",
    start=START,
    end=START + timedelta(hours=2),
    location="Buurthuis",
    description="Aankondiging",
    sequence=0,
)
MOVED = replace(
    ANNOUNCED, start=START + timedelta(days=7), end=START + timedelta(days=7, hours=2), sequence=1
)
CANCELLED = replace(MOVED, action="cancel", sequence=2)


async def _record(store: Store, event: CalendarWrite, key: str, at: datetime) -> bool:
    async with store.transaction() as tx:
        return await tx.record_publication(MEETING, "agenda", event, key=key, at=at)


async def test_a_move_then_a_cancellation_update_one_event_in_place(store: Store) -> None:
    assert await _record(store, ANNOUNCED, "k0", AT)
    assert await _record(store, MOVED, "k1", AT + timedelta(days=1))
    assert await _record(store, CANCELLED, "k2", AT + timedelta(days=2))
    async with store.reading() as tx:
        [published] = await tx.publications("agenda")
    assert published.event == CANCELLED
    assert published.moved_from == START  # the start before the published move
    assert published.published_at == AT
    assert published.changed_at == AT + timedelta(days=2)


async def test_a_repeated_or_older_delivery_changes_nothing(store: Store) -> None:
    await _record(store, ANNOUNCED, "k0", AT)
    await _record(store, MOVED, "k1", AT + timedelta(days=1))
    assert not await _record(store, MOVED, "k1", AT + timedelta(days=1))  # after a crash
    assert not await _record(store, ANNOUNCED, "k0-old", AT)  # an older sequence
    async with store.reading() as tx:
        [published] = await tx.publications()
    assert published.event == MOVED
    assert published.changed_at == AT + timedelta(days=1)
