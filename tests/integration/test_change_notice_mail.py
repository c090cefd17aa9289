"""Change notices end to end: an item filed by mail, changed by a chat command, the sender told.

The mail is delivered over SMTP into the harness' Dovecot and filed by the
intake in-process; the chat commands run through the same action code the
chat intake calls (``run_command``, in the store transaction of the change);
the notices leave through the real SMTP channel and the relay captures them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest_asyncio
from mailintake import PARTNER, STRANGER, MailWorld, meetings_from_now, message, open_world

from daemon.chat.actions import ChatSettings, Origin
from daemon.chat.commands import run_command
from daemon.chat.parsing import AcceptItem, Command, MoveItem, RejectItems, parse_request
from daemon.engine.scheduler import EngineSettings
from daemon.filing.submission import FilingRules
from daemon.model import ItemId, ItemStatus
from daemon.ports.outbox import ChannelName, EffectStatus, message_id_for
from daemon.publish.bulk_reject import runs, runs_text
from harness.dovecot import DovecotServer, MailAccount
from harness.smtp import CaptureView, SmtpRelay

PASSED = "mx.wijk.test; spf=pass smtp.mailfrom=gemeente.test; dmarc=pass header.from=gemeente.test"


@pytest_asyncio.fixture
async def world(
    tmp_path: Path, dovecot: DovecotServer, smtp_relay: SmtpRelay, mailbox_user: MailAccount
) -> AsyncIterator[MailWorld]:
    opened = await open_world(
        tmp_path, dovecot, smtp_relay, mailbox_user, meetings_from_now(20, 60)
    )
    yield opened
    await opened.close()


async def _chat(world: MailWorld, command: Command, n: int) -> str:
    """Carry out ``command`` as the chat intake does, in one transaction; its reply body."""
    settings = ChatSettings(
        FilingRules.from_config(world.config),
        EngineSettings.from_config(world.config),
        mail_address=world.account.address,
    )
    now = datetime.now(UTC)
    origin = Origin("!kerngroep:localhost", f"$event{n}", "@kern:localhost", now)
    async with world.store.transaction() as tx:
        result = await run_command(tx, command, origin, settings, now)
    return result.reply.body


async def _send_all(world: MailWorld) -> None:
    """Deliver every queued mail: one round sends the oldest pending mail per address."""
    for _round in range(10):
        await world.send_receipts()
        if all(e.status is EffectStatus.DELIVERED for e in await world.effects(ChannelName.MAIL)):
            return
    raise AssertionError("mail still pending after 10 rounds")


def _text(mail: EmailMessage) -> str:
    body = mail.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def _notices(captured: CaptureView) -> list[EmailMessage]:
    return [m for m in captured.messages() if str(m["Subject"]).startswith("Gewijzigd")]


async def test_move_and_accept_in_chat_mail_one_threaded_notice_per_change(
    world: MailWorld, captured_mail: CaptureView
) -> None:
    stuk = message(
        to=world.account.address,
        subject="[stuk] Speeltuin",
        headers=[("Authentication-Results", PASSED)],
        message_id="<speeltuin-1@gemeente.test>",
    )
    await world.deliver(stuk)
    bankjes = message(
        sender=STRANGER,
        to=world.account.address,
        subject="Bankjes",
        message_id="<bankjes-1@elders.test>",
    )
    await world.deliver(bankjes, STRANGER)
    await world.run_once()
    await world.send_receipts()
    async with world.store.reading() as tx:
        meetings = await tx.meetings()
    later = meetings[1]
    [partner_item, stranger_item] = await world.items()
    assert (partner_item.status, stranger_item.status) == (
        ItemStatus.FILED, ItemStatus.AWAITING_ACCEPTANCE,
    )  # fmt: skip

    await _chat(world, MoveItem(ItemId(1), later.id), 1)
    await _chat(world, MoveItem(ItemId(1), meetings[0].id), 2)  # and back: a second notice
    await _chat(world, AcceptItem(ItemId(2)), 3)
    await _send_all(world)

    mails = await world.effects(ChannelName.MAIL)
    keys = sorted(e.key for e in mails if e.key.startswith("notice/"))
    assert keys == [
        "notice/item/1/moved/1",
        "notice/item/1/moved/2",
        "notice/item/2/accepted/1",
    ]
    domain = world.account.address.rpartition("@")[2]
    by_id = {str(m["Message-ID"]): m for m in _notices(captured_mail)}
    assert len(_notices(captured_mail)) == len(by_id) == 3  # exactly one mail per change
    moved, moved_back, accepted = (by_id[message_id_for(key, domain)] for key in keys)
    assert [(str(m["To"]), m["In-Reply-To"]) for m in (moved, moved_back, accepted)] == [
        (PARTNER, "<speeltuin-1@gemeente.test>"),
        (PARTNER, "<speeltuin-1@gemeente.test>"),
        (STRANGER, "<bankjes-1@elders.test>"),
    ]
    assert moved["References"] == "<speeltuin-1@gemeente.test>"
    assert moved["Auto-Submitted"] == "auto-replied"
    assert str(moved["Subject"]) == "Gewijzigd / Changed: Speeltuin [WB-1]"
    assert str(accepted["Subject"]) == "Gewijzigd / Changed: Bankjes [WB-2]"
    first_lines = [_text(m).splitlines()[:2] for m in (moved, moved_back)]
    assert [lines[0] for lines in first_lines] == [
        "Uw inzending WB-1 (“Speeltuin”) is verplaatst naar een andere vergadering."
    ] * 2
    assert first_lines[0][1].startswith("Nieuwe vergadering: Wijkalliantie, ")
    assert first_lines[0][1] != first_lines[1][1]  # each names its own new meeting
    accepted_text = _text(accepted)
    assert accepted_text.splitlines()[0] == "Uw inzending WB-2 (“Bankjes”) is geaccepteerd."
    assert "Your submission WB-2 (“Bankjes”) has been accepted." in accepted_text
    async with world.store.reading() as tx:  # a reply to a notice reaches the item
        assert await tx.item_for_thread([str(accepted["Message-ID"])]) == 2


# --- a flood rejected in one message (security finding 1) ----------------------------------

RECEIPT_LIMIT = 2
STRANGERS = [f"bewoner{n}@elders{n}.test" for n in range(4)]
FORGED = "directeur@vals.test"


@pytest_asyncio.fixture
async def limited_world(
    tmp_path: Path, dovecot: DovecotServer, smtp_relay: SmtpRelay, mailbox_user: MailAccount
) -> AsyncIterator[MailWorld]:
    opened = await open_world(
        tmp_path, dovecot, smtp_relay, mailbox_user, meetings_from_now(20, 60),
        limits=f"receipts_per_hour_outside_partners = {RECEIPT_LIMIT}",
    )  # fmt: skip
    yield opened
    await opened.close()


async def test_a_bulk_rejection_mails_only_the_senders_a_single_rejection_would(
    limited_world: MailWorld, captured_mail: CaptureView
) -> None:
    """One !weiger over a flood tells a sender only where one !weiger ID would: where the
    intake could send that mail's receipt. So senders beyond the hourly receipt limit and a
    sender our server found forged get nothing, and a partner's item is left alone."""
    world = limited_world
    for n, stranger in enumerate(STRANGERS):
        await world.deliver(message(sender=stranger, to=world.account.address,
                                    subject=f"Goedkope pillen {n}"), stranger)  # fmt: skip
    forged = message(
        sender=FORGED,
        to=world.account.address,
        subject="Factuur",
        headers=[("Authentication-Results", "mx.wijk.test; dmarc=fail header.from=vals.test")],
    )
    await world.deliver(forged, FORGED)
    await world.deliver(message(to=world.account.address, subject="Jaarverslag",
                                headers=[("Authentication-Results", PASSED)]))  # fmt: skip
    await world.run_once()
    await _send_all(world)
    by_title = {item.title: item for item in await world.items()}
    flood = [by_title[f"Goedkope pillen {n}"] for n in range(4)] + [by_title["Factuur"]]
    partner = by_title["Jaarverslag"]
    assert {item.status for item in flood} == {ItemStatus.AWAITING_ACCEPTANCE}
    receipts = {str(m["To"]) for m in captured_mail.messages()}
    assert receipts == {STRANGERS[0], STRANGERS[1], PARTNER}  # the limit of 2, and the partner

    ids = sorted(item.id for item in [*flood, partner])
    request = parse_request(
        f"!weiger WB-{ids[0]} t/m WB-{ids[-1]} spam", received_at=datetime.now(UTC)
    )
    assert isinstance(request, RejectItems)
    answer = await _chat(world, request, 1)
    await _send_all(world)

    assert answer.splitlines()[:3] == [
        f"Geweigerd: 5 ({_numbers([item.id for item in flood])}).",
        "2 van de afzenders krijgen daarover een mail (alleen wie een ontvangstbevestiging kreeg).",
        f"Overgeslagen, wacht niet (meer) op acceptatie: WB-{partner.id}.",
    ]
    notices = _notices(captured_mail)
    assert sorted(str(m["To"]) for m in notices) == [STRANGERS[0], STRANGERS[1]]
    keys = sorted(
        e.key for e in await world.effects(ChannelName.MAIL) if e.key.startswith("notice/")
    )
    assert keys == sorted(f"notice/item/{item.id}/rejected/1" for item in flood[:2])
    for mail in notices:
        assert "Reden: spam" in _text(mail)
    statuses = {item.title: item.status for item in await world.items()}
    assert statuses == {**{item.title: ItemStatus.REJECTED for item in flood},
                        "Jaarverslag": ItemStatus.FILED}  # fmt: skip


def _numbers(ids: list[int]) -> str:
    return runs_text(runs(ids))
