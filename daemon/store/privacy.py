# ruff: noqa: S608 -- table and column names come from sqlite_master, never from input
"""SQL for privacy requests: where a person is named, rewriting those rows, and the
retention purge of old meetings' documents.

The search is by table, not by a list kept by hand: every text column of every
table is looked at, so a table added later (subscribers, polls, chat names) is
covered without a change here. The store runs with ``secure_delete``, so what a
rewrite or delete replaces is overwritten on disk; the caller truncates the WAL
after the commit.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from daemon.errors import StoreError
from daemon.store.base import QueriesBase
from daemon.store.timefmt import instant_to_db

__all__ = ["Mention", "PrivacyQueries", "PurgedDocuments"]

# Rows removed whole instead of rewritten: a subscription (its address is its reason to
# be there) and a chat member's remembered display name.
DELETED_WHOLE = frozenset({"subscribers", "member_names"})
# Columns that only ever hold what Wijkbode made itself (hashes, times, enums).
_SKIPPED_TABLES = frozenset({"schema_migrations", "sqlite_sequence"})


@dataclass(frozen=True, slots=True)
class Mention:
    """One row naming the person: its table, rowid, and every text column's value."""

    table: str
    rowid: int
    values: dict[str, str]  # text columns (only those not NULL)


@dataclass(frozen=True, slots=True)
class PurgedDocuments:
    links: int  # item_documents rows removed
    hashes: list[str]  # documents no longer referenced: their rows removed, files to delete


class PrivacyQueries(QueriesBase):
    async def text_columns(self) -> dict[str, list[str]]:
        """Every table's columns that can hold text, by table name."""
        tables = await self._fetch_all(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " ORDER BY name"
        )
        found: dict[str, list[str]] = {}
        for row in tables:
            table = str(row["name"])
            if table in _SKIPPED_TABLES:
                continue
            columns = await self._fetch_all(f'PRAGMA table_info("{table}")')
            text = [
                str(c["name"])
                for c in columns
                if str(c["type"]).upper() in ("TEXT", "ANY", "") or "CHAR" in str(c["type"]).upper()
            ]
            if text:
                found[table] = text
        return found

    async def mentions(self, needle: str) -> list[Mention]:
        """Every row with ``needle`` (case-insensitive) in one of its text columns."""
        lowered = needle.lower()
        found: list[Mention] = []
        for table, columns in (await self.text_columns()).items():
            quoted = ", ".join(f'"{c}"' for c in columns)
            where = " OR ".join(f'instr(lower("{c}"), ?) > 0' for c in columns)
            rows = await self._fetch_all(
                f'SELECT rowid AS _rowid, {quoted} FROM "{table}" WHERE {where} ORDER BY rowid',
                [lowered] * len(columns),
            )
            for row in rows:
                values = {c: str(row[c]) for c in columns if row[c] is not None}
                found.append(Mention(table, int(row["_rowid"]), values))
        return found

    async def texts_of(self, table: str, column: str, like: str) -> list[str]:
        """Values of ``table.column`` matching the LIKE pattern (pseudonyms given out)."""
        if table not in await self.text_columns():
            return []
        rows = await self._fetch_all(
            f'SELECT "{column}" AS v FROM "{table}" WHERE "{column}" LIKE ?', [like]
        )
        return [str(r["v"]) for r in rows]

    async def rewrite(self, mention: Mention, values: dict[str, str]) -> None:
        """Write ``values`` (changed text columns) into the row of ``mention``."""
        if not values:
            return
        assignments = ", ".join(f'"{c}" = ?' for c in values)
        try:
            await self._conn.execute(
                f'UPDATE "{mention.table}" SET {assignments} WHERE rowid = ?',
                [*values.values(), mention.rowid],
            )
        except sqlite3.IntegrityError as error:  # a unique value that would become a twin
            raise StoreError(
                f"{mention.table} #{mention.rowid}: kan niet herschreven worden: {error} "
                f"(cannot be rewritten; nothing was changed)"
            ) from None

    async def delete_row(self, table: str, rowid: int) -> None:
        await self._conn.execute(f'DELETE FROM "{table}" WHERE rowid = ?', [rowid])

    async def park_pending_outbox(self, rowid: int, reason: str) -> bool:
        """An undelivered message to the person is not sent after all."""
        async with self._conn.execute(
            "UPDATE outbox SET status = 'parked', next_attempt_at = NULL, last_error = ?"
            " WHERE id = ? AND status = 'pending'",
            [reason, rowid],
        ) as cursor:
            return cursor.rowcount == 1

    # -- retention --------------------------------------------------------------

    async def purge_documents_before(self, cutoff: datetime) -> PurgedDocuments:
        """Drop the documents of every item of a meeting that started before ``cutoff``;
        a document still used elsewhere (a newer item, a pending message) stays."""
        old_items = (  # a constant, no input
            "SELECT items.id FROM items JOIN meetings ON meetings.id = items.meeting_id"
            " WHERE meetings.start < ?"
        )
        when = instant_to_db(cutoff)
        candidates = await self._fetch_all(
            f"SELECT DISTINCT sha256 FROM item_documents WHERE item_id IN ({old_items})", [when]
        )
        async with self._conn.execute(
            f"DELETE FROM item_documents WHERE item_id IN ({old_items})", [when]
        ) as cursor:
            links = cursor.rowcount
        if "download_tokens" in await self.text_columns():
            await self._conn.execute(
                "DELETE FROM download_tokens WHERE meeting_id IN"
                " (SELECT id FROM meetings WHERE start < ?)",
                [when],
            )
        gone: list[str] = []
        for row in candidates:
            sha256 = str(row["sha256"])
            if await self._still_used(sha256):
                continue
            await self._conn.execute("DELETE FROM documents WHERE sha256 = ?", [sha256])
            gone.append(sha256)
        return PurgedDocuments(links, gone)

    async def _still_used(self, sha256: str) -> bool:
        used = await self._fetch_one(
            "SELECT 1 FROM item_documents WHERE sha256 = ?"
            " UNION ALL SELECT 1 FROM outbox WHERE status = 'pending' AND instr(payload, ?) > 0"
            " LIMIT 1",
            [sha256, sha256],
        )
        if used is not None:
            return True
        if "download_tokens" in await self.text_columns():
            token = await self._fetch_one(
                "SELECT 1 FROM download_tokens WHERE sha256 = ? LIMIT 1", [sha256]
            )
            return token is not None
        return False
