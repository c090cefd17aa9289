"""``!vertrouwelijk WB-n`` (issue 16, point 2) with a real Synapse and real members: a
core-group member keeps one item off the public surfaces from the core room; the
announcement room's ``!agenda`` no longer lists it, the core room's still does (marked);
``!openbaar`` lets it back; the command is refused outside the core room, also from a
core-group member, and then changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from chat_helpers import (
    Setup,
    Watcher,
    Wijkbode,
    new_watcher,
    replies_to,
    room_with_bot,
    start_wijkbode,
    wait_bot_in,
)
from matrix_helpers import register

from daemon.filing.submission import FilingRules, Submission, file_submission
from daemon.model import Item, ItemId, Kind
from harness.synapse import SynapseServer


@dataclass
class World:
    bot: Wijkbode
    alice: Watcher  # core-group member, also in the announcement room
    resident: Watcher  # only in the announcement room
    core: str
    announce: str


@pytest_asyncio.fixture(scope="module")
async def world(
    synapse: SynapseServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    base = tmp_path_factory.mktemp("chat-confidential")
    alice = await new_watcher(synapse, "alice", base)
    resident = await new_watcher(synapse, "resident", base)
    account = await register(synapse, "wijkbode")
    core = await room_with_bot(alice, account.user_id, encrypted=False)
    announce = await room_with_bot(alice, account.user_id, encrypted=False, members=[resident])
    bot = await start_wijkbode(synapse, account, Setup(base / "bot", core, (announce,)))
    try:
        await wait_bot_in(alice, core, bot)
        await wait_bot_in(alice, announce, bot)
        yield World(bot, alice, resident, core, announce)
    finally:
        await bot.stop()
        await alice.close()
        await resident.close()


async def ask(world: World, who: Watcher, room: str, text: str) -> str:
    """Send ``text`` and return the body of Wijkbode's one answer to it."""
    event_id = await who.say(room, text)
    events = await who.wait(room, lambda got: bool(replies_to(got, world.bot, event_id)), world.bot)
    [answer] = replies_to(events, world.bot, event_id)
    return str(answer["content"]["body"])


async def _file(world: World, title: str) -> Item:
    """A ter-kennisgeving item for the next meeting (10 days ahead: on time, and the
    alliance's concept agenda is out, so its titles are public)."""
    submission = Submission(
        kind=Kind.TER_KENNISGEVING,
        title=title,
        submitter="partner@example.org",
        received_at=datetime.now(UTC),
        source="mail",
    )
    async with world.bot.store.transaction() as tx:
        filed = await file_submission(tx, submission, FilingRules.from_config(world.bot.config))
    return filed.item


async def _confidential(world: World, item_id: ItemId) -> tuple[bool, list[str]]:
    async with world.bot.store.reading() as tx:
        item = await tx.item(item_id)
        events = [event.event for event in await tx.item_events(item_id)]
    assert item is not None
    return item.confidential, events


async def test_vertrouwelijk_in_the_core_room_hides_the_item_from_the_public_agenda(
    world: World,
) -> None:
    secret = await _file(world, "Huurzaak Dijkstraat 4")
    await _file(world, "Nieuwe bankjes op het plein")
    label = f"WB-{secret.id}"
    public = await ask(world, world.resident, world.announce, "!agenda")
    assert "Huurzaak Dijkstraat 4" in public  # before: a public title like any other
    assert "Nieuwe bankjes op het plein" in public

    said = await ask(world, world.alice, world.core, f"!vertrouwelijk {label}")
    assert f"{label} is vertrouwelijk: “Huurzaak Dijkstraat 4” blijft weg van" in said
    assert f"{label} is confidential" in said  # Dutch first, then English
    assert said.index("vertrouwelijk") < said.index("confidential")
    assert await _confidential(world, secret.id) == (True, ["filed", "confidential"])

    public = await ask(world, world.resident, world.announce, "!agenda")
    assert "Huurzaak" not in public
    assert label not in public
    assert "Nieuwe bankjes op het plein" in public  # the rest of the agenda stays
    core = await ask(world, world.alice, world.core, "!agenda")
    assert "Huurzaak Dijkstraat 4" in core
    assert "vertrouwelijk / confidential" in core
    # A core-group member asking in the announcement room sees what the room sees.
    assert "Huurzaak" not in await ask(world, world.alice, world.announce, "!agenda")

    opened = await ask(world, world.alice, world.core, f"!public {label}")
    assert f"{label} is niet meer vertrouwelijk" in opened
    assert await _confidential(world, secret.id) == (False, ["filed", "confidential", "public"])
    assert "Huurzaak Dijkstraat 4" in await ask(world, world.resident, world.announce, "!agenda")


async def test_vertrouwelijk_is_refused_outside_the_core_room_and_changes_nothing(
    world: World,
) -> None:
    item = await _file(world, "Speeltuin Meeuwenpark")
    label = f"WB-{item.id}"
    for who in (world.resident, world.alice):
        for text in (f"!vertrouwelijk {label}", f"!confidential {label}", f"!openbaar {label}"):
            answer = await ask(world, who, world.announce, text)
            assert "Dit kan alleen in de kamer van de kerngroep" in answer
            assert "This can only be done in the core group's room" in answer
    assert await _confidential(world, item.id) == (False, ["filed"])
    assert "Speeltuin Meeuwenpark" in await ask(world, world.resident, world.announce, "!agenda")


async def test_help_lists_the_command_with_its_english_alias(world: World) -> None:
    answer = await ask(world, world.alice, world.core, "!help")
    assert "!vertrouwelijk ID (!confidential)" in answer
    assert "!openbaar ID (!public)" in answer
