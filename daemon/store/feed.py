"""SQL for the room feed: filed items waiting to be posted in the core group's room."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from daemon.model import ItemId
from daemon.store.base import QueriesBase
from daemon.store.timefmt import instant_from_db, instant_to_db


@dataclass(frozen=True, slots=True)
class FeedEntry:
    id: int
    item_id: ItemId
    reason: str
    queued_at: datetime


class FeedQueries(QueriesBase):
    async def queue_feed_entry(self, item_id: ItemId, reason: str, at: datetime) -> None:
        await self._conn.execute(
            "INSERT OR IGNORE INTO room_feed (item_id, reason, queued_at) VALUES (?, ?, ?)",
            (item_id, reason, instant_to_db(at)),
        )

    async def waiting_feed_entries(self, limit: int = 10_000) -> list[FeedEntry]:
        rows = await self._fetch_all(
            "SELECT id, item_id, reason, queued_at FROM room_feed"
            " WHERE posted_at IS NULL ORDER BY id LIMIT ?",
            (limit,),
        )
        return [
            FeedEntry(
                row["id"], ItemId(row["item_id"]), row["reason"], instant_from_db(row["queued_at"])
            )
            for row in rows
        ]

    async def newest_waiting_feed_entry_at(self) -> datetime | None:
        row = await self._fetch_one("SELECT MAX(queued_at) FROM room_feed WHERE posted_at IS NULL")
        return None if row is None or row[0] is None else instant_from_db(row[0])

    async def mark_feed_posted(self, entry_ids: Sequence[int], at: datetime) -> None:
        await self._conn.executemany(
            "UPDATE room_feed SET posted_at = ? WHERE id = ? AND posted_at IS NULL",
            [(instant_to_db(at), entry_id) for entry_id in entry_ids],
        )
