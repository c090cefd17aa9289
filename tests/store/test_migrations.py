"""Migrations: from an empty database and from every earlier version up to the newest.

Generic over the shipped migrations, so each new ``NNNN_name.sql`` is tested
here without touching this file.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

import daemon.store as store_module
from daemon.errors import StoreError
from daemon.model import DocumentHash, ItemId, MeetingId
from daemon.store import Migration, Store, available_migrations

MIGRATIONS = available_migrations()
N = len(MIGRATIONS)
# Two documents of item 7, in the order attached (the order every version must keep).
DOCUMENTS = (("b" * 64, "verslag.pdf"), ("a" * 64, "bijlage.pdf"))


async def _raw(store: Store, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
    async with store._conn.execute(sql, params) as cursor:
        return list(await cursor.fetchall())


async def _seed_core_rows(store: Store) -> None:
    """A meeting and an item written with the columns of 0001, as an old version would."""
    async with store.transaction() as tx:
        await tx._conn.execute(
            'INSERT INTO meetings (id, series, title, start, "end", location, status, updated_at)'
            " VALUES ('wijkalliantie-2027-04-06', 'wijkalliantie', 'Wijkalliantie',"
            " '2027-04-06T17:30:00.000000+00:00', '2027-04-06T19:30:00.000000+00:00',"
            " 'Buurthuis', 'planned', '2027-01-01T00:00:00.000000+00:00')"
        )
        await tx._conn.execute(
            "INSERT INTO items (id, kind, title, text, submitter, received_at, meeting_id,"
            " late, decision_ready, status, source, moved_from, position, created_at)"
            " VALUES (7, 'stuk', 'Jaarverslag', '', 'partner@example.org',"
            " '2027-03-01T09:00:00.000000+00:00', 'wijkalliantie-2027-04-06', 0, 1,"
            " 'filed', 'mail', NULL, 1, '2027-03-01T09:00:00.000000+00:00')"
        )
        for sha256, name in DOCUMENTS:
            await tx._conn.execute(
                "INSERT INTO documents (sha256, content_type, size)"
                " VALUES (?, 'application/pdf', 9)",
                (sha256,),
            )
            await tx._conn.execute(
                "INSERT INTO item_documents (item_id, sha256, version, filename, added_at)"
                " VALUES (7, ?, 1, ?, '2027-03-01T09:00:00.000000+00:00')",
                (sha256, name),
            )


def test_migrations_are_numbered_one_to_n() -> None:
    """The shipped files are 0001..N, each name once."""
    assert [m.version for m in MIGRATIONS] == list(range(1, N + 1))
    assert MIGRATIONS[0].name == "core"
    assert len({m.name for m in MIGRATIONS}) == N


def test_a_gap_in_the_numbering_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "package"
    (package / "migrations").mkdir(parents=True)
    (package / "migrations" / "0001_core.sql").write_text("CREATE TABLE a (x INTEGER);")
    (package / "migrations" / "0003_mail.sql").write_text("CREATE TABLE c (x INTEGER);")
    (package / "migrations" / "README.md").write_text("not a migration")
    monkeypatch.setattr(store_module.resources, "files", lambda _package: package)

    with pytest.raises(StoreError, match=r"1\.\.2: \[1, 3\]"):
        available_migrations()


@pytest.mark.parametrize("k", range(N + 1))
async def test_upgrade_from_version_k_keeps_data(tmp_path: Path, k: int) -> None:
    """A database at version k opens at version N with its rows intact and consistent."""
    old = await Store.open(tmp_path, migrations=MIGRATIONS[:k])
    try:
        assert k == await old.schema_version()
        if k >= 1:
            await _seed_core_rows(old)
    finally:
        await old.close()

    new = await Store.open(tmp_path)
    try:
        assert await new.schema_version() == N
        if k >= 1:
            async with new.reading() as tx:
                meeting = await tx.meeting(MeetingId("wijkalliantie-2027-04-06"))
                item = await tx.item(ItemId(7))
            assert meeting is not None
            assert meeting.location == "Buurthuis"
            assert item is not None
            assert ("Jaarverslag", meeting.id) == (item.title, item.meeting)
            assert [(d.sha256, d.filename) for d in item.documents] == list(DOCUMENTS)
            assert item.confidential is False  # 0009: an item before it is not kept back
        assert await _raw(new, "PRAGMA foreign_key_check") == []
        assert [tuple(row) for row in await _raw(new, "PRAGMA integrity_check")] == [("ok",)]
        recorded = await _raw(new, "SELECT version, name FROM schema_migrations ORDER BY version")
        assert [(m.version, m.name) for m in MIGRATIONS] == [tuple(row) for row in recorded]
    finally:
        await new.close()


async def test_reopening_at_the_newest_version_applies_nothing(tmp_path: Path) -> None:
    first = await Store.open(tmp_path)
    await first.close()
    again = await Store.open(tmp_path)
    try:
        rows = await _raw(again, "SELECT COUNT(*) FROM schema_migrations")
        assert rows[0][0] == N
    finally:
        await again.close()


async def test_a_database_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    current = await Store.open(tmp_path)
    try:
        async with current.transaction() as tx:
            await tx._conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at)"
                " VALUES (?, 'from_the_future', '2030-01-01T00:00:00Z')",
                (N + 1,),
            )
    finally:
        await current.close()

    with pytest.raises(StoreError, match=f"schema {N + 1} is newer than this code's {N}"):
        await Store.open(tmp_path)


async def test_a_failing_migration_is_rolled_back_entirely(tmp_path: Path) -> None:
    """Its first table is not left behind and the version stays where it was."""
    broken = Migration(
        N + 1,
        "broken",
        "CREATE TABLE half_done (x INTEGER) STRICT;\n"
        "INSERT INTO half_done VALUES (1);\n"
        "INSERT INTO no_such_table VALUES (1);\n",
    )
    with pytest.raises(StoreError, match=f"{N + 1:04d}_broken"):
        await Store.open(tmp_path, migrations=[*MIGRATIONS, broken])

    store = await Store.open(tmp_path)
    try:
        assert await store.schema_version() == N
        tables = await _raw(store, "SELECT name FROM sqlite_master WHERE name = 'half_done'")
        assert tables == []
    finally:
        await store.close()


async def test_a_failing_first_migration_leaves_an_empty_database(tmp_path: Path) -> None:
    broken = [Migration(1, "core", "CREATE TABLE meetings (id TEXT) STRICT;\nNOT SQL AT ALL;")]
    with pytest.raises(StoreError, match="0001_core"):
        await Store.open(tmp_path, migrations=broken)

    store = await Store.open(tmp_path, migrations=[])
    try:
        assert await store.schema_version() == 0
        assert await _raw(store, "SELECT name FROM sqlite_master WHERE name = 'meetings'") == []
    finally:
        await store.close()


async def test_connection_pragmas(tmp_path: Path) -> None:
    """WAL, foreign keys on, synchronous FULL (2), a busy timeout."""
    store = await Store.open(tmp_path)
    try:
        assert (await _raw(store, "PRAGMA journal_mode"))[0][0] == "wal"
        assert (await _raw(store, "PRAGMA foreign_keys"))[0][0] == 1
        assert (await _raw(store, "PRAGMA synchronous"))[0][0] == 2
        assert (await _raw(store, "PRAGMA busy_timeout"))[0][0] == store_module.BUSY_TIMEOUT_MS
    finally:
        await store.close()


def test_core_tables_are_strict(tmp_path: Path) -> None:
    """A wrong type is refused instead of silently stored (STRICT tables)."""
    with closing(sqlite3.connect(tmp_path / "plain.sqlite3")) as conn:
        conn.executescript(MIGRATIONS[0].sql)
        strict = {
            row[1]
            for row in conn.execute("PRAGMA table_list")
            if row[5] == 1  # the ``strict`` column
        }
    expected = {"meetings", "items", "documents", "item_documents", "agreements", "item_events"}
    assert expected <= strict


async def test_0006_keeps_every_name_of_the_same_content(tmp_path: Path) -> None:
    """Before 0006 a second name of the same content in one version was dropped."""
    old = await Store.open(tmp_path, migrations=MIGRATIONS[:5])
    try:
        await _seed_core_rows(old)
    finally:
        await old.close()

    new = await Store.open(tmp_path)
    try:
        sha256 = DocumentHash(DOCUMENTS[0][0])
        at = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
        async with new.transaction() as tx:
            for name in ("kopie.pdf", "kopie.pdf", "verslag.pdf"):
                await tx.attach_document(ItemId(7), sha256, name, 1, added_at=at)
            documents = await tx.documents_of(ItemId(7))
        names = [d.filename for d in documents]
        assert names == ["verslag.pdf", "bijlage.pdf", "kopie.pdf"]
    finally:
        await new.close()
