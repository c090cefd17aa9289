"""Matrix connector against a homeserver that goes away, and one that rate-limits.

Each test module here owns its Synapse (stopping the shared one would disturb
other tests; the rate-limited one must be the only one that is strict).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import nio
import pytest
import pytest_asyncio
from matrix_helpers import (
    Bot,
    Member,
    bot_settings,
    invite_and_join,
    register,
    start_bot,
)

from daemon.ports.chat import ChatMessage, OutgoingChat
from harness.synapse import SynapseServer


@pytest_asyncio.fixture(scope="module")
async def own_synapse() -> AsyncIterator[SynapseServer]:
    server = SynapseServer()
    await server.start()
    yield server
    await server.cleanup()


@pytest_asyncio.fixture(scope="module")
async def strict_synapse() -> AsyncIterator[SynapseServer]:
    server = SynapseServer(rate_limited=True)
    await server.start()
    yield server
    await server.cleanup()


async def _member(synapse: SynapseServer, store: Path) -> Member:
    account = await register(synapse, "member")
    person = Member(synapse, account.user_id, account.password, store)
    await person.login()
    return person


async def _bot(synapse: SynapseServer, state: Path) -> Bot:
    account = await register(synapse, "bot")
    return await start_bot(bot_settings(synapse, account.user_id, account.password, state))


def _bodies(bot: Bot) -> list[str]:
    return [e.body for e in bot.received if isinstance(e, ChatMessage)]


async def test_homeserver_outage_loses_nothing_and_repeats_nothing(
    own_synapse: SynapseServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Synapse stops and starts while Wijkbode syncs; every message arrives exactly once."""
    caplog.set_level(logging.WARNING, logger="connectors.matrix.sync")
    bot = await _bot(own_synapse, tmp_path / "bot")
    member = await _member(own_synapse, tmp_path / "member")
    try:
        room_id = await invite_and_join(member, bot, encrypted=True)
        await member.say(room_id, "voor de storing")
        await bot.wait_for(lambda _: _bodies(bot) == ["voor de storing"])

        await own_synapse.stop()
        # Let the bot's long poll fail and its loop back off at least once.
        await asyncio.sleep(1.5)
        await own_synapse.start()

        await member.say(room_id, "na de storing 1")
        await member.say(room_id, "na de storing 2")
        await bot.wait_for(lambda _: len(_bodies(bot)) >= 3)
        await member.say(room_id, "laatste")
        await bot.wait_for(lambda _: "laatste" in _bodies(bot))
        assert _bodies(bot) == ["voor de storing", "na de storing 1", "na de storing 2", "laatste"]
        # The outage was seen (and backed off from), not slept through.
        assert any("sync failed" in record.getMessage() for record in caplog.records)
    finally:
        await bot.stop()
        await member.close()


async def test_rate_limit_is_waited_out_and_every_message_sent_once(
    strict_synapse: SynapseServer, tmp_path: Path
) -> None:
    """With M_LIMIT_EXCEEDED the bot waits retry_after_ms and sends each notice exactly once."""
    bot = await _bot(strict_synapse, tmp_path / "bot")
    member = await _member(strict_synapse, tmp_path / "member")
    try:
        room_id = await invite_and_join(member, bot, encrypted=False)
        bodies = [f"bericht {n}" for n in range(1, 7)]
        event_ids = [
            await bot.chat.send(room_id, OutgoingChat(body=body), f"txn-rl-{n}")
            for n, body in enumerate(bodies)
        ]
        assert len(set(event_ids)) == len(bodies)
        assert bot.chat.rate_limit_waits >= 1
        await member.wait_for_event(room_id, lambda e: e.event_id == event_ids[-1])
        history = await member.client.room_messages(room_id, limit=50)
        notices = [e.body for e in reversed(history.chunk) if isinstance(e, nio.RoomMessageNotice)]
        assert notices == bodies
    finally:
        await bot.stop()
        await member.close()
