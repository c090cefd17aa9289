"""The chat intake across a restart of Wijkbode and an outage of the homeserver.

Same device after a restart, old events not handled again, the message sent
while Wijkbode was down handled once; Synapse stopped and started while
Wijkbode runs: every filing exactly once, every confirmation exactly once.
This module owns its Synapse (stopping the shared one would disturb others).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
import pytest_asyncio
from chat_helpers import (
    Setup,
    Watcher,
    Wijkbode,
    new_watcher,
    reactions_on,
    replies_to,
    room_with_bot,
    start_wijkbode,
    wait_bot_in,
)
from matrix_helpers import Account, register

from harness.synapse import SynapseServer


@pytest_asyncio.fixture(scope="module")
async def own_synapse() -> AsyncIterator[SynapseServer]:
    server = SynapseServer()
    await server.start()
    yield server
    await server.cleanup()


async def _all_confirmed(alice: Watcher, room: str, bot: Wijkbode, events: Sequence[str]) -> None:
    await alice.wait(
        room,
        lambda got: all(
            replies_to(got, bot, e) and "✅" in reactions_on(got, bot, e) for e in events
        ),
        bot,
    )


async def _exactly_once(alice: Watcher, room: str, bot: Wijkbode, events: Sequence[str]) -> None:
    """After a last round trip: one confirmation and one ✅ per message, nothing more."""
    marker = await alice.say(room, "!deadlines")
    got = await alice.wait(room, lambda got: bool(replies_to(got, bot, marker)), bot)
    assert [1] * len(events) == [len(replies_to(got, bot, e)) for e in events]
    assert [["✅"]] * len(events) == [reactions_on(got, bot, e) for e in events]


async def _titles(bot: Wijkbode) -> list[str]:
    return [item.title for item in await bot.items()]


async def test_restart_same_device_no_rehandling_and_the_missed_message_once(
    own_synapse: SynapseServer, tmp_path: Path
) -> None:
    alice = await new_watcher(own_synapse, "alice", tmp_path)
    account: Account = await register(own_synapse, "wijkbode")
    room = await room_with_bot(alice, account.user_id, encrypted=True)
    setup = Setup(tmp_path / "bot", core_room=room)
    bot = await start_wijkbode(own_synapse, account, setup)
    try:
        await wait_bot_in(alice, room, bot)
        device = bot.client.device_id
        one = await alice.say(room, "Agendapunt: Een")
        await _all_confirmed(alice, room, bot, [one])
        await bot.stop()

        two = await alice.say(room, "Agendapunt: Twee (terwijl Wijkbode uit stond)")
        bot = await start_wijkbode(own_synapse, account, setup)
        assert device == bot.client.device_id
        three = await alice.say(room, "Agendapunt: Drie")
        await _all_confirmed(alice, room, bot, [two, three])
        await _exactly_once(alice, room, bot, [one, two, three])
        assert await _titles(bot) == ["Een", "Twee (terwijl Wijkbode uit stond)", "Drie"]
    finally:
        await bot.stop()
        await alice.close()


async def test_homeserver_outage_while_running_loses_nothing_and_doubles_nothing(
    own_synapse: SynapseServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="connectors.matrix.sync")
    alice = await new_watcher(own_synapse, "alice", tmp_path)
    account = await register(own_synapse, "wijkbode")
    room = await room_with_bot(alice, account.user_id, encrypted=True)
    bot = await start_wijkbode(own_synapse, account, Setup(tmp_path / "bot", core_room=room))
    try:
        await wait_bot_in(alice, room, bot)
        before = await alice.say(room, "Agendapunt: Voor de storing")
        # Stop at once: Wijkbode may be anywhere between syncing, filing and answering.
        await own_synapse.stop()
        await asyncio.sleep(2.0)
        await own_synapse.start()
        after = [
            await alice.say(room, "Agendapunt: Na de storing 1"),
            await alice.say(room, "Agendapunt: Na de storing 2"),
        ]
        await _all_confirmed(alice, room, bot, [before, *after])
        await _exactly_once(alice, room, bot, [before, *after])
        assert await _titles(bot) == ["Voor de storing", "Na de storing 1", "Na de storing 2"]
    finally:
        await bot.stop()
        await alice.close()
