"""SQL for the direct chats opened with members (migration 0015).

A row is written right after the room was made, in its own short transaction: the
room exists on the homeserver from then on, so a reminder that is tried again
finds it instead of opening a second one.
"""

from __future__ import annotations

from datetime import datetime

from daemon.store.base import QueriesBase
from daemon.store.timefmt import instant_to_db

__all__ = ["DirectRoomQueries"]


class DirectRoomQueries(QueriesBase):
    async def direct_room(self, user_id: str) -> str | None:
        """The room id of the direct chat with ``user_id``, if one was opened."""
        row = await self._fetch_one(
            "SELECT room_id FROM direct_rooms WHERE user_id = ?", (user_id,)
        )
        return None if row is None else str(row["room_id"])

    async def remember_direct_room(self, user_id: str, room_id: str, at: datetime) -> None:
        """Keep ``room_id`` as the direct chat with ``user_id`` (a newer one replaces it)."""
        await self._conn.execute(
            "INSERT INTO direct_rooms (user_id, room_id, opened_at) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET room_id = excluded.room_id,"
            " opened_at = excluded.opened_at",
            (user_id, room_id, instant_to_db(at)),
        )
