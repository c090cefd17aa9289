"""Direct transactions (store/direct.py): the same typed queries, run at once in the loop's
thread; never a stalled loop when another process holds the write lock."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from daemon.ports.outbox import ChannelName, ChatPost, NewEffect
from daemon.store import DATABASE_NAME, Store

AT = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def a_post(key: str) -> NewEffect:
    return NewEffect(ChannelName.MATRIX, "!kern", key, ChatPost(body=key, html=f"<p>{key}</p>"))


async def test_a_direct_transaction_commits_and_is_seen_by_the_other_connection(
    store: Store,
) -> None:
    async with store.transaction(direct=True) as tx:
        await tx.enqueue(a_post("direct/1"), now=AT)
    async with store.reading() as tx:  # aiosqlite's connection
        found = await tx.effect_by_key("direct/1")
    assert found is not None
    assert found.key == "direct/1"


async def enqueue_then_fail(store: Store, key: str) -> None:
    async with store.transaction(direct=True) as tx:
        await tx.enqueue(a_post(key), now=AT)
        raise RuntimeError("halfway")


async def test_a_failing_direct_transaction_leaves_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError, match="halfway"):
        await enqueue_then_fail(store, "direct/2")
    async with store.reading(direct=True) as tx:
        assert await tx.effect_by_key("direct/2") is None
    async with store.transaction(direct=True) as tx:  # and the connection is usable again
        await tx.enqueue(a_post("direct/3"), now=AT)


async def test_while_another_process_writes_the_loop_keeps_running(
    store: Store, tmp_path: Path
) -> None:
    """A direct transaction does not wait for another writer in the loop's thread: it
    becomes an ordinary one that waits in aiosqlite's thread, and then commits."""
    other = sqlite3.connect(tmp_path / "state" / DATABASE_NAME, check_same_thread=False)
    other.isolation_level = None
    other.execute("BEGIN IMMEDIATE")
    released = threading.Event()

    def release_later() -> None:
        time.sleep(0.5)
        other.execute("COMMIT")
        released.set()

    threading.Thread(target=release_later, daemon=True).start()
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while not released.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    ticking = asyncio.create_task(tick())
    async with store.transaction(direct=True) as tx:
        await tx.enqueue(a_post("direct/4"), now=AT)
    await ticking
    other.close()

    assert released.is_set()
    assert ticks >= 20  # about 50 while the other process held the lock
    async with store.reading() as tx:
        assert await tx.effect_by_key("direct/4") is not None
