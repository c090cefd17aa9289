"""Matrix connector across restarts of Wijkbode: nothing lost, nothing twice, still decrypting."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from matrix_helpers import (
    Account,
    Bot,
    HandledRecord,
    Member,
    bot_settings,
    invite_and_join,
    register,
    start_bot,
)

from connectors.matrix.client import MatrixChatClient
from connectors.matrix.session import MatrixSettings
from daemon.ports.chat import ChatMessage
from harness.synapse import SynapseServer


@pytest_asyncio.fixture
async def member(synapse: SynapseServer, tmp_path: Path) -> AsyncIterator[Member]:
    account = await register(synapse, "member")
    person = Member(synapse, account.user_id, account.password, tmp_path / "member")
    await person.login()
    yield person
    await person.close()


@pytest_asyncio.fixture
async def bot_account(synapse: SynapseServer) -> Account:
    return await register(synapse, "bot")


def _bodies(bot: Bot) -> list[str]:
    return [e.body for e in bot.received if isinstance(e, ChatMessage)]


async def test_restart_decrypts_new_messages_and_fills_the_gap_once(
    synapse: SynapseServer,
    bot_account: Account,
    member: Member,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Messages sent while Wijkbode was down (more than one sync page) arrive once, in order."""
    caplog.set_level(logging.INFO, logger="connectors.matrix.sync")
    settings = bot_settings(synapse, bot_account.user_id, bot_account.password, tmp_path / "bot")
    handled = HandledRecord()
    bot = await start_bot(settings, handled)
    room_id = await invite_and_join(member, bot, encrypted=True)
    await member.say(room_id, "voor de herstart")
    await bot.wait_for(lambda _: _bodies(bot) == ["voor de herstart"])
    await bot.stop()

    offline = [f"terwijl uit {n}" for n in range(1, 16)]  # > Synapse's 10-event timeline
    for body in offline:
        await member.say(room_id, body)

    bot = await start_bot(settings, handled)
    try:
        await bot.wait_for(lambda _: len(_bodies(bot)) >= len(offline))
        await member.say(room_id, "na de herstart")
        await bot.wait_for(lambda _: "na de herstart" in _bodies(bot))
        assert _bodies(bot) == [*offline, "na de herstart"]
        assert all(e.encrypted for e in bot.received if isinstance(e, ChatMessage))
        # The sync after the restart was limited; the rest came from the room history.
        assert any("filled a gap" in record.getMessage() for record in caplog.records)
    finally:
        await bot.stop()


async def test_crash_mid_batch_redelivers_only_unhandled_events(
    synapse: SynapseServer, bot_account: Account, member: Member, tmp_path: Path
) -> None:
    """A consumer that dies after handling one event of a batch gets only the rest again."""
    settings = bot_settings(synapse, bot_account.user_id, bot_account.password, tmp_path / "bot")
    handled = HandledRecord()
    bot = await start_bot(settings, handled)
    room_id = await invite_and_join(member, bot, encrypted=True)
    await bot.stop()
    for body in ("een", "twee", "drie"):
        await member.say(room_id, body)

    first_seen = await _handle_one_then_crash(settings, handled)
    assert first_seen == "een"

    bot = await start_bot(settings, handled)
    try:
        await bot.wait_for(lambda _: len(_bodies(bot)) >= 2)
        await member.say(room_id, "vier")
        await bot.wait_for(lambda _: "vier" in _bodies(bot))
        assert _bodies(bot) == ["twee", "drie", "vier"]
    finally:
        await bot.stop()


async def _handle_one_then_crash(settings: MatrixSettings, handled: HandledRecord) -> str:
    """Start, handle (mark) the first message, and stop without pulling the next event."""
    chat = MatrixChatClient(settings, handled=handled)
    await chat.start()
    stream = chat.events()
    try:
        async for event in stream:
            if isinstance(event, ChatMessage):
                handled.ids.add(event.event_id)
                return event.body
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
        await chat.close()
    raise AssertionError("the stream ended")
