"""SQL for the chat concern: which Matrix events Wijkbode has handled, and what they filed.

``mark_event_handled`` runs in the same transaction as the event's effects, so
an event is either handled with all its effects or not at all; the Matrix
connector asks ``is_event_handled`` to skip events a restart delivers again.
``record_chat_item`` remembers which message an item was filed from, so a
second 📌 on the same message does not file it twice. The tables come with
migration ``0004_chat.sql``.
"""

from __future__ import annotations

from datetime import datetime

from daemon.model import ItemId
from daemon.store.base import QueriesBase
from daemon.store.timefmt import instant_to_db


class ChatQueries(QueriesBase):
    async def is_event_handled(self, event_id: str) -> bool:
        cursor = await self._conn.execute(
            "SELECT 1 FROM chat_handled_events WHERE event_id = ?", (event_id,)
        )
        return await cursor.fetchone() is not None

    async def mark_event_handled(self, event_id: str, room_id: str, handled_at: datetime) -> None:
        """Record ``event_id`` as handled; marking twice is harmless."""
        await self._conn.execute(
            "INSERT OR IGNORE INTO chat_handled_events (event_id, room_id, handled_at)"
            " VALUES (?, ?, ?)",
            (event_id, room_id, instant_to_db(handled_at)),
        )

    async def record_chat_item(self, event_id: str, room_id: str, item_id: ItemId) -> None:
        """Remember that the message ``event_id`` was filed as ``item_id``."""
        await self._conn.execute(
            "INSERT INTO chat_items (event_id, room_id, item_id) VALUES (?, ?, ?)",
            (event_id, room_id, item_id),
        )

    async def item_for_chat_event(self, event_id: str) -> ItemId | None:
        """The item the message ``event_id`` was filed as, if it was."""
        row = await self._fetch_one(
            "SELECT item_id FROM chat_items WHERE event_id = ?", (event_id,)
        )
        return None if row is None else ItemId(int(row[0]))
