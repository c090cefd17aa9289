"""A transaction run at once in the event loop's thread, for the mail backlog's hot path.

aiosqlite runs every statement in its own thread: each ``await`` is a hand-over
to that thread and back, about 0.17 ms, and filing a mail takes some thirty
statements. For a batch of mails that is most of the time. ``DirectConnection``
offers the part of aiosqlite's connection the queries use (``execute``,
``executemany``, the cursor's ``fetchone``/``fetchall``/``rowcount``) on a second,
plain sqlite3 connection to the same database, and runs each statement at once.

Its ``COMMIT`` alone runs in a worker thread (``Store.transaction``): with
``synchronous=FULL`` it waits for the disk, which the event loop must not.
It is only used under the store's write lock, like every transaction, so the two
connections never write at the same time; it never waits for another process's
lock (``busy_timeout`` 0: the caller falls back to the aiosqlite path, which
waits in its thread), so the event loop is held only for the statements' own time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Generator, Iterable
from pathlib import Path
from typing import Any

__all__ = ["DirectConnection", "open_direct"]


class DirectCursor:
    """An executed statement, answering as aiosqlite's cursor does."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    async def fetchone(self) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._cursor.fetchone()
        return row

    async def fetchall(self) -> list[sqlite3.Row]:
        return list(self._cursor.fetchall())

    async def close(self) -> None:
        self._cursor.close()


class _Executed:
    """``await conn.execute(...)`` and ``async with conn.execute(...) as cursor`` both work."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = DirectCursor(cursor)

    def __await__(self) -> Generator[Any, None, DirectCursor]:
        yield from ()
        return self._cursor

    async def __aenter__(self) -> DirectCursor:
        return self._cursor

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        await self._cursor.close()


class DirectConnection:
    """The queries' view of a connection, on a plain sqlite3 connection; see the module."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> _Executed:
        return _Executed(self._conn.execute(sql, tuple(parameters or ())))

    def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> _Executed:
        return _Executed(self._conn.executemany(sql, [tuple(row) for row in parameters]))

    def begin(self) -> bool:
        """``BEGIN IMMEDIATE``, or ``False`` at once when another connection holds the lock."""
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                return False
            raise
        return True

    def begin_read(self) -> None:
        """``BEGIN DEFERRED``: a read snapshot, which never waits for a lock in WAL mode."""
        self._conn.execute("BEGIN DEFERRED")

    def commit(self) -> None:
        self._conn.execute("COMMIT")

    def rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def close(self) -> None:
        self._conn.close()


def open_direct(path: Path) -> DirectConnection:
    """The second connection to the (already migrated, WAL) database at ``path``."""
    # The commit runs in a worker thread (Store.transaction); the store's write lock
    # keeps the connection to one thread at a time.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA secure_delete=ON")  # as the main connection (see the store)
    conn.execute("PRAGMA busy_timeout=0")
    return DirectConnection(conn)
