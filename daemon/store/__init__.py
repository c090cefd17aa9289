"""The state store: the only place that speaks SQL.

SQLite through aiosqlite, in WAL mode with foreign keys on and
``synchronous=FULL``, because after some commits Wijkbode tells an outside system
"done" (an IMAP move, a handled Matrix event) and that commit must survive a
power loss, not only a crash.

All writes happen in ``Store.transaction()``: one ``BEGIN IMMEDIATE`` ... ``COMMIT``
that yields a ``Tx`` with typed methods. The hot paths (a batch of mail, an outbox
row) ask for ``direct=True``: the same ``Tx`` on a second, plain sqlite3 connection,
run at once instead of one hand-over to aiosqlite's thread per statement
(``direct.py``). A state change and every effect it
causes are written in the same ``Tx``. Schema migrations live in
``migrations/NNNN_name.sql`` and are applied in order at open, each in its own
transaction; a database newer than the code is refused.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import aiosqlite

from daemon.errors import StoreError
from daemon.store.direct import DirectConnection, open_direct
from daemon.store.documents import DocumentStore
from daemon.store.tx import Tx

__all__ = ["DATABASE_NAME", "Migration", "Store", "Tx", "available_migrations", "has_state"]

_MIGRATION_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")
BUSY_TIMEOUT_MS = 10_000
DATABASE_NAME = "wijkbode.sqlite3"


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    """The migrations shipped with this code, in order; numbers must be 1..N without gaps."""
    found: list[Migration] = []
    for entry in resources.files("daemon.store").joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match["version"]), match["name"], entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    expected = list(range(1, len(found) + 1))
    if [m.version for m in found] != expected:
        raise StoreError(
            f"migrations are not numbered 1..{len(found)}: {[m.version for m in found]}"
        )
    return found


class Store:
    """One SQLite database plus the content-addressed documents beside it."""

    def __init__(
        self,
        conn: aiosqlite.Connection,
        documents: DocumentStore,
        direct: DirectConnection | None = None,
    ) -> None:
        self._conn = conn
        self._direct = direct
        self._write_lock = asyncio.Lock()
        self.documents = documents

    @classmethod
    async def open(
        cls, state_dir: Path, *, migrations: list[Migration] | None = None, create: bool = True
    ) -> Store:
        """Open ``state_dir/wijkbode.sqlite3`` and migrate it.

        With ``create`` the directory and database are made when missing; without
        it a missing database is an error, so a command that only reads never
        leaves an empty database behind (and never reports "nothing there" from
        a wrong directory). Every way the directory can be unusable is one
        ``StoreError`` naming it, never an ``OSError`` or ``sqlite3`` traceback.
        """
        await asyncio.to_thread(prepare_state_dir, state_dir, create=create)
        try:
            conn = await aiosqlite.connect(state_dir / DATABASE_NAME, isolation_level=None)
        except sqlite3.Error as error:
            raise _unusable(state_dir, error) from None
        try:
            conn.row_factory = aiosqlite.Row
            await _configure(conn)
            await _migrate(conn, available_migrations() if migrations is None else migrations)
        except sqlite3.Error as error:
            await conn.close()
            raise _unusable(state_dir, error) from None
        except BaseException:
            await conn.close()
            raise
        try:
            direct = open_direct(state_dir / DATABASE_NAME)
        except sqlite3.Error as error:
            await conn.close()
            raise _unusable(state_dir, error) from None
        return cls(conn, DocumentStore(state_dir / "documents"), direct)

    async def close(self) -> None:
        if self._direct is not None:
            self._direct.close()
        await self._conn.close()

    async def schema_version(self) -> int:
        return await _current_version(self._conn)

    @asynccontextmanager
    async def transaction(self, *, direct: bool = False) -> AsyncIterator[Tx]:
        """One write transaction; commits on normal exit, rolls back on any exception.

        ``direct``: run its statements at once in this thread (``direct.py``) instead of
        one hand-over to aiosqlite's thread each; for the hot paths (a batch of mail, an
        outbox row). When another process holds the write lock it is an ordinary
        transaction that waits in aiosqlite's thread, never a stalled event loop.
        """
        async with self._write_lock:
            fast = self._direct if direct else None
            if fast is not None and fast.begin():
                try:
                    yield Tx(fast)
                    await _commit_off_the_loop(fast)
                except BaseException:
                    fast.rollback()
                    raise
                return
            await _begin(self._conn, "BEGIN IMMEDIATE")
            try:
                yield Tx(self._conn)
                await _to_the_end(self._conn, "COMMIT")
            except BaseException:
                # A failed COMMIT leaves the transaction open; close it so the
                # next ``BEGIN`` on this connection does not fail too.
                if self._conn.in_transaction:
                    await self._conn.execute("ROLLBACK")
                raise

    @asynccontextmanager
    async def reading(self, *, direct: bool = False) -> AsyncIterator[Tx]:
        """A consistent read snapshot; the same typed methods, nothing is written.

        ``direct``: read at once in this thread, as ``transaction(direct=True)`` writes.
        """
        async with self._write_lock:
            fast = self._direct if direct else None
            if fast is not None:
                fast.begin_read()
                try:
                    yield Tx(fast)
                finally:
                    fast.rollback()
                return
            await _begin(self._conn, "BEGIN DEFERRED")
            try:
                yield Tx(self._conn)
            finally:
                await self._conn.execute("ROLLBACK")

    async def truncate_wal(self) -> None:
        """Copy the WAL into the database and cut it to nothing, so rows deleted before
        (with ``secure_delete``) leave no older copy of their pages in the ``-wal`` file.
        Best effort: a reader holding an old snapshot keeps the WAL until the next call."""
        async with self._write_lock:
            await self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def has_state(state_dir: Path) -> bool:
    """Whether ``state_dir`` holds a Wijkbode database (a daemon or ``file`` made one).

    A ``state_dir`` that is a file is no answer but a mistake: ``StoreError``.
    """
    if state_dir.exists() and not state_dir.is_dir():
        raise StoreError(
            f"toestandsmap {state_dir} is geen map maar een bestand "
            f"(state directory {state_dir} is a file, not a directory)"
        )
    return (state_dir / DATABASE_NAME).is_file()


def prepare_state_dir(state_dir: Path, *, create: bool) -> None:
    """Check (and with ``create`` make) the state directory; a clear ``StoreError`` if unusable.

    SQLite in WAL mode writes beside the database (``-wal``, ``-shm``) even to
    read, so the directory must be writable for every command that opens it.
    """
    if not has_state(state_dir) and not create:
        raise StoreError(
            f"geen Wijkbode-gegevens in {state_dir} (no Wijkbode state in {state_dir}); "
            f"geef de juiste --state-dir of WIJKBODE_STATE_DIR "
            f"(give the right --state-dir or WIJKBODE_STATE_DIR)"
        )
    try:
        # Every item, address and document is in here: the owner's alone (as systemd's
        # StateDirectoryMode=0700), also when started by hand under umask 022.
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as error:
        raise StoreError(
            f"toestandsmap {state_dir} kan niet gemaakt worden: {error.strerror or error} "
            f"(cannot create state directory {state_dir})"
        ) from None
    _close_to_others(state_dir)
    if not os.access(state_dir, os.W_OK | os.X_OK):
        raise StoreError(
            f"toestandsmap {state_dir} is niet schrijfbaar "
            f"(state directory {state_dir} is not writable)"
        )


def _close_to_others(state_dir: Path) -> None:
    """Take group and others' access from a state directory that holds our database (one
    an earlier version or a hand-made ``mkdir`` left open); best effort: not ours, no harm."""
    try:
        mode = stat.S_IMODE(state_dir.stat().st_mode)
        if mode & 0o077 and (state_dir / DATABASE_NAME).exists():
            state_dir.chmod(mode & 0o700)
    except OSError:
        pass


def _unusable(state_dir: Path, error: sqlite3.Error) -> StoreError:
    return StoreError(
        f"de database in {state_dir} is niet te gebruiken: {error} "
        f"(the database in {state_dir} cannot be used)"
    )


async def _begin(conn: aiosqlite.Connection, statement: str) -> None:
    """``BEGIN ...``; a task cancelled meanwhile leaves no transaction open behind it."""
    try:
        await _to_the_end(conn, statement)
    except asyncio.CancelledError:
        if conn.in_transaction:
            await conn.execute("ROLLBACK")
        raise


async def _commit_off_the_loop(fast: DirectConnection) -> None:
    """``COMMIT`` the direct connection's transaction in a thread, to its end.

    With ``synchronous=FULL`` a commit waits for the disk (an fsync, milliseconds on a
    busy machine); in the event loop's thread that held up everything else, and a
    backlog commits thousands of times. The write lock is still ours meanwhile, so
    nothing else uses the connection. Cancelled, the commit still finishes (it has
    committed, or failed) before the cancellation goes on, as ``_to_the_end`` does.
    """
    running = asyncio.ensure_future(asyncio.to_thread(fast.commit))
    try:
        await asyncio.shield(running)
    except asyncio.CancelledError:
        await running
        raise


async def _to_the_end(conn: aiosqlite.Connection, statement: str) -> None:
    """Run ``statement`` to its end even if the task is cancelled meanwhile.

    It runs on in aiosqlite's thread anyway; waiting for it keeps the connection's
    state known (a cancelled ``COMMIT`` has committed), then the cancellation goes on.
    """

    async def run() -> None:
        await conn.execute(statement)

    running = asyncio.ensure_future(run())
    try:
        await asyncio.shield(running)
    except asyncio.CancelledError:
        await running
        raise


async def _configure(conn: aiosqlite.Connection) -> None:
    mode_row = await (await conn.execute("PRAGMA journal_mode=WAL")).fetchone()
    if mode_row is None or str(mode_row[0]).lower() != "wal":
        raise StoreError("the state database could not be put in WAL mode")
    await conn.execute("PRAGMA foreign_keys=ON")
    await conn.execute("PRAGMA synchronous=FULL")
    # Deleted rows are overwritten, not only unlinked: an unsubscribed address is gone
    # from the file's bytes (with ``truncate_wal``), not left in a free page.
    await conn.execute("PRAGMA secure_delete=ON")
    await conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


async def _current_version(conn: aiosqlite.Connection) -> int:
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    row = await (await conn.execute("SELECT MAX(version) FROM schema_migrations")).fetchone()
    return int(row[0]) if row is not None and row[0] is not None else 0


async def _migrate(conn: aiosqlite.Connection, migrations: list[Migration]) -> None:
    current = await _current_version(conn)
    newest = migrations[-1].version if migrations else 0
    if current > newest:
        raise StoreError(
            f"de database heeft schema {current}, deze versie kent er maar {newest}; "
            f"gebruik een nieuwere Wijkbode (database schema {current} is newer than "
            f"this code's {newest})"
        )
    for migration in migrations:
        if migration.version <= current:
            continue
        await _apply(conn, migration)


async def _apply(conn: aiosqlite.Connection, migration: Migration) -> None:
    """One migration in one transaction: all of it, or (on any error) none of it."""
    await conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in _statements(migration.sql):
            await conn.execute(statement)
        await conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_at)"
            " VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
            (migration.version, migration.name),
        )
        await conn.execute("COMMIT")
    except BaseException as exc:
        if conn.in_transaction:
            await conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise StoreError(
                f"schemamigratie {migration.version:04d}_{migration.name} is mislukt en "
                f"teruggedraaid: {exc} (migration failed and was rolled back)"
            ) from exc
        raise


def _statements(sql: str) -> list[str]:
    """Split a migration into statements.

    ``sqlite3.complete_statement`` decides where one ends, so a semicolon inside
    a string, a comment or a trigger body does not cut a statement in two.
    """
    statements: list[str] = []
    pending = ""
    for piece in sql.split(";"):
        pending += piece
        if sqlite3.complete_statement(pending + ";"):
            if pending.strip():
                statements.append(pending.strip())
            pending = ""
        else:
            pending += ";"
    if pending.strip():
        statements.append(pending.strip())
    return statements
