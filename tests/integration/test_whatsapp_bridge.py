"""Wijkbode in a core room bridged to WhatsApp by mautrix-whatsapp (issue 15).

The bridge is simulated in the harness (``harness/whatsapp_bridge.py``): an
application service registered with a Synapse of its own, WhatsApp members as
``@whatsapp_<phone>:localhost`` puppets named "<name> (WA)", sending through the
as_token the content shapes the bridge sends; in the encrypted room the bridge
bot's one device encrypts for all of them. Alice is the Matrix user who made the
portal room (the relay account's owner). Each test runs in a plain and in an
encrypted portal room, with the real chat intake, store and outbox.

The six failures the issue lists: phone numbers shown, a bare file re-posted,
WhatsApp formatting, a typed ``@Bob``, another bot's ``!wa`` command, 📌 on a
poll; and the last test looks at everything Wijkbode wrote for a phone number.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from chat_helpers import (
    SECOND,
    Setup,
    Watcher,
    Wijkbode,
    dump,
    from_bot,
    meeting_id,
    new_watcher,
    replies_to,
    start_wijkbode,
    wait_bot_in,
)
from matrix_helpers import register

from daemon.model import Item
from harness.synapse import SynapseServer
from harness.whatsapp_bridge import (
    Puppet,
    WhatsAppBridge,
    image,
    mention,
    pill,
    reaction,
    reply,
    stable_poll,
    text,
    unstable_poll,
    whatsapp_pin_notice,
)

pytestmark = pytest.mark.integration

BOB_PHONE, ANNA_PHONE, KEES1_PHONE, KEES2_PHONE = (
    "31612345678",
    "31687654321",
    "31611111111",
    "31622222222",
)
# Any puppet's phone number (the bridge's ids are "whatsapp_<number>"), or a puppet id.
PHONE = re.compile(r"316\d{8}|whatsapp_", re.I)
# A tiny JPEG is not needed: the bridge sends bytes, Wijkbode stores them by hash.
PHOTO = b"\xff\xd8\xff\xe0" + b"whatsapp photo" * 40 + b"\xff\xd9"


@dataclass
class BridgedWorld:
    synapse: SynapseServer
    bridge: WhatsAppBridge
    bot: Wijkbode
    alice: Watcher
    room: str
    encrypted: bool
    bob: Puppet
    anna: Puppet
    kees1: Puppet
    kees2: Puppet

    async def send(
        self, who: Puppet, content: dict[str, Any], event_type: str = "m.room.message"
    ) -> str:
        return await self.bridge.send(who, self.room, content, event_type, encrypted=self.encrypted)

    async def answer_to(self, event_id: str) -> dict[str, Any]:
        """Wijkbode's notice answering ``event_id`` (in its thread or as a reply)."""
        events = await self.alice.wait(
            self.room, lambda got: bool(replies_to(got, self.bot, event_id)), self.bot
        )
        return replies_to(events, self.bot, event_id)[0]

    async def items(self) -> list[Item]:
        return await self.bot.items()


@pytest_asyncio.fixture(scope="module")
async def bridged_synapse(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[SynapseServer, WhatsAppBridge]]:
    """A Synapse of its own with the WhatsApp appservice registered (the shared one keeps
    its configuration)."""
    base = tmp_path_factory.mktemp("whatsapp-bridge")
    bridge = WhatsAppBridge.prepare(base / "bridge")
    await bridge.endpoint.start()
    synapse = SynapseServer(base / "synapse", appservices=[bridge.write_registration()])
    await synapse.start()
    bridge.attach(synapse.base_url)
    await bridge.start_encryption()
    try:
        yield synapse, bridge
    finally:
        await bridge.close()
        await synapse.cleanup()


@pytest_asyncio.fixture(scope="module", params=[False, True], ids=["plain", "encrypted"])
async def world(
    request: pytest.FixtureRequest,
    bridged_synapse: tuple[SynapseServer, WhatsAppBridge],
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[BridgedWorld]:
    encrypted: bool = request.param
    synapse, bridge = bridged_synapse
    base = tmp_path_factory.mktemp("bridged-room")
    tag = "e" if encrypted else "p"
    bob = await bridge.puppet(BOB_PHONE + tag, "Bob")
    anna = await bridge.puppet(ANNA_PHONE + tag, "Anna de Vries")
    kees1 = await bridge.puppet(KEES1_PHONE + tag, "Kees")
    kees2 = await bridge.puppet(KEES2_PHONE + tag, "Kees")
    puppets = [bob, anna, kees1, kees2]
    alice = await new_watcher(synapse, "alice", base)
    account = await register(synapse, "wijkbode")
    invite = [account.user_id, bridge.bot_user_id, *(p.user_id for p in puppets)]
    room = await alice.create_room(encrypted=encrypted, invite=invite)
    await bridge.bot_join(room)
    for puppet in puppets:
        await bridge.join(puppet, room)
    bot = await start_wijkbode(
        synapse,
        account,
        Setup(
            base / "bot",
            core_room=room,
            bridged_rooms=(room,),
            ignore_users=(bridge.bot_user_id,),
        ),
    )
    try:
        await wait_bot_in(alice, room, bot)
        yield BridgedWorld(synapse, bridge, bot, alice, room, encrypted, *puppets)
    finally:
        await bot.stop()
        await alice.close()


def _all_text(event: dict[str, Any]) -> str:
    content = event.get("content") or {}
    return f"{content.get('body', '')}\n{content.get('formatted_body', '')}"


async def test_bold_prefix_files_a_plain_title_confirmed_by_a_short_notice(
    world: BridgedWorld,
) -> None:
    """Failures 3 and 1: ``*Agendapunt:*`` is recognised, the title has no markers, and
    the confirmation is a short notice (no ✅ reaches WhatsApp) naming no phone number."""
    asked = await world.send(
        world.bob,
        text(
            "*Agendapunt:* Fietsenrekken _bij_ de school",
            "<strong>Agendapunt:</strong> Fietsenrekken <em>bij</em> de school",
        ),
    )
    answer = await world.answer_to(asked)
    lines = answer["content"]["body"].split("\n")
    assert len(lines) == 2, dump([answer])
    assert lines[0].startswith("WB-")
    assert "genoteerd als agendapunt" in lines[0]
    assert "“Fietsenrekken bij de school”" in lines[0]
    [item] = [i for i in await world.items() if i.title == "Fietsenrekken bij de school"]
    assert item.submitter == world.bob.user_id
    # The core room's new-item post names Bob as WhatsApp shows him.
    events = await world.alice.wait(
        world.room,
        lambda got: any(
            f"WB-{item.id}" in _all_text(e) and "Bob (WA)" in _all_text(e)
            for e in from_bot(got, world.bot)
        ),
        world.bot,
    )
    assert not any(PHONE.search(_all_text(e)) for e in from_bot(events, world.bot))


async def test_a_photo_with_a_caption_comes_back_with_its_item_number_and_title(
    world: BridgedWorld,
) -> None:
    """Failure 2: the filed photo is re-posted with a caption, not as a bare file."""
    media = await world.bridge.upload(
        world.anna, PHOTO, "IMG-20270301-WA0001.jpg", encrypted=world.encrypted
    )
    caption = "Stuk: Kapotte lantaarnpaal"
    asked = await world.send(
        world.anna, image(caption, "IMG-20270301-WA0001.jpg", media, len(PHOTO))
    )
    await world.answer_to(asked)
    [item] = [i for i in await world.items() if i.title == "Kapotte lantaarnpaal"]
    events = await world.alice.wait(
        world.room,
        lambda got: any(
            (e.get("content") or {}).get("msgtype") == "m.file"
            and (e.get("content") or {}).get("filename") == "IMG-20270301-WA0001.jpg"
            for e in from_bot(got, world.bot)
        ),
        world.bot,
    )
    [posted] = [
        e
        for e in from_bot(events, world.bot)
        if (e.get("content") or {}).get("filename") == "IMG-20270301-WA0001.jpg"
    ]
    assert posted["content"]["body"] == f"WB-{item.id}: Kapotte lantaarnpaal"


async def test_typed_at_name_finds_the_member_behind_the_wa_suffix(world: BridgedWorld) -> None:
    """Failure 4: ``@Bob`` typed (not picked) is Bob (WA); the answer names him, not his number."""
    asked = await world.send(
        world.anna, text("*Afspraak:* ladder ophalen @Bob voor 15 december 2099")
    )
    answer = await world.answer_to(asked)
    assert "Bob (WA)" in answer["content"]["body"], dump([answer])
    assert not PHONE.search(_all_text(answer))
    async with world.bot.store.reading() as tx:
        owners = {a.what: a.owner for a in await tx.open_agreements()}
    assert owners["ladder ophalen"] == world.bob.user_id


async def test_a_mention_picked_on_whatsapp_arrives_as_a_pill_and_works(
    world: BridgedWorld,
) -> None:
    anna = world.anna
    asked = await world.send(
        world.bob,
        mention(
            f"Afspraak: flyers rondbrengen @{anna.display_name} voor 16 december 2099",
            f"Afspraak: flyers rondbrengen {pill(anna.user_id, anna.display_name)}"
            " voor 16 december 2099",
            [anna.user_id],
        ),
    )
    answer = await world.answer_to(asked)
    assert "Anna de Vries (WA)" in answer["content"]["body"], dump([answer])
    async with world.bot.store.reading() as tx:
        owners = {a.what: a.owner for a in await tx.open_agreements()}
    assert owners["flyers rondbrengen"] == anna.user_id


async def test_a_name_two_members_share_gets_a_question(world: BridgedWorld) -> None:
    asked = await world.send(world.bob, text("Afspraak: koffie halen @Kees voor 17 december 2099"))
    answer = await world.answer_to(asked)
    body = answer["content"]["body"]
    assert "Kees (WA) (2)" in body, dump([answer])
    assert "Wie bedoel je?" in body
    assert "Who do you mean?" in body
    assert not PHONE.search(_all_text(answer))
    unknown = await world.answer_to(
        await world.send(world.bob, text("Afspraak: koffie halen @Piet voor 17 december 2099"))
    )
    assert "“@Piet” ken ik niet" in unknown["content"]["body"], dump([unknown])
    async with world.bot.store.reading() as tx:
        assert "koffie halen" not in {a.what for a in await tx.open_agreements()}


async def test_other_bots_are_not_answered(world: BridgedWorld) -> None:
    """Failure 5: ``!wa set-relay`` (the bridge's command) and the bridge bot's own messages
    get no answer; a command after them does, so they were seen and passed over."""
    relay = await world.alice.send(world.room, {"msgtype": "m.text", "body": "!wa set-relay"})
    from_bridge_bot = await world.bridge.send_as_bot(
        world.room, text("!agenda"), encrypted=world.encrypted
    )
    pinned_notice = await world.send(world.bob, whatsapp_pin_notice())
    after = await world.alice.send(world.room, {"msgtype": "m.text", "body": "!help"})
    events = await world.alice.wait(
        world.room, lambda got: bool(replies_to(got, world.bot, after)), world.bot
    )
    for ignored in (relay, from_bridge_bot, pinned_notice):
        assert replies_to(events, world.bot, ignored) == [], dump(from_bot(events, world.bot))


@pytest.mark.parametrize("form", [stable_poll, unstable_poll], ids=["stable", "unstable"])
async def test_pin_on_a_poll_files_its_question(world: BridgedWorld, form: Any) -> None:
    """Failure 6: 📌 on a poll in either MSC3381 form files the question."""
    question = f"Welke avond past voor de schoonmaakactie ({form.__name__})?"
    event_type, content = form(question, ["Dinsdag", "Woensdag"])
    poll = await world.send(world.bob, content, event_type)
    pin = await world.send(world.anna, reaction(poll, "📌"), "m.reaction")
    answer = await _pin_answer(world, pin, poll)
    assert "Welke avond past" in answer["content"]["body"], dump([answer])
    [item] = [i for i in await world.items() if i.title == question]
    assert item.submitter == world.bob.user_id
    assert "1. Dinsdag" in item.text


async def _pin_answer(world: BridgedWorld, pin: str, poll: str) -> dict[str, Any]:
    """A 📌 is answered in the pinned message's thread (or as a reply to the pin)."""
    events = await world.alice.wait(
        world.room,
        lambda got: bool(replies_to(got, world.bot, poll) or replies_to(got, world.bot, pin)),
        world.bot,
    )
    return (replies_to(events, world.bot, poll) or replies_to(events, world.bot, pin))[0]


async def test_a_reply_without_fallback_files_as_usual(world: BridgedWorld) -> None:
    first = await world.send(world.anna, text("Wat doen we met de speeltuin?"))
    asked = await world.send(world.bob, reply(text("Actualiteit: Speeltuin dicht"), first))
    answer = await world.answer_to(asked)
    assert "genoteerd als actualiteit" in answer["content"]["body"], dump([answer])


async def test_listings_name_members_and_no_phone_number_appears_anywhere(
    world: BridgedWorld,
) -> None:
    """What Wijkbode wrote in this room, listings included: names, never a phone number."""
    asked = await world.alice.send(world.room, {"msgtype": "m.text", "body": "!afspraken"})
    listing = await world.answer_to(asked)
    assert "Bob (WA)" in listing["content"]["body"], dump([listing])
    agenda = await world.answer_to(
        await world.alice.send(world.room, {"msgtype": "m.text", "body": "!agenda"})
    )
    assert "Bob (WA)" in agenda["content"]["body"], dump([agenda])
    everything = from_bot(world.alice.events(world.room), world.bot)
    assert everything
    leaks = [e for e in everything if PHONE.search(_all_text(e))]
    assert leaks == [], dump(leaks)


async def test_a_poll_wijkbode_starts_has_a_text_form_for_whatsapp(world: BridgedWorld) -> None:
    """A poll Wijkbode starts (here a date poll) carries a plain body with its question and
    numbered options: what a bridge without poll support, or a relay, shows."""
    days = [(SECOND + timedelta(days=n)).isoformat() for n in (1, 2)]
    asked = await world.alice.send(
        world.room,
        {"msgtype": "m.text", "body": f"!datumpoll {meeting_id(SECOND)} {days[0]} {days[1]}"},
    )

    def is_poll(event: dict[str, Any]) -> bool:
        return event.get("type") in ("org.matrix.msc3381.poll.start", "m.poll.start")

    events = await world.alice.wait(
        world.room,
        lambda got: (
            any(is_poll(e) for e in from_bot(got, world.bot))
            or bool(replies_to(got, world.bot, asked))
        ),
        world.bot,
    )
    polls = [e for e in from_bot(events, world.bot) if is_poll(e)]
    assert polls, dump(replies_to(events, world.bot, asked))
    body = polls[-1]["content"]["body"]
    assert "1. " in body, body
    assert "2. " in body, body
    assert not PHONE.search(body)
