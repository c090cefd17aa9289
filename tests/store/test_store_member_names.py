"""The members' display names kept by the store (migration 0014, issue 15)."""

from __future__ import annotations

from datetime import UTC, datetime

from daemon.store import Store

NOW = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)
BOB = "@whatsapp_31612345678:wa.example.org"


async def test_names_are_kept_and_updated_and_a_member_who_left_keeps_theirs(
    store: Store,
) -> None:
    async with store.transaction() as tx:
        await tx.set_member_names({BOB: "Bob (WA)", "@jan:example.org": "Jan"}, NOW)
    async with store.transaction() as tx:
        await tx.set_member_names({BOB: "Bob de Bouwer (WA)"}, NOW)
    async with store.reading() as tx:
        assert await tx.member_names() == {BOB: "Bob de Bouwer (WA)", "@jan:example.org": "Jan"}
