"""SQL for the residents' mail subscriptions (migration 0012).

The address is read only by the mail channel when it sends (``subscriber``) and
by nothing that lists or exports: every other query names a subscriber by its
id. Deleting is deleting: ``delete_subscriber`` removes the row (the store runs
with ``secure_delete``, so its bytes are overwritten, and the caller truncates
the WAL after the commit).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from daemon.store.base import QueriesBase
from daemon.store.timefmt import instant_to_db, optional_instant_from_db

__all__ = ["Subscriber", "SubscriberQueries"]


@dataclass(frozen=True, slots=True)
class Subscriber:
    id: int
    address: str
    language: str
    unsubscribe_token: str
    confirmed: bool
    confirm_expires: datetime | None

    def __repr__(self) -> str:  # never an address in a log line or a traceback
        return f"Subscriber(id={self.id}, confirmed={self.confirmed})"


_COLUMNS = "id, address, language, unsubscribe_token, confirmed_at, confirm_expires"


class SubscriberQueries(QueriesBase):
    async def add_subscriber(
        self,
        *,
        address: str,
        address_hash: str,
        language: str,
        confirm_hash: str,
        confirm_expires: datetime,
        unsubscribe_token: str,
        now: datetime,
    ) -> bool:
        """A new, unconfirmed subscriber; ``False`` when the address is already there."""
        async with self._conn.execute(
            "INSERT INTO subscribers (address, address_hash, language, confirm_hash,"
            " confirm_expires, unsubscribe_token, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (address_hash) DO NOTHING",
            (address, address_hash, language, confirm_hash, instant_to_db(confirm_expires),
             unsubscribe_token, instant_to_db(now)),
        ) as cursor:  # fmt: skip
            return cursor.rowcount == 1

    async def subscriber_id_by_address_hash(self, address_hash: str) -> int | None:
        row = await self._fetch_one(
            "SELECT id FROM subscribers WHERE address_hash = ?", (address_hash,)
        )
        return None if row is None else int(row["id"])

    async def purge_unconfirmed(self, now: datetime) -> int:
        """Delete every subscription whose confirmation link expired unused."""
        async with self._conn.execute(
            "DELETE FROM subscribers WHERE confirmed_at IS NULL AND confirm_expires <= ?",
            (instant_to_db(now),),
        ) as cursor:
            return max(cursor.rowcount, 0)

    async def subscriber_by_confirm_hash(self, confirm_hash: str) -> Subscriber | None:
        return _subscriber(
            await self._fetch_one(
                f"SELECT {_COLUMNS} FROM subscribers WHERE confirm_hash = ?",  # noqa: S608
                (confirm_hash,),
            )
        )

    async def confirm_subscriber(self, subscriber_id: int, now: datetime) -> bool:
        async with self._conn.execute(
            "UPDATE subscribers SET confirmed_at = ?, confirm_hash = NULL, confirm_expires = NULL"
            " WHERE id = ? AND confirmed_at IS NULL",
            (instant_to_db(now), subscriber_id),
        ) as cursor:
            return cursor.rowcount == 1

    async def subscriber_by_unsubscribe_token(self, token: str) -> Subscriber | None:
        return _subscriber(
            await self._fetch_one(
                f"SELECT {_COLUMNS} FROM subscribers WHERE unsubscribe_token = ?",  # noqa: S608
                (token,),
            )
        )

    async def subscriber(self, subscriber_id: int) -> Subscriber | None:
        return _subscriber(
            await self._fetch_one(
                f"SELECT {_COLUMNS} FROM subscribers WHERE id = ?",  # noqa: S608
                (subscriber_id,),
            )
        )

    async def delete_subscriber(self, subscriber_id: int) -> bool:
        async with self._conn.execute(
            "DELETE FROM subscribers WHERE id = ?", (subscriber_id,)
        ) as cursor:
            return cursor.rowcount == 1

    async def confirmed_subscriber_ids(self) -> list[int]:
        """Who gets the announcements now, oldest first (ids only, never an address)."""
        rows = await self._fetch_all(
            "SELECT id FROM subscribers WHERE confirmed_at IS NOT NULL ORDER BY id"
        )
        return [int(row["id"]) for row in rows]

    async def subscriber_count(self) -> int:
        row = await self._fetch_one("SELECT count(*) AS n FROM subscribers")
        return 0 if row is None else int(row["n"])


def _subscriber(row: sqlite3.Row | None) -> Subscriber | None:
    if row is None:
        return None
    return Subscriber(
        id=int(row["id"]),
        address=str(row["address"]),
        language=str(row["language"]),
        unsubscribe_token=str(row["unsubscribe_token"]),
        confirmed=row["confirmed_at"] is not None,
        confirm_expires=optional_instant_from_db(row["confirm_expires"]),
    )
