"""``wijkbode export``: the collective's own record as plain JSON, from one read snapshot.

What is exported is listed here by name, never "every table": meetings, items with
their documents and their history (``item_events``), agreements, and the decisions
and polls once their tables exist (``DECISION_TABLES``).
Subscribers' addresses, mail bookkeeping, the outbox and chat state are not the
collective's record and stay out; a new table is only exported when it is added here.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from daemon.errors import StoreError
from daemon.store import DATABASE_NAME, prepare_state_dir

EXPORT_FORMAT = 1
# The decisions issue's tables (migration 0013), exported under "decisions" when the
# database has them: the decisions, the advice asked of partners, and the polls with
# each member's response (the vote is the record of a decision).
DECISION_TABLES = ("decisions", "advice", "polls", "poll_responses")


def export_state(state_dir: Path) -> dict[str, Any]:
    """Everything the export holds, read in one snapshot of the live database."""
    prepare_state_dir(state_dir, create=False)  # no state: one clear error, exit 2
    database = state_dir / DATABASE_NAME
    try:
        conn = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error as error:
        raise StoreError(
            f"de database in {state_dir} is niet te lezen: {error} "
            f"(the database in {state_dir} cannot be read)"
        ) from None
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("BEGIN")  # one snapshot for every table below
        try:
            return _export(conn)
        finally:
            conn.execute("ROLLBACK")
    except sqlite3.Error as error:
        raise StoreError(
            f"de database in {state_dir} is niet te lezen: {error} "
            f"(the database in {state_dir} cannot be read)"
        ) from None
    finally:
        conn.close()


def _export(conn: sqlite3.Connection) -> dict[str, Any]:
    version_row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    documents = _grouped(
        _rows(
            conn,
            "SELECT d.*, x.content_type, x.size FROM item_documents d "
            "JOIN documents x ON x.sha256 = d.sha256 ORDER BY d.item_id, d.version, d.filename",
        )
    )
    history = _grouped(_rows(conn, "SELECT * FROM item_events ORDER BY item_id, id"))
    items = [
        {
            **item,
            "documents": documents.get(item["id"], []),
            "history": history.get(item["id"], []),
        }
        for item in _rows(conn, "SELECT * FROM items ORDER BY id")
    ]
    return {
        "format": EXPORT_FORMAT,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "schema_version": int(version_row[0]) if version_row and version_row[0] else 0,
        "meetings": _rows(conn, "SELECT * FROM meetings ORDER BY start, id"),
        "items": items,
        "agreements": _rows(conn, "SELECT * FROM agreements ORDER BY id"),
        "decisions": {
            # A name from DECISION_TABLES above, not a user's text.
            table: _rows(conn, f'SELECT * FROM "{table}" ORDER BY rowid')  # noqa: S608
            for table in _decision_tables(conn)
        },
    }


def _decision_tables(conn: sqlite3.Connection) -> list[str]:
    present = {
        str(row[0]) for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    return [name for name in DECISION_TABLES if name in present]


def _rows(conn: sqlite3.Connection, sql: str) -> list[dict[str, Any]]:
    return [dict(row) for row in conn.execute(sql)]


def _grouped(rows: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """Rows by ``item_id``, without repeating it inside each row."""
    grouped: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        item_id = row.pop("item_id")
        grouped.setdefault(int(item_id), []).append(row)
    return grouped
