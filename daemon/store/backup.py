"""A consistent copy of a live state directory, and its checked way back.

``backup``: the database through SQLite's online backup API, in one step, so the copy
is one read snapshot of the WAL database however much the daemon writes meanwhile;
then exactly the documents that snapshot names (a document is written and fsynced
before the row that names it commits, so each one is there), each checked against
its hash while it is copied; then the rest of the state (``matrix/``: device keys and
the encryption store, SQLite files copied the same way). Everything is written into
``PATH.partial`` and renamed to ``PATH`` at the end, so ``PATH`` is only ever whole.

``restore``: into an empty state directory only, and only after the whole backup has
been checked (``PRAGMA integrity_check``, a schema this code knows, every document's
hash, every other file's hash from the manifest). The files are copied beside their
place first and renamed into it with the database last, so a broken-off restore never
looks like a state directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from daemon.errors import StoreError
from daemon.store import DATABASE_NAME, available_migrations, has_state

MANIFEST_NAME = "manifest.json"
BACKUP_FORMAT = 1
DOCUMENTS = "documents"
LOCK_NAME = "wijkbode.lock"
# Never copied: SQLite's side files (the backup API reads through them) and the lock.
_SKIPPED = {f"{DATABASE_NAME}-wal", f"{DATABASE_NAME}-shm", f"{DATABASE_NAME}-journal", LOCK_NAME}
_SQLITE_HEADER = b"SQLite format 3\x00"
_CHUNK = 1 << 20
_BUSY_TIMEOUT_MS = 10_000


@dataclass(frozen=True, slots=True)
class BackupSummary:
    path: Path
    schema_version: int
    documents: int
    files: int


def backup_state(state_dir: Path, target: Path) -> BackupSummary:
    """Copy ``state_dir`` into the new directory ``target``; safe while the daemon runs."""
    if not has_state(state_dir):
        raise StoreError(
            f"geen Wijkbode-gegevens in {state_dir} om te bewaren "
            f"(no Wijkbode state in {state_dir} to back up)"
        )
    if target.exists() or target.is_symlink():
        raise StoreError(
            f"{target} bestaat al; kies een nieuwe naam voor de reservekopie "
            f"({target} already exists; choose a new name for the backup)"
        )
    partial = target.with_name(target.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)  # left by a backup that was broken off
    try:
        partial.mkdir(parents=True, mode=0o700)
    except OSError as error:
        raise StoreError(
            f"map {partial} kan niet gemaakt worden: {error.strerror or error} "
            f"(cannot create {partial})"
        ) from None
    try:
        summary = _backup_into(state_dir, partial)
        _fsync_tree(partial)
        os.rename(partial, target)
        _fsync_dir(target.parent)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return BackupSummary(target, summary.schema_version, summary.documents, summary.files)


def _backup_into(state_dir: Path, partial: Path) -> BackupSummary:
    files: dict[str, str] = {}
    database = partial / DATABASE_NAME
    _sqlite_copy(state_dir / DATABASE_NAME, database)
    files[DATABASE_NAME] = _sha256_of(database)
    hashes = _document_hashes(database)
    for digest in hashes:
        relative = Path(DOCUMENTS) / digest[:2] / digest
        source = state_dir / relative
        if not source.is_file():
            raise StoreError(
                f"document {digest} ontbreekt in {state_dir / DOCUMENTS}; de database noemt "
                f"het wel (document missing although the database names it)"
            )
        copied = _copy_file(source, partial / relative)
        if copied != digest:
            raise StoreError(
                f"document {relative} klopt niet met zijn hash (the document does not "
                f"match its hash; it is damaged in {state_dir})"
            )
    for relative in _other_files(state_dir):
        destination = partial / relative
        if _is_sqlite(state_dir / relative):
            _sqlite_copy(state_dir / relative, destination)
            files[relative.as_posix()] = _sha256_of(destination)
        else:
            files[relative.as_posix()] = _copy_file(state_dir / relative, destination)
    version = _schema_version(database)
    manifest = {
        "format": BACKUP_FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "schema_version": version,
        "documents": len(hashes),
        "files": files,
    }
    (partial / MANIFEST_NAME).write_text(
        json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return BackupSummary(partial, version, len(hashes), len(files))


def restore_state(source: Path, state_dir: Path) -> BackupSummary:
    """Check the backup ``source`` completely, then place it in the empty ``state_dir``."""
    manifest = _read_manifest(source)
    version = _check_database(source / DATABASE_NAME)
    hashes = _document_hashes(source / DATABASE_NAME)
    for digest in hashes:
        document = source / DOCUMENTS / digest[:2] / digest
        if not document.is_file() or _sha256_of(document) != digest:
            raise StoreError(
                f"reservekopie {source}: document {digest} ontbreekt of is beschadigd; "
                f"niets teruggezet (backup: document missing or damaged; nothing restored)"
            )
    files: dict[str, str] = manifest["files"]
    for name, digest in files.items():
        path = source / name
        if not _inside(source, path) or not path.is_file() or _sha256_of(path) != digest:
            raise StoreError(
                f"reservekopie {source}: {name} ontbreekt of is veranderd; niets teruggezet "
                f"(backup: {name} missing or changed; nothing restored)"
            )
    _check_empty(state_dir)
    staging = state_dir / ".restore.partial"
    if staging.exists():
        shutil.rmtree(staging)  # left by a restore that was broken off
    staging.mkdir(mode=0o700)
    try:
        for digest in hashes:
            relative = Path(DOCUMENTS) / digest[:2] / digest
            _copy_file(source / relative, staging / relative)
        for name in files:
            _copy_file(source / name, staging / name)
        _fsync_tree(staging)
        # The database last: until it is there, has_state() says "no state here".
        entries = sorted(staging.iterdir(), key=lambda entry: entry.name == DATABASE_NAME)
        for entry in entries:
            os.rename(entry, state_dir / entry.name)
        _fsync_dir(state_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return BackupSummary(state_dir, version, len(hashes), len(files))


def _read_manifest(source: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((source / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise StoreError(
            f"{source} is geen Wijkbode-reservekopie ({MANIFEST_NAME} ontbreekt of is "
            f"onleesbaar) ({source} is not a Wijkbode backup: {MANIFEST_NAME} missing or "
            f"unreadable)"
        ) from None
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != BACKUP_FORMAT
        or not isinstance(manifest.get("files"), dict)
        or DATABASE_NAME not in manifest["files"]
    ):
        raise StoreError(f"{source}: onbekende opmaak van de reservekopie (unknown backup format)")
    return manifest


def _check_database(database: Path) -> int:
    """``integrity_check`` and the schema version; the backup itself is never written."""
    try:
        conn = sqlite3.connect(f"{database.as_uri()}?mode=ro&immutable=1", uri=True)
        try:
            result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
            foreign = conn.execute("PRAGMA foreign_key_check").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as error:
        raise StoreError(
            f"de database in de reservekopie is niet te lezen: {error} "
            f"(the backup's database cannot be read)"
        ) from None
    if result != ["ok"] or foreign:
        raise StoreError(
            "de database in de reservekopie is beschadigd; niets teruggezet "
            f"(the backup's database is damaged: {'; '.join(map(str, result))[:300]}; "
            "nothing restored)"
        )
    version = _schema_version(database)
    newest = available_migrations()[-1].version
    if version > newest:
        raise StoreError(
            f"de reservekopie heeft schema {version}, deze versie kent er maar {newest}; "
            f"gebruik een nieuwere Wijkbode (the backup's schema {version} is newer than "
            f"this code's {newest})"
        )
    return version


def _check_empty(state_dir: Path) -> None:
    if state_dir.exists() and not state_dir.is_dir():
        raise StoreError(
            f"toestandsmap {state_dir} is geen map (state directory {state_dir} is not a directory)"
        )
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    # The lock file is made by the restore itself (it holds the lock meanwhile).
    present = sorted(entry.name for entry in state_dir.iterdir() if entry.name != LOCK_NAME)
    if present:
        raise StoreError(
            f"toestandsmap {state_dir} is niet leeg ({', '.join(present[:5])}); terugzetten "
            f"alleen in een lege map (state directory {state_dir} is not empty; restore "
            f"only into an empty directory)"
        )


def _sqlite_copy(source: Path, destination: Path) -> None:
    """One step of the backup API: one read transaction, so one consistent snapshot."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        src = sqlite3.connect(source, timeout=_BUSY_TIMEOUT_MS / 1000)
        try:
            dst = sqlite3.connect(destination)
            try:
                src.backup(dst, pages=-1)
            finally:
                dst.close()
            os.chmod(destination, 0o600)
        finally:
            src.close()
    except sqlite3.Error as error:
        raise StoreError(
            f"{source} kan niet gekopieerd worden: {error} (cannot copy {source})"
        ) from None


def _document_hashes(database: Path) -> list[str]:
    conn = sqlite3.connect(f"{database.as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        rows = conn.execute("SELECT sha256 FROM documents ORDER BY sha256").fetchall()
    except sqlite3.Error as error:
        raise StoreError(
            f"de documentenlijst in {database} is niet te lezen: {error} "
            f"(cannot read the list of documents)"
        ) from None
    finally:
        conn.close()
    return [str(row[0]) for row in rows]


def _schema_version(database: Path) -> int:
    conn = sqlite3.connect(f"{database.as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    except sqlite3.Error:
        row = None
    finally:
        conn.close()
    return int(row[0]) if row is not None and row[0] is not None else 0


def _other_files(state_dir: Path) -> Iterator[Path]:
    """Every regular file of the state except the database, its side files, the lock and
    the documents (those are copied by the database's list)."""
    for root, dirs, names in os.walk(state_dir):
        here = Path(root).relative_to(state_dir)
        if here == Path("."):
            dirs[:] = [d for d in dirs if d != DOCUMENTS and not d.endswith(".partial")]
        dirs.sort()
        for name in sorted(names):
            relative = here / name
            if here == Path(".") and (name in _SKIPPED or name == DATABASE_NAME):
                continue
            if name.endswith(("-wal", "-shm", "-journal")):
                continue  # the SQLite file beside it is copied through the backup API
            if (state_dir / relative).is_file() and not (state_dir / relative).is_symlink():
                yield relative


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(_SQLITE_HEADER)) == _SQLITE_HEADER
    except OSError:
        return False


def _copy_file(source: Path, destination: Path) -> str:
    """Copy with the owner-only mode and return the sha256 of what was written."""
    destination.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    digest = hashlib.sha256()
    with source.open("rb") as reading, destination.open("xb") as writing:
        os.chmod(destination, 0o600)
        while chunk := reading.read(_CHUNK):
            digest.update(chunk)
            writing.write(chunk)
    return digest.hexdigest()


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _inside(root: Path, path: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


def _fsync_tree(root: Path) -> None:
    for directory, _, names in os.walk(root):
        for name in names:
            fd = os.open(Path(directory) / name, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(directory))


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
