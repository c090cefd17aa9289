"""The members' display names kept by the store (migration 0014, issue 15), and the
reminders the real scheduler fires naming an owner by them, never by phone number."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from test_scheduler import SETTINGS, local, plan

from daemon.clock import ManualClock
from daemon.engine.scheduler import Scheduler
from daemon.ports.outbox import ChatPost, MailOut
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


async def test_reminders_name_the_owner_as_the_room_knows_them(store: Store) -> None:
    clock = ManualClock(local(2027, 3, 1, 12, 0))
    async with store.transaction() as tx:
        await tx.set_member_names({BOB: "Bob (WA)"}, clock.now())
        await tx.add_agreement("Ladder ophalen", BOB, date(2027, 4, 1), clock.now())
    await plan(store, clock)
    await clock.set(local(2027, 4, 3, 12, 0))  # past the reminders and the overdue report
    await Scheduler(store, clock, SETTINGS).fire_due()

    async with store.reading() as tx:
        sent = [e.payload for e in await tx.effects() if "agreement" in e.key]
    texts = [
        p.body + p.html if isinstance(p, ChatPost) else p.text
        for p in sent
        if isinstance(p, ChatPost | MailOut)
    ]
    assert texts
    assert any("Bob (WA)" in text for text in texts)
    assert not any("31612345678" in text or "whatsapp_" in text for text in texts)
