"""A storm of 📌 on one message: one item, and at most one "already filed" answer (issue 9, §8).

Real members react with real clients on the harness Synapse, each with 📌 and
with 📌 plus the emoji variation selector (one member may not send the same
reaction twice). Before the fix every 📌 after the first got its own "already
filed" reply: here that was eleven.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

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
from matrix_helpers import WAIT_S, register

from daemon.ports.outbox import EffectStatus
from harness.synapse import SynapseServer

PINS = ("📌", "📌\ufe0f")
MEMBERS = 6


@dataclass
class World:
    bot: Wijkbode
    members: list[Watcher]
    room: str
    synapse: SynapseServer


@pytest_asyncio.fixture
async def world(
    synapse: SynapseServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    base = tmp_path_factory.mktemp("reaction-storm")
    members = [await new_watcher(synapse, f"lid{n}", base) for n in range(MEMBERS)]
    account = await register(synapse, "wijkbode")
    room = await room_with_bot(members[0], account.user_id, encrypted=False, members=members[1:])
    bot = await start_wijkbode(synapse, account, Setup(base / "bot", core_room=room))
    try:
        await wait_bot_in(members[0], room, bot)
        yield World(bot, members, room, synapse)
    finally:
        await bot.stop()
        for member in members:
            await member.close()


async def _all_handled(world: World, event_ids: list[str]) -> None:
    """Until Wijkbode handled every event and delivered everything it had to say."""
    async with asyncio.timeout(WAIT_S):
        while True:
            world.bot.check_alive()
            async with world.bot.store.reading() as tx:
                handled = [await tx.is_event_handled(event) for event in event_ids]
                effects = await tx.effects()
            if all(handled) and all(e.status is EffectStatus.DELIVERED for e in effects):
                return
            await asyncio.sleep(0.2)


async def history(world: World, member: Watcher) -> list[dict[str, Any]]:
    """The room's whole history as ``member`` reads it from the homeserver, oldest first."""
    room = urllib.parse.quote(world.room, safe="")
    path = f"/_matrix/client/v3/rooms/{room}/messages?dir=b&limit=1000"
    page = await world.synapse.client_api("GET", path, member.client.access_token)
    return list(reversed(page["chunk"]))


async def test_a_storm_of_pins_files_once_and_says_already_filed_once(world: World) -> None:
    author = world.members[0]
    message = await author.say(world.room, "Bankjes in het park\nZe zijn kapot.")
    reactions = [
        await member.react(world.room, message, pin) for member in world.members for pin in PINS
    ]
    assert len(reactions) == 2 * MEMBERS

    await _all_handled(world, reactions)
    events = await history(world, author)

    filed = [i for i in await world.bot.items() if i.title == "Bankjes in het park"]
    assert len(filed) == 1
    answers = [str(e["content"]["body"]) for e in replies_to(events, world.bot, message)]
    assert len(answers) == 2, answers
    assert f"Genoteerd als agendapunt WB-{filed[0].id}" in answers[0]
    assert "al ingediend als" in answers[1]
    assert f"WB-{filed[0].id}" in answers[1]
    assert reactions_on(events, world.bot, message) == ["✅"]
