"""Backup, restore and export of a state directory (daemon/store/backup.py, export.py).

The backup taken while the real daemon files a burst of mail is in
tests/integration/test_backup_restore.py; here the checks before a restore places
anything, and what the export holds and leaves out.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from store_samples import NOW, file_item, planned_meeting

from daemon.errors import StoreError
from daemon.store import DATABASE_NAME, Store, available_migrations
from daemon.store.backup import MANIFEST_NAME, backup_state, restore_state
from daemon.store.export import DECISION_TABLES, export_state

APRIL = planned_meeting(6)
PDF_BYTES = b"%PDF-1.4 jaarverslag\n"
SUBSCRIBER = "bewoner.geheim@voorbeeld.nl"


async def filled_state(state: Path) -> str:
    """A state directory with a meeting, an item with a document, and an agreement."""
    store = await Store.open(state)
    try:
        digest = await store.documents.put(PDF_BYTES)
        async with store.transaction() as tx:
            await tx.sync_meetings([APRIL], at=NOW)
            item = await file_item(tx, APRIL.id, title="Jaarverslag 2026")
            await tx.add_document(digest, "application/pdf", len(PDF_BYTES))
            await tx.attach_document(item.id, digest, "jaarverslag.pdf", 1, added_at=NOW)
            await tx.add_agreement("Bankjes schilderen", "Anna", date(2027, 5, 1), NOW, APRIL.id)
    finally:
        await store.close()
    return str(digest)


def titles(state: Path) -> list[str]:
    conn = sqlite3.connect(state / DATABASE_NAME)
    try:
        return [row[0] for row in conn.execute("SELECT title FROM items ORDER BY id")]
    finally:
        conn.close()


async def test_backup_then_restore_into_an_empty_directory(tmp_path: Path) -> None:
    digest = await filled_state(tmp_path / "state")
    summary = backup_state(tmp_path / "state", tmp_path / "backup")
    assert (summary.schema_version, summary.documents) == (available_migrations()[-1].version, 1)
    assert not (tmp_path / "backup.partial").exists()

    restored = tmp_path / "restored"
    restored.mkdir()  # as systemd's StateDirectory= leaves it: there and empty
    restore_state(tmp_path / "backup", restored)

    assert titles(restored) == ["Jaarverslag 2026"]
    assert (restored / "documents" / digest[:2] / digest).read_bytes() == PDF_BYTES
    assert sorted(p.name for p in restored.iterdir()) == ["documents", DATABASE_NAME]
    store = await Store.open(restored, create=False)  # the daemon opens it as its own
    try:
        async with store.reading() as tx:
            assert [a.what for a in await tx.open_agreements()] == ["Bankjes schilderen"]
    finally:
        await store.close()


async def test_backup_refuses_an_existing_target(tmp_path: Path) -> None:
    await filled_state(tmp_path / "state")
    (tmp_path / "backup").mkdir()
    with pytest.raises(StoreError, match="already exists"):
        backup_state(tmp_path / "state", tmp_path / "backup")


async def test_restore_refuses_a_directory_that_is_not_empty(tmp_path: Path) -> None:
    await filled_state(tmp_path / "state")
    backup_state(tmp_path / "state", tmp_path / "backup")
    with pytest.raises(StoreError, match="not empty"):
        restore_state(tmp_path / "backup", tmp_path / "state")
    assert titles(tmp_path / "state") == ["Jaarverslag 2026"]


async def test_a_damaged_document_stops_the_restore_before_anything_is_placed(
    tmp_path: Path,
) -> None:
    digest = await filled_state(tmp_path / "state")
    backup_state(tmp_path / "state", tmp_path / "backup")
    (tmp_path / "backup" / "documents" / digest[:2] / digest).write_bytes(b"%PDF-1.4 anders\n")
    restored = tmp_path / "restored"
    with pytest.raises(StoreError, match="damaged; nothing restored"):
        restore_state(tmp_path / "backup", restored)
    assert not restored.exists() or list(restored.iterdir()) == []


async def test_a_damaged_database_stops_the_restore(tmp_path: Path) -> None:
    await filled_state(tmp_path / "state")
    backup_state(tmp_path / "state", tmp_path / "backup")
    database = tmp_path / "backup" / DATABASE_NAME
    data = bytearray(database.read_bytes())
    data[4096 + 200 : 4096 + 400] = b"\xff" * 200  # a page of the tables scribbled over
    database.write_bytes(bytes(data))
    with pytest.raises(StoreError):
        restore_state(tmp_path / "backup", tmp_path / "restored")
    assert not (tmp_path / "restored" / DATABASE_NAME).exists()


async def test_a_backup_from_a_newer_wijkbode_is_refused(tmp_path: Path) -> None:
    await filled_state(tmp_path / "state")
    conn = sqlite3.connect(tmp_path / "state" / DATABASE_NAME)
    with conn:
        conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'x', 'now')"
        )
    conn.close()
    backup_state(tmp_path / "state", tmp_path / "backup")
    with pytest.raises(StoreError, match="newer than this code's"):
        restore_state(tmp_path / "backup", tmp_path / "restored")


async def test_a_directory_without_manifest_is_no_backup(tmp_path: Path) -> None:
    await filled_state(tmp_path / "state")
    backup_state(tmp_path / "state", tmp_path / "backup")
    (tmp_path / "backup" / MANIFEST_NAME).unlink()
    with pytest.raises(StoreError, match="not a Wijkbode backup"):
        restore_state(tmp_path / "backup", tmp_path / "restored")


async def test_export_holds_items_with_documents_and_history_and_no_subscribers(
    tmp_path: Path,
) -> None:
    digest = await filled_state(tmp_path / "state")
    conn = sqlite3.connect(tmp_path / "state" / DATABASE_NAME)
    with conn:
        # A table like the subscriptions' (migration 0012), made here by hand so the
        # export's rule is tested whatever that schema becomes: only named tables go out.
        conn.execute("CREATE TABLE subscribers_probe (address TEXT)")
        conn.execute("INSERT INTO subscribers_probe (address) VALUES (?)", (SUBSCRIBER,))
        present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()

    exported = export_state(tmp_path / "state")

    assert SUBSCRIBER not in json.dumps(exported)
    [item] = exported["items"]
    assert item["title"] == "Jaarverslag 2026"
    assert [d["sha256"] for d in item["documents"]] == [digest]
    assert item["history"], "the item's history is exported"
    assert [m["id"] for m in exported["meetings"]] == [APRIL.id]
    assert [a["what"] for a in exported["agreements"]] == ["Bankjes schilderen"]
    assert set(exported["decisions"]) == set(DECISION_TABLES) & present


async def test_the_matrix_device_comes_along_and_its_database_is_copied_consistently(
    tmp_path: Path,
) -> None:
    """matrix/ holds the bot's device keys: a new device could not read old encrypted
    messages. Its SQLite store is copied through the backup API like ours."""
    await filled_state(tmp_path / "state")
    matrix = tmp_path / "state" / "matrix"
    (matrix / "store").mkdir(parents=True)
    (matrix / "credentials.json").write_text('{"device_id": "WIJKBODE1"}', encoding="utf-8")
    crypto = sqlite3.connect(matrix / "store" / "bot.db")
    with crypto:
        crypto.execute("PRAGMA journal_mode=WAL")
        crypto.execute("CREATE TABLE keys (k TEXT)")
        crypto.execute("INSERT INTO keys VALUES ('sleutel')")
    backup_state(tmp_path / "state", tmp_path / "backup")  # while that connection is open
    crypto.close()

    restore_state(tmp_path / "backup", tmp_path / "restored")

    restored = tmp_path / "restored" / "matrix"
    assert (restored / "credentials.json").read_text(encoding="utf-8") == (
        '{"device_id": "WIJKBODE1"}'
    )
    copy = sqlite3.connect(restored / "store" / "bot.db")
    try:
        assert copy.execute("SELECT k FROM keys").fetchall() == [("sleutel",)]
    finally:
        copy.close()
    assert not (restored / "store" / "bot.db-wal").exists()
