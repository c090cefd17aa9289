"""Mail intake end to end, for mail that tests the edges: a date tag for another series'
meeting, forged senders, the same mail delivered twice, one PDF under five names.

Mail goes over SMTP to the harness relay, into Dovecot over LMTP (which adds its own
trace fields), and is read by the intake over IMAP; receipts leave through the real
SMTP channel and are captured by the relay.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest_asyncio
from clitools import wijkbode
from mailintake import (
    AUTHSERV_ID,
    PDF,
    PROCESSED,
    STRANGER,
    MailWorld,
    local_text,
    meetings_from_now,
    message,
    open_world,
)

from daemon.model import ItemStatus
from daemon.ports.outbox import ChannelName, MailOut
from daemon.store.mail import MailOutcome
from harness.dovecot import DovecotServer, MailAccount
from harness.smtp import CaptureView, SmtpRelay

PASSED = (
    f"{AUTHSERV_ID}; spf=pass smtp.mailfrom=gemeente.test; dmarc=pass header.from=gemeente.test"
)
FAILED = (
    f"{AUTHSERV_ID}; spf=fail smtp.mailfrom=gemeente.test; dkim=none;"
    " dmarc=fail (p=reject) header.from=gemeente.test"
)
# Wijkalliantie in 20 and 60 days; the kerngroep in 27, 34 (cancelled) and 41 days.
ALLIANTIE = meetings_from_now(20, 60)
KERNGROEP = meetings_from_now(27, 34, 41)


def day(moment: datetime) -> str:
    return moment.date().isoformat()


KERNGROEP_SERIES = f"""
[series.kerngroep]
title = "Kerngroep"
duration = "1h30m"

[series.kerngroep.plan]
dates = [{", ".join(local_text(m) for m in KERNGROEP)}]
cancelled = [{day(KERNGROEP[1])}]
"""


@pytest_asyncio.fixture
async def world(
    tmp_path: Path, dovecot: DovecotServer, smtp_relay: SmtpRelay, mailbox_user: MailAccount
) -> AsyncIterator[MailWorld]:
    opened = await open_world(
        tmp_path, dovecot, smtp_relay, mailbox_user, ALLIANTIE, series=KERNGROEP_SERIES
    )
    yield opened
    await opened.close()


async def receipts(world: MailWorld) -> list[MailOut]:
    found = [e.payload for e in await world.effects(ChannelName.MAIL)]
    assert all(isinstance(p, MailOut) for p in found)
    return [p for p in found if isinstance(p, MailOut)]


def agenda_json(world: MailWorld, tmp_path: Path, meeting: str | None = None) -> dict[str, object]:
    args = ["--config", str(tmp_path / "wijkbode.toml"), "agenda"]
    result = wijkbode(*args, *([meeting] if meeting else []), "--json")
    assert result.returncode == 0, result.stderr
    agenda: dict[str, object] = json.loads(result.stdout)
    return agenda


# --- 4. a date tag for another series' meeting ----------------------------------------


async def test_a_date_tag_naming_a_kerngroep_meeting_files_it_there(
    world: MailWorld, captured_mail: CaptureView
) -> None:
    """``[<date>]`` alone, the date of a kerngroep meeting: filed on that meeting (not on the
    wijkalliantie's next one), and the receipt names it."""
    subject = f"[stuk] [{day(KERNGROEP[0])}] Notitie buurthuis"
    auth = [("Authentication-Results", PASSED)]
    raw = message(to=world.account.address, subject=subject, headers=auth)
    await world.deliver(raw)
    await world.run_once()

    [item] = await world.items()
    assert item.meeting == f"kerngroep-{day(KERNGROEP[0])}"
    assert (item.status, item.late) == (ItemStatus.FILED, False)
    [receipt] = await receipts(world)
    assert "Vergadering: Kerngroep, " in receipt.text
    assert "de datum die u gaf" not in receipt.text


async def test_a_date_tag_naming_no_meeting_or_a_cancelled_one_is_told_plainly(
    world: MailWorld,
) -> None:
    nothing_then = meetings_from_now(45)[0]
    auth = [("Authentication-Results", PASSED)]
    for subject in (
        f"[stuk] [{day(nothing_then)}] Geen vergadering",
        f"[agendapunt] [{day(KERNGROEP[1])}] Afgelast",
    ):
        await world.deliver(message(to=world.account.address, subject=subject, headers=auth))
    await world.run_once()

    nowhere, cancelled = await world.items()
    assert nowhere.meeting == f"wijkalliantie-{day(ALLIANTIE[0])}"
    assert cancelled.meeting == f"kerngroep-{day(KERNGROEP[2])}"
    assert cancelled.moved_from == f"kerngroep-{day(KERNGROEP[1])}"
    first, second = await receipts(world)
    assert "de datum die u gaf, is geen vergadering gepland" in first.text
    assert "the date you gave, so it went to the first meeting that can take it" in first.text
    assert "Vergadering: Wijkalliantie, " in first.text
    assert " is afgelast; daarom is het naar de volgende vergadering gegaan." in second.text
    assert "Vergadering: Kerngroep, " in second.text


# --- 5a. forged senders get no receipt --------------------------------------------------


async def test_a_forged_partner_gets_no_receipt_and_waits_flagged_possibly_forged(
    world: MailWorld, captured_mail: CaptureView, tmp_path: Path
) -> None:
    """RFC 3834 §2: mail that failed DMARC at our server gets no answer (it would go to the
    forged address). It waits for acceptance, flagged with the failing result in the room
    post and in ``agenda --json``."""
    forged = message(
        to=world.account.address,
        subject="[stuk] Betaal deze factuur",
        headers=[("Authentication-Results", FAILED)],
    )
    await world.deliver(forged)
    await world.run_once()
    await world.send_receipts()

    [item] = await world.items()
    assert item.status is ItemStatus.AWAITING_ACCEPTANCE
    assert item.auth_failure == "dmarc=fail (gemeente.test)"  # DMARC's verdict decides
    assert await world.effects(ChannelName.MAIL) == []
    assert captured_mail.messages() == []
    async with world.store.reading() as tx:
        [entry] = await tx.waiting_feed_entries()
    assert "MOGELIJK VERVALST (onze mailserver: dmarc=fail (gemeente.test))" in entry.post.body
    [shown] = agenda_json(world, tmp_path)["items"]  # type: ignore[misc]
    assert (shown["id"], shown["possibly_forged"]) == (item.id, "dmarc=fail (gemeente.test)")
    assert shown["status"] == "awaiting_acceptance"


# --- 5b. a version by a forged From (docs/security.md, findings 2 and 3) ----------------


async def test_a_forged_version_from_a_non_partner_waits_as_a_new_item_a_verified_one_lands(
    world: MailWorld,
) -> None:
    """A resident's domain publishes no DMARC: anyone can send as them, and may write
    ``spf=pass``/``dkim=pass``/``dmarc=pass`` naming our server below the header our server
    puts on top. That mail is filed as a new item awaiting acceptance, whose post names the
    item it resembles; the resident's own version, which our server verified, lands."""

    async def send(ours: str, subject: str, pdf: bytes, forged: str | None = None) -> None:
        written = [("Authentication-Results", forged)] if forged else []
        raw = message(
            sender=STRANGER, to=world.account.address, subject=subject,
            attachments=[("bankjes.pdf", pdf)], headers=written,
        )  # fmt: skip
        # Our server prepends its verdict above everything the sender wrote.
        await world.deliver(f"Authentication-Results: {ours}\r\n".encode() + raw, STRANGER)
        await world.run_once()

    verified = f"{AUTHSERV_ID}; dkim=pass header.d=elders.test; dmarc=none header.from=elders.test"
    await send(verified, "[stuk] Bankjes", PDF)
    [first] = await world.items()
    forged_pdf = PDF.replace(b"1 0 obj", b"6 6 obj")
    await send(
        f"{AUTHSERV_ID}; spf=none smtp.mailfrom=elders.test; dkim=none;"
        " dmarc=none header.from=elders.test",
        f"Re: [WB-{first.id}] Bankjes",
        forged_pdf,
        forged=f"{AUTHSERV_ID}; spf=pass smtp.mailfrom=elders.test; dkim=pass"
        " header.d=elders.test; dmarc=pass header.from=elders.test",
    )
    genuine_pdf = PDF.replace(b"1 0 obj", b"2 0 obj")
    await send(
        f"{AUTHSERV_ID}; spf=pass smtp.mailfrom=elders.test; dkim=none;"
        " dmarc=none header.from=elders.test",
        f"Re: [WB-{first.id}] Bankjes",
        genuine_pdf,
    )

    original, forgery = await world.items()
    assert original.id == first.id
    assert await world.store.documents.get(original.documents[0].sha256) == genuine_pdf
    assert forgery.status is ItemStatus.AWAITING_ACCEPTANCE
    assert await world.store.documents.get(forgery.documents[0].sha256) == forged_pdf
    async with world.store.reading() as tx:
        assert [d.filename for d in await tx.documents_of(original.id, 1)] == ["bankjes.pdf"]
        outcomes = [m.outcome for m in await tx.handled_mails()]
        posts = {e.item_id: e.post.body for e in await tx.waiting_feed_entries()}
    assert outcomes == [MailOutcome.FILED, MailOutcome.FILED, MailOutcome.VERSION]
    assert (
        f"Lijkt een nieuwe versie van WB-{original.id}, maar onze mailserver heeft het adres"
        " van de afzender niet geverifieerd" in posts[forgery.id]
    )
    assert "Lijkt een nieuwe versie" not in posts[original.id]


# --- 8a. the same mail delivered twice ---------------------------------------------------


async def test_the_same_mail_delivered_twice_is_one_item_and_one_receipt(
    world: MailWorld, captured_mail: CaptureView
) -> None:
    """The sender's server retried (or the mail went to two of our aliases): Dovecot gives each
    copy its own Received, Delivered-To and Return-Path, and that does not make two items.
    Other text under the same Message-ID still does."""
    auth = [("Authentication-Results", PASSED)]
    raw = message(
        to=world.account.address, subject="[agendapunt] Bankjes", headers=auth,
        message_id="<bankjes-1@gemeente.test>",
    )  # fmt: skip
    other = message(
        to=world.account.address, subject="[agendapunt] Bankjes", headers=auth,
        message_id="<bankjes-1@gemeente.test>", text="Nu met een andere tekst.\n",
    )  # fmt: skip
    await world.deliver(raw)
    await world.deliver(raw)
    await world.deliver(other)
    await world.run_once()
    await world.send_receipts()

    items = await world.items()
    assert [i.title for i in items] == ["Bankjes", "Bankjes"]
    assert [i.text for i in items] == ["Bijgaand het stuk.", "Nu met een andere tekst."]
    async with world.store.reading() as tx:
        handled = await tx.handled_mails()
    assert [h.outcome for h in handled] == [
        MailOutcome.FILED, MailOutcome.REPEAT, MailOutcome.FILED,
    ]  # fmt: skip
    assert [r.in_reply_to for r in await receipts(world)] == ["<bankjes-1@gemeente.test>"] * 2
    assert len(captured_mail.messages()) == 1  # one per pass per address; the other waits
    assert world.folder_counts()[PROCESSED] == 3


# --- 6. one PDF under five names ---------------------------------------------------------


async def test_one_pdf_under_five_names_is_five_documents_everywhere(
    world: MailWorld, tmp_path: Path
) -> None:
    names = [f"bijlage-{n}.pdf" for n in range(1, 6)]
    raw = message(
        to=world.account.address,
        subject="[stuk] Vijf keer hetzelfde",
        headers=[("Authentication-Results", PASSED)],
        attachments=[(name, PDF) for name in names],
    )
    await world.deliver(raw)
    await world.run_once()

    [item] = await world.items()
    assert [d.filename for d in item.documents] == names
    assert len({d.sha256 for d in item.documents}) == 1
    [receipt] = await receipts(world)
    assert "Opgeslagen stukken: " + ", ".join(f"“{n}”" for n in names) + "." in receipt.text
    async with world.store.reading() as tx:
        [entry] = await tx.waiting_feed_entries()
    assert [d.filename for d in entry.post.documents] == names
    [shown] = agenda_json(world, tmp_path)["items"]  # type: ignore[misc]
    assert shown["documents"] == names
