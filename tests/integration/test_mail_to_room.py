"""End to end, mail to room: a partner's stuk mailed over SMTP reaches the agenda, the sender
and the encrypted core room, each exactly once, and a restart of the daemon doubles nothing.

Issue 4's and issue 5's "Done when" together, on the real ``wijkbode run`` with
``[mail]`` and ``[matrix]``: the partner's mail goes through the harness relay
into Dovecot (LMTP); Wijkbode reads it over IMAP, files it, mails a receipt
through the relay (captured there) and posts it, with its PDF, in a core room
a member made ENCRYPTED and invited Wijkbode to. The member reads the room
with their own E2EE client, decrypting the notice and the attachment.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import nio
from chat_helpers import Watcher, new_watcher
from daemon_runner import PARTNER, TZ, DaemonRunner, MailSide, make_world, q, write_secret
from mailintake import message
from matrix_helpers import Account, register, wait_joined
from nio.crypto import decrypt_attachment

from daemon.ports.chat import IDEMPOTENCY_CONTENT_KEY
from harness.demo_pdf import tiny_pdf
from harness.dovecot import DovecotServer
from harness.smtp import CapturedMail, SmtpRelay
from harness.synapse import SERVER_NAME, SynapseServer

TODAY = date.today()
# The next meeting's stuk deadline (T-14d) is 16 days ahead: a stuk mailed now is on
# time for it (RULES.md calls a stuk that missed it late, moved to the one after).
NEXT = TODAY + timedelta(days=30)
AFTER = TODAY + timedelta(days=72)
NEXT_ID = f"wijkalliantie-{NEXT.isoformat()}"
AFTER_ID = f"wijkalliantie-{AFTER.isoformat()}"

# RULES.md's deadlines; only the moments that would mail the partner while the test
# runs (concept agenda, deadline reminders) are off, so every mail to them is a receipt.
SERIES = f"""\
[series.wijkalliantie]
title = "Wijkalliantie"
duration = "2h"

[series.wijkalliantie.deadlines]
concept_agenda = false
deadline_reminders = []

[series.wijkalliantie.plan]
dates = [{NEXT}T19:30:00, {AFTER}T19:30:00]
"""

TITLE = "Renovatieplan"
PDF_NAME = "renovatieplan.pdf"
PDF = tiny_pdf("Renovatieplan Meeuwenlaan 2027")
SECOND_TITLE = "Bankjes Meeuwenpark"
# What the member's client shows as messages (undecrypted ones still carry the outer type).
MESSAGE_TYPES = ("m.room.message", "m.room.encrypted")


# --- the member's side: an encrypted room, read with their own E2EE client ------------------


@dataclass
class CoreRoom:
    """The encrypted core room a member made, as that member's client reads it."""

    member: Watcher
    alias: str
    room_id: str
    bot: str

    async def bot_events(self) -> list[Any]:
        """The bot's messages in the whole history, oldest first, decrypted where keys allow."""
        await self.member.poll()  # room keys arrive as to-device messages in a sync
        client = self.member.client
        token, found = client.next_batch, []
        while True:
            page = await client.room_messages(self.room_id, start=token, limit=100)
            assert isinstance(page, nio.RoomMessagesResponse), page
            found += [
                event
                for event in page.chunk
                if event.sender == self.bot and event.source.get("type") in MESSAGE_TYPES
            ]
            if not page.chunk or page.end is None:
                return found[::-1]
            token = page.end

    async def posts_about(self, item: int) -> list[Any]:
        """The bot's decrypted events for ``item`` (keyed ``item/<id>/...``)."""
        return keyed(await self.bot_events(), f"item/{item}/")

    async def download(self, content: dict[str, Any]) -> bytes:
        """An encrypted attachment, downloaded and decrypted as the member's client does."""
        attachment = content["file"]
        download = await self.member.client.download(attachment["url"])
        assert isinstance(download, nio.DownloadResponse), download
        key, digest, iv = attachment["key"]["k"], attachment["hashes"]["sha256"], attachment["iv"]
        return bytes(decrypt_attachment(download.body, key, digest, iv))


async def encrypted_core_room(member: Watcher, bot: str) -> CoreRoom:
    """An encrypted room ``member`` made under a fresh alias, with ``bot`` invited."""
    alias = f"kern{secrets.token_hex(4)}"
    encryption = {"algorithm": "m.megolm.v1.aes-sha2"}
    made = await member.client.room_create(
        alias=alias,
        name="Kerngroep",
        invite=[bot],
        initial_state=[{"type": "m.room.encryption", "state_key": "", "content": encryption}],
    )
    assert isinstance(made, nio.RoomCreateResponse), made
    await member.sync()
    return CoreRoom(member, f"#{alias}:{SERVER_NAME}", str(made.room_id), bot)


def keyed(events: list[Any], prefix: str) -> list[Any]:
    """Decrypted events whose Wijkbode idempotency key starts with ``prefix``."""
    return [
        event
        for event in events
        if str(event.source["content"].get(IDEMPOTENCY_CONTENT_KEY, "")).startswith(prefix)
    ]


def undecrypted(events: list[Any]) -> list[Any]:
    return [event for event in events if isinstance(event, nio.MegolmEvent)]


# --- the partner's side: mail in over SMTP, receipts captured at the relay -----------------


@dataclass
class Partner:
    """The partner mailing Wijkbode through the relay, and what the relay captured for them."""

    relay: SmtpRelay
    mail: MailSide

    async def send(self, subject: str, attachments: list[tuple[str, bytes]]) -> str:
        """Mail Wijkbode's address over SMTP; returns the mail's Message-ID."""
        message_id = make_msgid(domain="partner.test")
        to = self.mail.mailbox.address
        raw = message(
            sender=PARTNER, to=to, subject=subject, attachments=attachments, message_id=message_id
        )
        await self.relay.deliver(raw, PARTNER, [to])
        return message_id

    def received(self) -> list[CapturedMail]:
        """All mail to the partner (in this test nothing else than receipts may reach them)."""
        return [m for m in self.mail.captured() if PARTNER in m.rcpt_tos]

    def replies_to(self, message_id: str) -> list[CapturedMail]:
        return [m for m in self.received() if m.message["In-Reply-To"] == message_id]


# --- the daemon ------------------------------------------------------------------------------


def matrix_section(synapse: SynapseServer, bot: Account, secret: Path, core_room: str) -> str:
    return (
        f"[matrix]\nhomeserver = {q(synapse.base_url)}\nuser_id = {q(bot.user_id)}\n"
        f"password_file = {q(secret)}\ncore_room = {q(core_room)}\n"
    )


async def agenda(runner: DaemonRunner, meeting: str) -> dict[str, Any]:
    """``wijkbode agenda <meeting> --json`` through the real CLI."""
    shown: dict[str, Any] = await runner.cli_json("agenda", meeting)
    return shown


def summary(item: dict[str, Any]) -> tuple[Any, ...]:
    return (item["kind"], item["title"], item["submitter"], item["late"], item["status"])


async def wait_for_receipt(runner: DaemonRunner, partner: Partner, message_id: str) -> None:
    async def arrived() -> bool:
        return bool(partner.replies_to(message_id))

    await runner.wait_until(arrived, f"the receipt for {message_id}")


# --- the test ---------------------------------------------------------------------------------


async def test_a_partner_stuk_reaches_agenda_sender_and_encrypted_room_exactly_once(
    tmp_path: Path, dovecot: DovecotServer, smtp_relay: SmtpRelay, synapse: SynapseServer
) -> None:
    """Filed once on the next meeting, one threaded receipt, one notice and one byte-identical
    encrypted PDF in the room; a restart and a second mail after it add nothing for the first."""
    member = await new_watcher(synapse, "lid", tmp_path / "member")
    bot = await register(synapse, "wijkbode")
    room = await encrypted_core_room(member, bot.user_id)
    world = await make_world(["mail"], tmp_path / "secrets", dovecot=dovecot, relay=smtp_relay)
    assert world.mail is not None
    partner = Partner(smtp_relay, world.mail)
    secret = write_secret(tmp_path / "secrets", "matrix", bot.password)
    config = world.config(SERIES, default_series="wijkalliantie")
    config += matrix_section(synapse, bot, secret, room.alias)
    # Speed 1 from now: the daemon's clock runs with the real one.
    runner = DaemonRunner(tmp_path, config, start=datetime.now(TZ), speed=1)
    try:
        runner.start()
        await runner.wait_running()
        await wait_joined(member, room.room_id, bot.user_id)  # the daemon took the invite
        stuk_id = await partner.send(f"[stuk] {TITLE}", [(PDF_NAME, PDF)])
        item = await filed_and_receipted(runner, partner, stuk_id)
        posted = await shown_in_room(runner, room, item)
        await runner.stop()

        runner.start()
        await runner.wait_running()
        second = await second_mail_after_restart(runner, partner, room, item)
        assert [event.event_id for event in await room.posts_about(item)] == posted
        everything = await room.bot_events()  # and nothing else in the room
        assert [e.source["content"].get(IDEMPOTENCY_CONTENT_KEY) for e in everything] == [
            f"item/{item}/post",
            f"item/{item}/post/doc/1",
            f"item/{second}/post",
        ]
        await runner.stop()
    finally:
        runner.ensure_stopped()
        await member.close()

    shown = await agenda(runner, NEXT_ID)
    assert {i["id"]: summary(i) for i in shown["items"]} == {
        item: ("stuk", TITLE, PARTNER, False, "filed"),
        second: ("agendapunt", SECOND_TITLE, PARTNER, False, "filed"),
    }
    assert len(partner.replies_to(stuk_id)) == 1
    assert len(partner.received()) == 2
    for run in (1, 2):
        assert "Traceback" not in runner.log(run), runner.log(run)[-3000:]


async def filed_and_receipted(runner: DaemonRunner, partner: Partner, stuk_id: str) -> int:
    """(1) one stuk on the next meeting, on time; (2) one threaded RFC 3834 receipt naming it."""
    await wait_for_receipt(runner, partner, stuk_id)
    shown = await agenda(runner, NEXT_ID)  # while the daemon runs
    assert shown["meeting"] == NEXT_ID
    assert [summary(i) for i in shown["items"]] == [("stuk", TITLE, PARTNER, False, "filed")]
    assert (await agenda(runner, AFTER_ID))["items"] == []
    item: int = shown["items"][0]["id"]

    [receipt] = partner.received()
    assert receipt.message["In-Reply-To"] == stuk_id
    assert receipt.message["Auto-Submitted"] == "auto-replied"
    assert f"WB-{item}" in receipt.message["Subject"]
    return item


async def shown_in_room(runner: DaemonRunner, room: CoreRoom, item: int) -> list[str]:
    """(3) the member decrypts Wijkbode's notice and its PDF; returns their event ids."""

    async def both_posted() -> bool:
        return len(await room.posts_about(item)) == 2

    await runner.wait_until(both_posted, "the notice and the file in the room")
    [notice, file] = await room.posts_about(item)
    assert (notice.decrypted, file.decrypted) == (True, True)  # they came encrypted
    text, attached = notice.source["content"], file.source["content"]
    assert text["msgtype"] == "m.notice"
    assert f"WB-{item}" in text["body"]
    assert TITLE in text["body"]
    assert (attached["msgtype"], attached["filename"]) == ("m.file", PDF_NAME)
    assert "url" not in attached  # the attachment is encrypted too, not only the event
    assert await room.download(attached) == PDF
    return [notice.event_id, file.event_id]


async def second_mail_after_restart(
    runner: DaemonRunner, partner: Partner, room: CoreRoom, first: int
) -> int:
    """(4) a second mail, handled end to end by the restarted daemon, marks that its intake,
    room feed and outbox have all run; anything redone for the first would be before it."""
    second_id = await partner.send(f"[agendapunt] {SECOND_TITLE}", [])
    await wait_for_receipt(runner, partner, second_id)
    items = (await agenda(runner, NEXT_ID))["items"]
    [second] = [i["id"] for i in items if i["id"] != first]

    async def posted_and_readable() -> bool:
        events = await room.bot_events()
        return bool(keyed(events, f"item/{second}/")) and not undecrypted(events)

    await runner.wait_until(posted_and_readable, "the second notice in the room")

    async def outbox_empty() -> bool:
        return await runner.outbox() == []

    await runner.wait_until(outbox_empty, "an empty outbox")
    assert len(partner.replies_to(second_id)) == 1
    return int(second)
