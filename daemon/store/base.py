"""The connection every query mixin shares, and two small fetch helpers."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

import aiosqlite


class QueriesBase:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def _fetch_one(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        """The first row of ``sql`` (or ``None``); the cursor is closed before returning."""
        async with self._conn.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def _fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        async with self._conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())
