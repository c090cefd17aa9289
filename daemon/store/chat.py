"""SQL for the chat concern: which Matrix events Wijkbode has handled, and what they filed.

``mark_event_handled`` runs in the same transaction as the event's effects, so
an event is either handled with all its effects or not at all; the Matrix
connector asks ``is_event_handled`` to skip events a restart delivers again.
``record_chat_item`` remembers which message an item was filed from, so a
second 📌 on the same message does not file it twice. The tables come with
migration ``0004_chat.sql``; the members' display names (``member_names``,
shown instead of ids that may be phone numbers) with ``0014_member_names.sql``.
"""

from __future__ import annotations

from collections.abc import Mapping
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

    async def member_names(self) -> dict[str, str]:
        """Every member's last known display name, by user id."""
        cursor = await self._conn.execute("SELECT user_id, name FROM member_names")
        return {str(row[0]): str(row[1]) for row in await cursor.fetchall()}

    async def set_member_names(self, names: Mapping[str, str], seen_at: datetime) -> None:
        """Record these display names; members not named here keep theirs."""
        await self._conn.executemany(
            "INSERT INTO member_names (user_id, name, seen_at) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, seen_at = excluded.seen_at",
            [(uid, name, instant_to_db(seen_at)) for uid, name in names.items() if uid and name],
        )
