"""The connection every query mixin shares, and two small fetch helpers."""

from __future__ import annotations

import sqlite3
from collections.abc import Generator, Iterable
from typing import Any, Protocol


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    async def fetchone(self) -> sqlite3.Row | None: ...

    async def fetchall(self) -> Iterable[sqlite3.Row]: ...


class Executed(Protocol):
    """A statement run: awaited, or used as ``async with ... as cursor``."""

    def __await__(self) -> Generator[Any, None, Cursor]: ...

    async def __aenter__(self) -> Cursor: ...

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None: ...


class Connection(Protocol):
    """What the queries use of a connection: aiosqlite's, or ``direct.DirectConnection``."""

    def execute(self, sql: str, parameters: Iterable[Any] | None = ...) -> Executed: ...

    def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> Executed: ...


class QueriesBase:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def _fetch_one(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        """The first row of ``sql`` (or ``None``); the cursor is closed before returning."""
        async with self._conn.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def _fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        async with self._conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())
