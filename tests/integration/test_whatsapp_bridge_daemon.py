"""The real daemon (``wijkbode run``) in a core room bridged to WhatsApp (issue 15).

The same simulated bridge as ``test_whatsapp_bridge.py`` (a Synapse of its own with
the appservice), now with the daemon as an operator runs it: ``[matrix]
bridged_rooms`` and ``ignore_users`` read from its ``wijkbode.toml``, mail through
the harness relay, the scheduler on a fast simulated clock. WhatsApp members file
an agendapunt in bold, make an afspraak for a typed ``@Bob`` and pass the bridge a
``!wa`` command; the concept agenda goes to the partner by mail and the afspraak's
reminder to the room. Then nothing Wijkbode wrote, in the room or in any mail the
relay captured, holds a phone number or a puppet id.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from daemon_runner import DaemonRunner, World, local, make_world, q
from test_whatsapp_bridge import bridged_synapse  # noqa: F401 - the fixture, shared

from harness.dovecot import DovecotServer
from harness.smtp import CapturedMail, SmtpRelay
from harness.synapse import SynapseServer
from harness.whatsapp_bridge import WhatsAppBridge, text

pytestmark = pytest.mark.integration

# A twentieth of a simulated day per real second: the concept agenda (T-21d) comes
# some 28 s after the start, the afspraak's reminder (a day before it is due) some 60 s.
SPEED = 4_320
START = local("2027-03-01T10:00:00")
WAIT_S = 150.0
PHONE = re.compile(r"316\d{8}|whatsapp_", re.I)
SERIES = """\
[series.wijkalliantie]
title = "Wijkalliantie"
public = true

[series.wijkalliantie.plan]
dates = [2027-03-23T19:30:00]
"""


async def room_events(world: World, room_id: str) -> list[dict[str, Any]]:
    """Every event of the room, oldest first, as the member who made it sees them."""
    assert world.chat is not None
    room = urllib.parse.quote(room_id, safe="")
    path = f"/_matrix/client/v3/rooms/{room}/messages?dir=b&limit=1000"
    page = await world.chat.synapse.client_api("GET", path, world.chat.member_token)
    return list(reversed(page.get("chunk", [])))


def bodies_from(events: list[dict[str, Any]], sender: str) -> list[str]:
    found = []
    for event in events:
        content = event.get("content") or {}
        if event.get("sender") == sender and "body" in content:
            found.append(f"{content.get('body', '')}\n{content.get('formatted_body', '')}")
    return found


async def member_says(world: World, room_id: str, body: str) -> str:
    assert world.chat is not None
    room = urllib.parse.quote(room_id, safe="")
    path = f"/_matrix/client/v3/rooms/{room}/send/m.room.message/m{secrets.token_hex(6)}"
    answer = await world.chat.synapse.client_api(
        "PUT", path, world.chat.member_token, {"msgtype": "m.text", "body": body}
    )
    return str(answer["event_id"])


def answers_to(events: list[dict[str, Any]], bot: str, event_id: str) -> list[str]:
    found = []
    for event in events:
        content = event.get("content") or {}
        relation = content.get("m.relates_to") or {}
        replied = (relation.get("m.in_reply_to") or {}).get("event_id")
        notice = content.get("msgtype") == "m.notice"  # not the ✅ on it
        related = event_id in (relation.get("event_id"), replied)
        if event.get("sender") == bot and notice and related:
            found.append(str(content.get("body", "")))
    return found


def mail_text(mail: CapturedMail) -> str:
    """A captured mail's headers and every text part, decoded."""
    message = mail.message
    parts = [str(value) for value in message.values()]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            parts.append(str(part.get_content()))
    return "\n".join(parts)


async def until(condition: Any, what: str, runner: DaemonRunner) -> None:
    deadline = time.monotonic() + WAIT_S
    while not await condition():
        assert runner.running, f"the daemon exited:\n{runner.log()[-3000:]}"
        assert time.monotonic() < deadline, f"timed out: {what}\n{runner.log()[-3000:]}"
        await asyncio.sleep(0.5)


async def test_the_real_daemon_names_whatsapp_members_and_mails_no_phone_number(
    tmp_path: Path,
    bridged_synapse: tuple[SynapseServer, WhatsAppBridge],  # noqa: F811
    dovecot: DovecotServer,
    smtp_relay: SmtpRelay,
) -> None:
    synapse, bridge = bridged_synapse
    world = await make_world(
        ("mail", "matrix"), tmp_path / "secrets", dovecot=dovecot, relay=smtp_relay,
        synapse=synapse,
    )  # fmt: skip
    assert world.chat is not None
    assert world.mail is not None
    chat = world.chat
    core = chat.rooms[chat.core_alias]
    bob = await bridge.puppet("316123456789", "Bob")
    anna = await bridge.puppet("316987654321", "Anna")
    invite = f"/_matrix/client/v3/rooms/{urllib.parse.quote(core, safe='')}/invite"
    for who in (bob.user_id, anna.user_id, bridge.bot_user_id):
        await synapse.client_api("POST", invite, chat.member_token, {"user_id": who})
    for puppet in (bob, anna):
        await bridge.join(puppet, core)
    await bridge.bot_join(core)
    config = world.config(SERIES, default_series="wijkalliantie") + (
        f"bridged_rooms = [{q(chat.core_alias)}]\nignore_users = [{q(bridge.bot_user_id)}]\n"
    )
    (tmp_path / "wijkbode").mkdir()
    runner = DaemonRunner(tmp_path / "wijkbode", config, start=START, speed=SPEED)
    try:
        runner.start()
        await runner.wait_running()
        # Synced: events before the daemon's first sync are history it skips.
        assert await runner.wait_for_log("first sync", within=WAIT_S), runner.log()[-3000:]
        hellos = [await member_says(world, core, "!help")]

        async def greeted() -> bool:
            events = await room_events(world, core)
            if any(answers_to(events, chat.bot, hello) for hello in hellos):
                return True
            hellos.append(await member_says(world, core, "!help"))  # asked before the sync
            return False

        await until(greeted, "an answer to !help", runner)
        filed = await bridge.send(
            bob, core, text("*Agendapunt:* Fietsenrekken", "<strong>Agendapunt:</strong> ...")
        )
        relay = await member_says(world, core, "!wa set-relay")
        agreed = await bridge.send(anna, core, text("Afspraak: ladder ophalen @Bob voor 5 maart"))

        async def all_answered() -> bool:
            events = await room_events(world, core)
            reminded = any(
                "Bob (WA)" in body and "ladder ophalen" in body and "Herinnering" in body
                for body in bodies_from(events, chat.bot)
            )
            return all(answers_to(events, chat.bot, e) for e in (filed, agreed)) and reminded

        await until(all_answered, "the filing, the afspraak and its reminder", runner)

        async def partner_mailed() -> bool:
            assert world.mail is not None
            return any("Fietsenrekken" in mail_text(m) for m in world.mail.captured())

        await until(partner_mailed, "the concept agenda by mail", runner)
        events = await room_events(world, core)
        await runner.stop()
    finally:
        runner.ensure_stopped()

    [confirmation] = answers_to(events, chat.bot, filed)
    assert confirmation.startswith("WB-1 genoteerd als agendapunt: “Fietsenrekken”")
    [agreement] = answers_to(events, chat.bot, agreed)
    assert "Bob (WA)" in agreement
    assert answers_to(events, chat.bot, relay) == []
    written = bodies_from(events, chat.bot)
    assert [b for b in written if PHONE.search(b)] == []
    mails = [mail_text(m) for m in world.mail.captured()]
    assert mails
    assert [m for m in mails if PHONE.search(m)] == []
    assert "Traceback" not in runner.log(), runner.log()[-3000:]
