"""Filing from chat in the core group's room, encrypted and plain, with real members.

Every filing form, an upload with a caption, 📌, hostile text; each filing is
confirmed in a thread (number, meeting, date, deadline status) and with ✅,
and the core room hears of the new item.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import nio
import pytest
import pytest_asyncio
from chat_helpers import (
    FIRST,
    SECOND,
    Setup,
    Watcher,
    Wijkbode,
    bodies,
    dump,
    from_bot,
    meeting_id,
    new_watcher,
    reactions_on,
    replies_to,
    room_with_bot,
    start_wijkbode,
    wait_bot_in,
)
from matrix_helpers import register

from daemon.model import Item, ItemStatus, Kind
from harness.synapse import SynapseServer


@dataclass
class World:
    bot: Wijkbode
    alice: Watcher  # created the core room
    bob: Watcher  # another core-group member
    room: str
    encrypted: bool


@pytest_asyncio.fixture(scope="module", params=[True, False], ids=["encrypted", "plain"])
async def world(
    request: pytest.FixtureRequest, synapse: SynapseServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    encrypted: bool = request.param
    base = tmp_path_factory.mktemp("chat-filing")
    alice = await new_watcher(synapse, "alice", base)
    bob = await new_watcher(synapse, "bob", base)
    account = await register(synapse, "wijkbode")
    room = await room_with_bot(alice, account.user_id, encrypted=encrypted, members=[bob])
    bot = await start_wijkbode(synapse, account, Setup(base / "bot", core_room=room))
    try:
        await wait_bot_in(alice, room, bot)
        yield World(bot, alice, bob, room, encrypted)
    finally:
        await bot.stop()
        await alice.close()
        await bob.close()


async def _confirmed(world: World, event_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Wait for Wijkbode's thread reply and ✅ on ``event_id``; return the reply and all events."""
    events = await world.alice.wait(
        world.room,
        lambda got: (
            bool(replies_to(got, world.bot, event_id))
            and "✅" in reactions_on(got, world.bot, event_id)
        ),
        world.bot,
    )
    [reply] = replies_to(events, world.bot, event_id)
    return reply, events


async def _item_from(world: World, title: str) -> Item:
    [item] = [i for i in await world.bot.items() if i.title == title]
    return item


def _thread_of(reply: dict[str, Any]) -> str | None:
    relation = reply["content"].get("m.relates_to") or {}
    return relation.get("event_id") if relation.get("rel_type") == "m.thread" else None


@pytest.mark.parametrize(
    ("text", "title", "kind", "meeting", "late", "status_nl"),
    [
        # The first meeting's agendapunt deadline (T-15d) has passed: it moves on.
        ("Agendapunt: Bankje bij de speeltuin\nDe oude is kapot.", "Bankje bij de speeltuin",
         Kind.AGENDAPUNT, SECOND, True, "Te laat voor de vergadering"),
        ("agenda item: Benches in the park", "Benches in the park",
         Kind.AGENDAPUNT, SECOND, True, "Te laat voor de vergadering"),
        ("Ter kennisgeving: Jaarverslag 2026", "Jaarverslag 2026",
         Kind.TER_KENNISGEVING, FIRST, False, "Op tijd."),
        ("For information: Annual report", "Annual report",
         Kind.TER_KENNISGEVING, FIRST, False, "Op tijd."),
        ("Actualiteit: Brand in de flat", "Brand in de flat",
         Kind.ACTUALITEIT, FIRST, False, "Op tijd."),
        ("Current affair: Fire in the block", "Fire in the block",
         Kind.ACTUALITEIT, FIRST, False, "Op tijd."),
        ("Agendapunt (direct): Zaalhuur", "Zaalhuur",
         Kind.AGENDAPUNT, FIRST, False, "Direct op de agenda gezet"),
    ],
)  # fmt: skip
async def test_each_filing_prefix_files_its_kind_and_confirms_it(
    world: World,
    text: str,
    title: str,
    kind: Kind,
    meeting: Any,
    late: bool,
    status_nl: str,
) -> None:
    event_id = await world.alice.say(world.room, text)
    reply, _events = await _confirmed(world, event_id)

    item = await _item_from(world, title)
    expected = (kind, meeting_id(meeting), late, world.alice.user_id, "chat", ItemStatus.FILED)
    assert expected == (
        item.kind,
        item.meeting,
        item.late,
        item.submitter,
        item.source,
        item.status,
    )
    body = reply["content"]["body"]
    assert f"WB-{item.id}" in body, body
    assert status_nl in body, body
    assert "Wijkalliantie" in body
    assert "— English —" in body
    assert event_id == _thread_of(reply)
    assert reply["content"]["m.mentions"] == {}
    # The core room hears of the new item too.
    post = f"Nieuwe inzending WB-{item.id} "
    await world.alice.wait(
        world.room, lambda got: any(post in b for b in bodies(from_bot(got, world.bot))), world.bot
    )


async def test_the_item_text_is_the_rest_of_the_message(world: World) -> None:
    event_id = await world.alice.say(world.room, "Agendapunt: Stoep\nTegels los.\nBij nr. 12.")
    await _confirmed(world, event_id)
    assert (await _item_from(world, "Stoep")).text == "Tegels los.\nBij nr. 12."


async def test_upload_with_a_caption_files_a_stuk_with_its_document(world: World) -> None:
    data = b"%PDF-1.4\n" + bytes(range(256)) * 30
    event_id = await world.alice.upload(
        world.room, data, "notulen.pdf", "Stuk: Notulen maart", world.encrypted
    )
    reply, _ = await _confirmed(world, event_id)

    item = await _item_from(world, "Notulen maart")
    assert item.kind is Kind.STUK
    [document] = item.documents
    assert (document.filename, document.size) == ("notulen.pdf", len(data))
    assert hashlib.sha256(data).hexdigest() == document.sha256
    assert data == await world.bot.store.documents.get(document.sha256)
    assert "notulen.pdf" in reply["content"]["body"]


async def test_an_agendapunt_caption_on_a_file_files_a_stuk(world: World) -> None:
    data = b"%PDF-1.4 plattegrond"
    event_id = await world.alice.upload(
        world.room, data, "plattegrond.pdf", "Agendapunt: Plattegrond speeltuin", world.encrypted
    )
    await _confirmed(world, event_id)
    item = await _item_from(world, "Plattegrond speeltuin")
    assert (item.kind, len(item.documents)) == (Kind.STUK, 1)


@pytest.mark.parametrize("pin", ["📌", "📌\ufe0f"], ids=["plain-pin", "with-variation-selector"])
async def test_pin_files_a_message_as_agendapunt_crediting_its_author(
    world: World, pin: str
) -> None:
    first_line = f"Zullen we de buurtschouw verzetten? ({len(pin)})"
    message = await world.bob.say(world.room, f"{first_line}\nIk kan niet op 12 mei.")
    await world.alice.react(world.room, message, pin)
    reply, _ = await _confirmed(world, message)

    item = await _item_from(world, first_line)
    assert (Kind.AGENDAPUNT, world.bob.user_id, "Ik kan niet op 12 mei.") == (
        item.kind,
        item.submitter,
        item.text,
    )
    assert message == _thread_of(reply)
    assert "Ingediend door" in reply["content"]["body"]

    # A second pin on the same message files nothing new and says so (on that message).
    await world.bob.react(world.room, message, pin)
    events = await world.alice.wait(
        world.room, lambda got: len(replies_to(got, world.bot, message)) == 2, world.bot
    )
    note = replies_to(events, world.bot, message)[-1]
    assert "al ingediend als" in note["content"]["body"]
    assert f"WB-{item.id}" in note["content"]["body"]
    assert [item.id] == [i.id for i in await world.bot.items() if i.title == first_line]


async def test_other_reactions_and_conversation_file_nothing(world: World) -> None:
    before = len(await world.bot.items())
    chat = await world.bob.say(world.room, "Goedemorgen allemaal")
    await world.alice.react(world.room, chat, "👍")
    notice = await world.bob.say(world.room, "Agendapunt: van een andere bot", msgtype="m.notice")
    marker = await world.alice.say(world.room, "!deadlines")
    events = await world.alice.wait(
        world.room, lambda got: bool(replies_to(got, world.bot, marker)), world.bot
    )
    assert replies_to(events, world.bot, chat) + replies_to(events, world.bot, notice) == []
    assert before == len(await world.bot.items())


async def test_hostile_text_is_shown_safely_in_the_confirmation(world: World) -> None:
    hostile = (
        "Agendapunt: <b>vet</b> <a href='https://evil.example'>klik</a> @room "
        "\u202egnp.exe\u202c <img src=x onerror=alert(1)>"
    )
    event_id = await world.alice.say(world.room, hostile)
    reply, _ = await _confirmed(world, event_id)
    body, html = reply["content"]["body"], reply["content"]["formatted_body"]

    assert "@room" not in body
    assert "@room" not in html
    assert "@\u2060room" in body
    assert "\u202e" not in body
    assert "\u202e" not in html
    assert "<b>" not in html
    assert "<a href" not in html
    assert "<img" not in html
    assert "&lt;b&gt;vet&lt;/b&gt;" in html
    assert reply["content"]["m.mentions"] == {}


async def test_a_very_long_message_is_filed_with_a_short_title(world: World) -> None:
    # Matrix refuses events over 64 KiB, so a 100 kB message never reaches anyone.
    huge = "Agendapunt: " + "lang " * 20_000
    await world.alice.sync()
    refused = await world.alice.client.room_send(
        world.room, "m.room.message", {"msgtype": "m.text", "body": huge},
        ignore_unverified_devices=True,
    )  # fmt: skip
    assert isinstance(refused, nio.RoomSendError), refused
    # The largest that fits in both kinds of room: about 40 kB on one line.
    long_text = "Agendapunt: Begroting " + "x" * 40_000 + " @room"
    event_id = await world.alice.say(world.room, long_text)
    reply, _ = await _confirmed(world, event_id)

    [item] = [i for i in await world.bot.items() if i.title.startswith("Begroting x")]
    assert len(item.title) == 200
    assert long_text.removeprefix("Agendapunt: ") == item.text
    assert len(reply["content"]["body"]) < 2_000, dump([reply])
