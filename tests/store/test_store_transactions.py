"""Transactions: all or nothing, one writer at a time, and a second connection waits."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from store_samples import NOW, file_item, planned_meeting

from daemon.model import MeetingId
from daemon.store import Store

APRIL = planned_meeting(6)


async def _plan_and_fail(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.sync_meetings([APRIL], at=NOW)
        await file_item(tx, APRIL.id)
        raise RuntimeError("stroomstoring")


async def test_an_exception_rolls_back_everything(store: Store) -> None:
    with pytest.raises(RuntimeError, match="stroomstoring"):
        await _plan_and_fail(store)

    async with store.reading() as tx:
        assert await tx.meetings() == []
        assert await tx.items_without_meeting() == []
    async with store.transaction() as tx:
        assert (await tx.sync_meetings([APRIL], at=NOW)).added == [APRIL]


async def _break_at_commit(store: Store) -> None:
    """A foreign key checked only at COMMIT, so the COMMIT itself fails."""
    async with store.transaction() as tx:
        await tx._conn.execute("PRAGMA defer_foreign_keys = ON")
        await file_item(tx, MeetingId("wijkalliantie-2099-01-01"))


async def test_a_failed_commit_is_rolled_back_and_the_store_stays_usable(store: Store) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        await _break_at_commit(store)

    async with store.transaction() as tx:
        await tx.sync_meetings([APRIL], at=NOW)
        item = await file_item(tx, APRIL.id)
    async with store.reading() as tx:
        assert [i.id for i in await tx.items_for_meeting(APRIL.id)] == [item.id]
        assert await tx.items_without_meeting() == []


async def test_two_tasks_write_one_after_the_other(store: Store) -> None:
    """The write lock serialises transactions: no interleaving, positions stay unique."""
    async with store.transaction() as tx:
        await tx.sync_meetings([APRIL], at=NOW)
    trace: list[str] = []

    async def writer(name: str) -> list[int]:
        async with store.transaction() as tx:
            trace.append(f"{name} begin")
            first = await file_item(tx, APRIL.id, title=f"{name} 1")
            await asyncio.sleep(0)  # let the other task try to get in
            second = await file_item(tx, APRIL.id, title=f"{name} 2")
            trace.append(f"{name} end")
        return [first.position, second.position]

    a, b = await asyncio.gather(writer("a"), writer("b"))

    assert trace in (
        ["a begin", "a end", "b begin", "b end"],
        ["b begin", "b end", "a begin", "a end"],
    )
    assert sorted([*a, *b]) == [1, 2, 3, 4]
    assert a[1] - a[0] == 1
    assert b[1] - b[0] == 1


async def test_a_second_connection_waits_for_the_first(tmp_path: Path) -> None:
    """Two stores on one file (the daemon and a CLI command): busy_timeout makes one wait."""
    daemon_store = await Store.open(tmp_path)
    cli_store = await Store.open(tmp_path)
    try:
        cli_started = asyncio.Event()

        async def cli_writes() -> None:
            cli_started.set()
            async with cli_store.transaction() as tx:
                await file_item(tx, APRIL.id, title="Via de CLI")

        async with daemon_store.transaction() as tx:
            await tx.sync_meetings([APRIL], at=NOW)
            await file_item(tx, APRIL.id, title="Via de daemon")
            cli_task = asyncio.create_task(cli_writes())
            await cli_started.wait()
        await cli_task

        async with cli_store.reading() as tx:
            titles = [i.title for i in await tx.items_for_meeting(APRIL.id)]
        assert titles == ["Via de daemon", "Via de CLI"]
    finally:
        await cli_store.close()
        await daemon_store.close()


async def test_reading_sees_committed_writes(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.sync_meetings([APRIL], at=NOW)
    async with store.reading() as tx:
        assert await tx.meetings() == [APRIL]
