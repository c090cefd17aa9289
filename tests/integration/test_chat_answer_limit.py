"""Security finding 5: a member who floods an announcement room with commands gets a limited
number of answers, then one notice, then silence; others are still answered, and the core
group's room is not limited. The limit's clock is held still, so nothing here depends on
how fast the harness runs."""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from chat_helpers import (
    Setup,
    Watcher,
    Wijkbode,
    bodies,
    dump,
    from_bot,
    new_watcher,
    replies_to,
    room_with_bot,
    start_wijkbode,
    wait_bot_in,
)
from matrix_helpers import WAIT_S, register

from daemon.chat.answer_limit import ANSWERS_PER_WINDOW, AnswerLimit
from harness.synapse import SynapseServer

NOTICE_NL = "Je vroeg me veel in korte tijd"
NOTICE_EN = "You asked me a lot in a short time"
# Read commands and mistakes: what anyone in an announcement room can make the bot answer.
ASKS = ["!agenda", "!deadlines", "!help", "!agneda", "!agenda 1999-01-01"]


@dataclass
class World:
    synapse: SynapseServer
    bot: Wijkbode
    alice: Watcher  # core-group member, also in the announcement room
    flooder: Watcher  # only in the announcement room
    core: str
    announce: str


@pytest_asyncio.fixture(scope="module")
async def world(
    synapse: SynapseServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    base = tmp_path_factory.mktemp("chat-answer-limit")
    alice = await new_watcher(synapse, "alice", base)
    flooder = await new_watcher(synapse, "flooder", base)
    account = await register(synapse, "wijkbode")
    core = await room_with_bot(alice, account.user_id, encrypted=False)
    announce = await room_with_bot(alice, account.user_id, encrypted=False, members=[flooder])
    setup = Setup(base / "bot", core_room=core, announce_rooms=(announce,))
    # The daemon's limit, on a clock that never moves: no pause ends during the test.
    held = AnswerLimit(clock=lambda: 0.0)
    bot = await start_wijkbode(synapse, account, setup, answer_limit=held)
    try:
        await wait_bot_in(alice, core, bot)
        await wait_bot_in(alice, announce, bot)
        yield World(synapse, bot, alice, flooder, core, announce)
    finally:
        await bot.stop()
        await alice.close()
        await flooder.close()


async def _history(world: World, room: str) -> list[dict[str, Any]]:
    """The room's whole timeline, oldest first (a sync shows only the last few of a burst)."""
    query = urllib.parse.urlencode({"dir": "b", "limit": "1000"})
    path = f"/_matrix/client/v3/rooms/{urllib.parse.quote(room, safe='')}/messages?{query}"
    token = world.alice.client.access_token
    page = await world.synapse.client_api("GET", path, token)
    return list(reversed(page.get("chunk", [])))


async def _wait(
    world: World, room: str, done: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    async with asyncio.timeout(WAIT_S):
        while not done(events := await _history(world, room)):
            world.bot.check_alive()
            await asyncio.sleep(0.3)
    return events


def _answers(events: list[dict[str, Any]], world: World, event_id: str) -> list[str]:
    return bodies(replies_to(events, world.bot, event_id))


async def _send_all(who: Watcher, room: str, count: int) -> list[str]:
    return [await who.say(room, ASKS[n % len(ASKS)]) for n in range(count)]


async def test_a_flooding_member_gets_the_limit_then_one_notice_then_silence(
    world: World,
) -> None:
    sent = await _send_all(world.flooder, world.announce, ANSWERS_PER_WINDOW + 4)
    # Another member asks after the flood: the intake handles events in order and the
    # outbox sends in order, so once this is answered, all the flood has been handled.
    after = await world.alice.say(world.announce, "!agenda")
    events = await _wait(world, world.announce, lambda got: bool(replies_to(got, world.bot, after)))
    answered, noticed, silent = (
        sent[:ANSWERS_PER_WINDOW],
        sent[ANSWERS_PER_WINDOW],
        sent[ANSWERS_PER_WINDOW + 1 :],
    )
    for event_id in answered:
        [answer] = _answers(events, world, event_id)
        assert NOTICE_EN not in answer, dump(events)
    [notice] = _answers(events, world, noticed)
    assert notice.index(NOTICE_NL) < notice.index(NOTICE_EN)  # Dutch first
    for event_id in silent:
        assert _answers(events, world, event_id) == [], dump(events)
    assert sum(NOTICE_EN in body for body in bodies(from_bot(events, world.bot))) == 1
    [other] = _answers(events, world, after)
    assert NOTICE_EN not in other
    assert "wijkalliantie" in other.casefold()  # the other member got the agenda
    # Every request was handled once, answered or not: none comes again after a restart.
    async with world.bot.store.reading() as tx:
        assert all([await tx.is_event_handled(event_id) for event_id in sent])


async def test_the_core_groups_room_is_not_limited(world: World) -> None:
    """A core-group member reading and filing in a burst is answered every time."""
    sent = await _send_all(world.alice, world.core, ANSWERS_PER_WINDOW + 2)
    sent += [await world.alice.say(world.core, f"Agendapunt: Bankje {n}") for n in range(3)]

    def all_answered(got: list[dict[str, Any]]) -> bool:
        return all(replies_to(got, world.bot, event_id) for event_id in sent)

    events = await _wait(world, world.core, all_answered)
    for event_id in sent:
        answers = _answers(events, world, event_id)
        assert answers, dump(events)
        assert not [answer for answer in answers if NOTICE_EN in answer], dump(events)
