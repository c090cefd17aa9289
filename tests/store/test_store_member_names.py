"""The members' display names kept by the store (migration 0014, issue 15), and the
reminders the real scheduler fires naming an owner by them, never by phone number."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from test_decision_commands import AMS, FixedClock, ask, deliver_start, vote
from test_decision_commands import NOW as POLL_NOW
from test_decision_commands import setup as poll_item
from test_scheduler import SETTINGS, local, plan

from daemon.clock import ManualClock
from daemon.engine.polls import PollCloser, PollSettings
from daemon.engine.scheduler import Scheduler
from daemon.ports.outbox import ChannelName, ChatPoll, ChatPost, MailOut
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


async def test_a_poll_end_names_a_voter_who_was_not_counted(store: Store) -> None:
    """A WhatsApp member who joined after the poll started is not counted, and the end
    names them as the room does; the decision keeps their id."""
    item = await poll_item(store)
    await ask(store, f"!besluit WB-{item} sluit 2u")
    await deliver_start(store)
    async with store.transaction() as tx:
        await tx.set_member_names({BOB: "Bob (WA)"}, POLL_NOW)
    await vote(store, "$v1", "@ayse:x", "voor", 1)
    await vote(store, "$v2", BOB, "tegen", 2)  # joined after the start: not counted
    closer = PollCloser(store, FixedClock(POLL_NOW + timedelta(hours=3)), PollSettings(AMS))
    assert await closer.close_due() == 1
    async with store.reading() as tx:
        [decision] = await tx.decisions()
        [end] = [e for e in await tx.effects(ChannelName.MATRIX) if e.key.endswith("/end")]
    assert decision.not_counted == (BOB,)
    assert isinstance(end.payload, ChatPoll)
    assert "Bob (WA)" in end.payload.text
    assert "31612345678" not in end.payload.text
