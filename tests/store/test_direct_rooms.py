"""The direct chats opened with members for their afspraak reminders (migration 0015)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from daemon.store import Store

AT = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


async def test_a_direct_room_is_remembered_per_member_and_a_newer_one_replaces_it(
    store: Store,
) -> None:
    async with store.reading() as tx:
        assert await tx.direct_room("@bob:wijk.test") is None
    async with store.transaction() as tx:
        await tx.remember_direct_room("@bob:wijk.test", "!one:wijk.test", AT)
        await tx.remember_direct_room("@ans:wijk.test", "!two:wijk.test", AT)
    async with store.transaction() as tx:
        await tx.remember_direct_room("@bob:wijk.test", "!three:wijk.test", AT)
    async with store.reading() as tx:
        assert await tx.direct_room("@bob:wijk.test") == "!three:wijk.test"
        assert await tx.direct_room("@ans:wijk.test") == "!two:wijk.test"


async def test_an_empty_user_or_room_is_refused(store: Store) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        async with store.transaction() as tx:
            await tx.remember_direct_room("", "!one:wijk.test", AT)
