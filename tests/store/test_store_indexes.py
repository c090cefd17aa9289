"""Questions asked once per mail or per delivery are answered by an index, not a scan."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from daemon.store import Store
from daemon.store.mail import OUTSIDER_RECEIPTS_SINCE_SQL, RECEIPTS_SINCE_SQL


async def test_receipts_since_searches_the_index_it_has(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "state")
    await store.close()
    with sqlite3.connect(tmp_path / "state" / "wijkbode.sqlite3") as conn:
        since = datetime(2027, 3, 1, tzinfo=UTC).isoformat()
        plan = conn.execute(f"EXPLAIN QUERY PLAN {RECEIPTS_SINCE_SQL}", ("p@x.test", since))
        details = [row[3] for row in plan.fetchall()]
    assert details == [
        "SEARCH outbox USING INDEX outbox_by_channel_destination_created"
        " (channel=? AND destination=? AND created_at>?)"
    ]


async def test_outsider_receipts_since_reads_only_the_windows_receipts(tmp_path: Path) -> None:
    # The overall limit on receipts outside the partners asks this once per such mail;
    # the mark of 0017 is read from the window's rows, not searched for.
    store = await Store.open(tmp_path / "state")
    await store.close()
    with sqlite3.connect(tmp_path / "state" / "wijkbode.sqlite3") as conn:
        since = datetime(2027, 3, 1, tzinfo=UTC).isoformat()
        plan = conn.execute(f"EXPLAIN QUERY PLAN {OUTSIDER_RECEIPTS_SINCE_SQL}", (since,))
        details = [row[3] for row in plan.fetchall()]
    assert details == [
        "SEARCH outbox USING INDEX outbox_receipts_by_created (channel=? AND created_at>?)"
    ]
