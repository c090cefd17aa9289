"""SQL for the room feed: posts about filed items waiting for the core group's room."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from daemon.model import ItemId
from daemon.ports.outbox import ChatPost, decode_payload
from daemon.store.base import QueriesBase
from daemon.store.timefmt import instant_from_db, instant_to_db


@dataclass(frozen=True, slots=True)
class FeedEntry:
    id: int
    key: str  # the outbox key the post gets when it goes out on its own
    item_id: ItemId
    post: ChatPost
    queued_at: datetime


class FeedQueries(QueriesBase):
    async def queue_feed_entry(
        self, key: str, item_id: ItemId, post: ChatPost, at: datetime
    ) -> None:
        """Queue a post; queueing the same key twice keeps the first."""
        await self._conn.execute(
            "INSERT OR IGNORE INTO room_feed (key, item_id, post, queued_at) VALUES (?, ?, ?, ?)",
            (key, item_id, post.to_json(), instant_to_db(at)),
        )

    async def waiting_feed_entries(self, limit: int = 10_000) -> list[FeedEntry]:
        rows = await self._fetch_all(
            "SELECT id, key, item_id, post, queued_at FROM room_feed"
            " WHERE posted_at IS NULL ORDER BY id LIMIT ?",
            (limit,),
        )
        return [
            _entry(row["id"], row["key"], row["item_id"], row["post"], row["queued_at"])
            for row in rows
        ]

    async def mark_feed_posted(self, entry_ids: Sequence[int], at: datetime) -> None:
        await self._conn.executemany(
            "UPDATE room_feed SET posted_at = ? WHERE id = ? AND posted_at IS NULL",
            [(instant_to_db(at), entry_id) for entry_id in entry_ids],
        )


def _entry(entry_id: int, key: str, item_id: int, post: str, queued_at: str) -> FeedEntry:
    payload = decode_payload(post)
    if not isinstance(payload, ChatPost):
        raise ValueError(f"room feed entry {entry_id} holds a {type(payload).__name__}")
    return FeedEntry(entry_id, key, ItemId(item_id), payload, instant_from_db(queued_at))
