"""Mail intake end to end: mail delivered over SMTP into Dovecot becomes exactly one item.

Each test has its own mailbox user and state directory; the intake runs in
this process against the harness' real Dovecot (IMAP over STARTTLS) and the
receipts leave through the real SMTP channel to the relay, which captures them.
"""

from __future__ import annotations

import email.policy
from collections.abc import AsyncIterator
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest_asyncio
from mailintake import (
    AUTHSERV_ID,
    PARTNER,
    PARTNER_VERIFIED,
    PDF,
    PROCESSED,
    STRANGER,
    MailWorld,
    meetings_from_now,
    message,
    open_world,
)

from daemon.model import ItemStatus, Kind
from daemon.ports.outbox import ChannelName, MailOut
from daemon.safe_text import WORD_JOINER
from daemon.store.mail import MailOutcome
from harness.dovecot import DovecotServer, MailAccount
from harness.smtp import CaptureView, SmtpRelay

# The partner's server signs with DKIM and passes DMARC; ours says so.
PASSED = (
    f"{AUTHSERV_ID}; spf=pass smtp.mailfrom=gemeente.test; dmarc=pass header.from=gemeente.test"
)


@pytest_asyncio.fixture
async def world(
    tmp_path: Path, dovecot: DovecotServer, smtp_relay: SmtpRelay, mailbox_user: MailAccount
) -> AsyncIterator[MailWorld]:
    """Meetings in 20 and 60 days: a stuk sent now is on time for the first."""
    opened = await open_world(
        tmp_path, dovecot, smtp_relay, mailbox_user, meetings_from_now(20, 60),
        limits="max_attachment_bytes = 100000",
    )  # fmt: skip
    yield opened
    await opened.close()


def parsed(raw: bytes) -> EmailMessage:
    mail = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(mail, EmailMessage)
    return mail


def receipts_to(captured: CaptureView, address: str) -> list[EmailMessage]:
    return [m for m in captured.messages() if address in str(m["To"])]


async def test_dutch_subject_in_encoded_words_is_filed_once_with_one_threaded_receipt(
    world: MailWorld, captured_mail: CaptureView
) -> None:
    """é, ë and cp1252 smart quotes in RFC 2047 words; the receipt goes out once, threaded."""
    raw = (
        f"From: Gemeente <{PARTNER}>\r\nTo: {world.account.address}\r\n"
        "Subject: [stuk] =?iso-8859-1?q?Caf=E9_de_Wijk_ge=EBvalueerd,_co=F6peratie?=\r\n"
        " =?windows-1252?q?_=93Groen=94?=\r\n"
        "Message-ID: <groen-1@gemeente.test>\r\nReferences: <eerder@gemeente.test>\r\n"
        f"Authentication-Results: {PASSED}\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Graag op de agenda.\r\n"
    ).encode()
    await world.deliver(raw)

    await world.run_once()
    await world.send_receipts()
    receipt = await captured_mail.wait_for(lambda m: PARTNER in str(m["To"]))
    await world.run_once()  # nothing new: no second item, no second receipt
    await world.send_receipts()

    [item] = await world.items()
    assert (item.title, item.kind, item.status) == (
        "Café de Wijk geëvalueerd, coöperatie “Groen”", Kind.STUK, ItemStatus.FILED,
    )  # fmt: skip
    assert receipts_to(captured_mail, PARTNER) == [receipt]
    assert str(receipt["Subject"]) == (
        "Ontvangen / Received: Café de Wijk geëvalueerd, coöperatie “Groen” [WB-1]"
    )
    assert receipt["In-Reply-To"] == "<groen-1@gemeente.test>"
    assert receipt["References"] == "<eerder@gemeente.test> <groen-1@gemeente.test>"
    assert receipt["Auto-Submitted"] == "auto-replied"
    body = receipt.get_body(("plain",))
    assert body is not None
    assert "Dank voor uw mail. We hebben die geregistreerd onder nummer WB-1" in body.get_content()
    assert world.folder_counts()["INBOX"] == 0
    assert world.folder_counts()[PROCESSED] == 1


async def test_core_room_post_is_queued_with_the_sender_text_escaped(world: MailWorld) -> None:
    """The post waits on the room feed (one post, or a digest after a burst), escaped."""
    raw = message(
        to=world.account.address,
        subject="<b>Let op</b> @room [agendapunt]",
        headers=[("Authentication-Results", PASSED)],
    )
    await world.deliver(raw)
    await world.run_once()

    async with world.store.reading() as tx:
        [entry] = await tx.waiting_feed_entries()
    assert (entry.key, entry.item_id) == ("item/1/post", 1)
    assert entry.post.body.splitlines()[:2] == [
        f"Nieuwe inzending WB-1 (agendapunt): <b>Let op</b> @{WORD_JOINER}room",
        f"Van: {PARTNER.replace('@', '@' + WORD_JOINER)} (Gemeente)",
    ]
    assert "&lt;b&gt;Let op&lt;/b&gt;" in entry.post.html
    assert "<b>Let op" not in entry.post.html
    assert await world.effects(ChannelName.MATRIX) == []  # the feed enqueues it, once


async def test_html_only_mail_from_outlook_becomes_plain_text(world: MailWorld) -> None:
    raw = (
        f'From: "Jansen, Piet" <{PARTNER}>\r\nTo: {world.account.address}\r\n'
        "Subject: Speeltuin Meeuwenlaan\r\nMessage-ID: <outlook-1@gemeente.test>\r\n"
        "X-Mailer: Microsoft Outlook 16.0\r\nThread-Index: AdlXyZ1234567890abcdef==\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: text/html; charset="windows-1252"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        '<html xmlns:o=3D"urn:schemas-microsoft-com:office:office"><head><style>p.MsoNormal=\r\n'
        "{margin:0}</style></head><body><p class=3DMsoNormal>Beste kerngroep,</p>=\r\n"
        "<p class=3DMsoNormal>Graag bespreken we de <b>speeltuin</b> op de Meeuwenlaan =96 =\r\n"
        "zie hieronder.</p><script>alert(1)</script></body></html>\r\n"
    ).encode()
    await world.deliver(raw)
    await world.run_once()

    [item] = await world.items()
    assert (item.kind, item.title) == (Kind.AGENDAPUNT, "Speeltuin Meeuwenlaan")
    assert "Beste kerngroep," in item.text
    assert "Graag bespreken we de speeltuin op de Meeuwenlaan – zie hieronder." in item.text
    for markup in ("<", "MsoNormal", "alert", "margin"):
        assert markup not in item.text


async def test_forwarded_stuk_is_filed_with_its_attachment_content_addressed(
    world: MailWorld,
) -> None:
    raw = message(
        to=world.account.address,
        subject="Doorst: Notitie wijkbudget",
        text="-----Oorspronkelijk bericht-----\nVan: collega\nOnderwerp: Notitie wijkbudget\n",
        attachments=[("notitie.pdf", PDF)],
    )
    await world.deliver(raw)
    await world.run_once()

    [item] = await world.items()
    assert (item.kind, item.title) == (Kind.STUK, "Notitie wijkbudget")
    [document] = item.documents
    assert (document.filename, document.size) == ("notitie.pdf", len(PDF))
    assert await world.store.documents.get(document.sha256) == PDF


async def test_reply_to_the_receipt_adds_version_2_to_the_same_item(
    world: MailWorld, captured_mail: CaptureView
) -> None:
    first = message(
        to=world.account.address,
        subject="[stuk] Begroting",
        attachments=[("begroting.pdf", PDF)],
        message_id="<begroting-1@gemeente.test>",
    )
    await world.deliver(first)
    await world.run_once()
    await world.send_receipts()
    receipt = await captured_mail.wait_for(lambda m: PARTNER in str(m["To"]))

    second_pdf = PDF.replace(b"1 0 obj", b"2 0 obj")
    reply = message(
        to=world.account.address,
        subject=f"Re: {receipt['Subject']}",
        attachments=[("begroting-v2.pdf", second_pdf)],
        headers=[
            ("In-Reply-To", str(receipt["Message-ID"])),
            ("References", f"<begroting-1@gemeente.test> {receipt['Message-ID']}"),
        ],
    )
    await world.deliver(reply)
    await world.run_once()
    await world.send_receipts()
    second = await captured_mail.wait_for(
        lambda m: PARTNER in str(m["To"]) and m["Message-ID"] != receipt["Message-ID"]
    )

    [item] = await world.items()
    async with world.store.reading() as tx:
        first_version = await tx.documents_of(item.id, 1)
    assert [d.filename for d in first_version] == ["begroting.pdf"]
    assert [d.filename for d in item.documents] == ["begroting-v2.pdf"]
    assert await world.store.documents.get(item.documents[0].sha256) == second_pdf
    body = second.get_body(("plain",))
    assert body is not None
    assert "als versie 2 toegevoegd aan inzending WB-1" in body.get_content()
    async with world.store.reading() as tx:
        outcomes = [m.outcome for m in await tx.handled_mails()]
    assert outcomes == [MailOutcome.FILED, MailOutcome.VERSION]


async def test_late_stuk_moves_to_the_next_meeting_and_the_sender_is_told_why(
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_relay: SmtpRelay,
    mailbox_user: MailAccount,
    captured_mail: CaptureView,
) -> None:
    """The first meeting is in 10 days: its stuk deadline (14 days before) has passed."""
    soon, later = meetings_from_now(10, 60)
    world = await open_world(tmp_path, dovecot, smtp_relay, mailbox_user, [soon, later])
    try:
        await world.deliver(message(to=world.account.address, subject="[stuk] Te laat"))
        await world.run_once()
        await world.send_receipts()
        receipt = await captured_mail.wait_for(lambda m: PARTNER in str(m["To"]))
        [item] = await world.items()
    finally:
        await world.close()
    assert (item.late, item.decision_ready) == (True, False)
    assert item.meeting == f"wijkalliantie-{later.date().isoformat()}"
    assert item.moved_from == f"wijkalliantie-{soon.date().isoformat()}"
    body = receipt.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "Uw stuk kwam binnen na de termijn van" in text
    assert "Het gaat daarom naar de volgende vergadering" in text
    assert "It therefore moves to the next meeting" in text


async def test_unknown_sender_awaits_acceptance_and_the_receipt_says_so(
    world: MailWorld, captured_mail: CaptureView
) -> None:
    await world.deliver(
        message(sender=STRANGER, to=world.account.address, subject="Bankjes"), STRANGER
    )
    await world.run_once()
    await world.send_receipts()
    receipt = await captured_mail.wait_for(lambda m: STRANGER in str(m["To"]))

    [item] = await world.items()
    assert item.status is ItemStatus.AWAITING_ACCEPTANCE
    body = receipt.get_body(("plain",))
    assert body is not None
    assert "Uw adres staat niet op de lijst van partners" in body.get_content()


async def test_partner_whose_mail_failed_dmarc_at_our_server_is_treated_as_unknown(
    world: MailWorld,
) -> None:
    spoofed = message(
        to=world.account.address,
        subject="Spoof",
        headers=[
            ("Authentication-Results", f"{AUTHSERV_ID}; spf=fail smtp.mailfrom=gemeente.test;"
             " dkim=none; dmarc=fail header.from=gemeente.test"),
        ],
    )  # fmt: skip
    # Another server's verdict does not count, in either direction: ours verified it.
    foreign_fail = message(
        to=world.account.address,
        subject="Echt",
        headers=[
            ("Authentication-Results", PARTNER_VERIFIED),
            ("Authentication-Results", "mx.elders.test; dmarc=fail header.from=gemeente.test"),
        ],
    )
    await world.deliver(spoofed)
    await world.deliver(foreign_fail)
    await world.run_once()

    statuses = {item.title: item.status for item in await world.items()}
    assert statuses == {"Spoof": ItemStatus.AWAITING_ACCEPTANCE, "Echt": ItemStatus.FILED}


async def test_auto_reply_and_bounce_are_filed_but_get_no_receipt(
    world: MailWorld, captured_mail: CaptureView
) -> None:
    out_of_office = message(
        to=world.account.address,
        subject="Afwezig: tot 5 januari",
        headers=[("Auto-Submitted", "auto-replied"), ("X-Autoreply", "yes")],
    )
    bounce = (
        f"From: Mail Delivery System <MAILER-DAEMON@gemeente.test>\r\n"
        f"To: {world.account.address}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce-1@gemeente.test>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nNot delivered.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.gemeente.test\r\n\r\nFinal-Recipient: rfc822; x@gemeente.test\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\n\r\n--b--\r\n"
    ).encode()
    await world.deliver(out_of_office)
    await world.deliver_from_null_sender(bounce)
    await world.run_once()
    await world.send_receipts()

    items = await world.items()
    assert [i.status for i in items] == [ItemStatus.AWAITING_ACCEPTANCE] * 2
    assert await world.effects(ChannelName.MAIL) == []
    assert captured_mail.messages() == []
    assert world.folder_counts()[PROCESSED] == 2


async def test_oversized_attachment_is_not_stored_and_the_sender_is_told(
    world: MailWorld, captured_mail: CaptureView
) -> None:
    big = PDF + b"0" * 150_000
    raw = message(
        to=world.account.address,
        subject="[stuk] Twee bijlagen",
        attachments=[("groot.pdf", big), ("klein.pdf", PDF)],
    )
    await world.deliver(raw)
    await world.run_once()
    await world.send_receipts()
    receipt = await captured_mail.wait_for(lambda m: PARTNER in str(m["To"]))

    [item] = await world.items()
    assert [d.filename for d in item.documents] == ["klein.pdf"]
    [row] = await world.effects(ChannelName.MAIL)
    assert isinstance(row.payload, MailOut)
    body = receipt.get_body(("plain",))
    assert body is not None
    assert (
        "Niet opgeslagen: “groot.pdf”: groter dan de grens van 100000 bytes per bestand."
        in body.get_content()
    )


async def test_path_traversal_filename_is_stored_by_hash_with_a_safe_display_name(
    world: MailWorld, tmp_path: Path
) -> None:
    raw = message(
        to=world.account.address,
        subject="[stuk] Kwaadaardig",
        attachments=[("../../../../etc/cron.d/evil.pdf", PDF)],
    )
    await world.deliver(raw)
    await world.run_once()

    [item] = await world.items()
    [document] = item.documents
    assert document.filename == "evil.pdf"
    stored = world.store.documents.path_of(document.sha256)
    assert stored.read_bytes() == PDF
    assert stored.is_relative_to(world.config.state_dir / "documents")
    assert [p for p in tmp_path.rglob("*") if p.name == "evil.pdf"] == []  # noqa: ASYNC240


async def test_mail_sent_to_our_plus_address_takes_the_kind_from_it(world: MailWorld) -> None:
    local, _, domain = world.account.address.partition("@")
    plus = f"{local}+tk@{domain}"
    await world.relay.deliver(message(to=plus, subject="Jaarverslag"), PARTNER, [plus])
    await world.run_once()

    [item] = await world.items()
    assert item.kind is Kind.TER_KENNISGEVING
