"""Mail that cannot be understood goes to quarantine with its reason, and can be tried again.

Dovecot adds trace headers to everything it receives, so "not a mail at all"
cannot arrive over SMTP; what can is MIME nested thousands of levels deep (the
parser refuses it) and a mail that takes longer to parse than the time limit
(here a test-only limit of 50 ms, on mail nested 800 levels deep, which takes some 300 ms).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from clitools import wijkbode
from mailintake import (
    PARTNER,
    PARTNER_VERIFIED,
    PROCESSED,
    QUARANTINE,
    MailWorld,
    meetings_from_now,
    open_world,
)

from daemon.model import ItemStatus
from daemon.ports.outbox import ChannelName, ChatPost
from daemon.store.mail import MailOutcome, QuarantineStatus
from harness.dovecot import DovecotServer, MailAccount
from harness.smtp import CaptureView, SmtpRelay

SLOW_LIMIT = 0.05  # seconds: the parse of NESTED_SLOW takes longer than this


def nested(depth: int, to: str) -> bytes:
    """A mail whose MIME parts nest ``depth`` levels deep, a text at the bottom."""
    head = (
        f"Authentication-Results: {PARTNER_VERIFIED}\r\n"  # our server's, on top
        f"From: Gemeente <{PARTNER}>\r\nTo: {to}\r\nSubject: [stuk] Diep genest\r\n"
        f"Message-ID: <diep-{depth}@gemeente.test>\r\nMIME-Version: 1.0\r\n"
    ).encode()
    opening = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
        for i in range(depth)
    )
    closing = b"".join(b"--b%d--\r\n" % i for i in reversed(range(depth)))
    return head + opening + b"Content-Type: text/plain\r\n\r\nDe notitie.\r\n" + closing


@pytest_asyncio.fixture
async def world(
    tmp_path: Path, dovecot: DovecotServer, smtp_relay: SmtpRelay, mailbox_user: MailAccount
) -> AsyncIterator[MailWorld]:
    opened = await open_world(tmp_path, dovecot, smtp_relay, mailbox_user, meetings_from_now(20))
    yield opened
    await opened.close()


def cli(world: MailWorld, *args: str) -> str:
    result = wijkbode("--config", str(world.config.path), *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


async def test_malformed_mime_is_quarantined_listed_and_the_sender_told(
    world: MailWorld, captured_mail: CaptureView
) -> None:
    await world.deliver(nested(3000, world.account.address))
    await world.run_once()
    await world.send_receipts()
    receipt = await captured_mail.wait_for(lambda m: PARTNER in str(m["To"]))

    async with world.store.reading() as tx:
        [entry] = await tx.quarantined()
        [handled] = await tx.handled_mails()
    assert (handled.outcome, handled.item_id) == (MailOutcome.QUARANTINED, None)
    assert entry.reason.startswith("too_deep")
    assert (entry.sender, entry.subject) == (PARTNER, "[stuk] Diep genest")
    assert await world.items() == []
    assert (world.folder_counts()["INBOX"], world.folder_counts()[QUARANTINE]) == (0, 1)
    assert str(receipt["Subject"]) == (
        "Ontvangen, niet gelezen / Received, not read: [stuk] Diep genest"
    )
    assert receipt["Auto-Submitted"] == "auto-replied"
    [post] = await world.effects(ChannelName.MATRIX)
    assert post.key == f"mail/quarantine/{entry.id}/post"
    assert isinstance(post.payload, ChatPost)
    assert "quarantine retry" in post.payload.body
    listed = cli(world, "quarantine")
    assert f"{entry.id:>4}" in listed
    assert "too_deep" in listed


async def test_a_parse_past_the_time_limit_is_retried_then_quarantined_and_can_be_retried(
    world: MailWorld,
) -> None:
    """Three attempts (each killing its worker), quarantine; after ``quarantine retry`` and
    with a sane limit again, the running intake moves it back and files it."""
    world.parser.timeout = SLOW_LIMIT
    await world.deliver(nested(800, world.account.address))
    await world.run_once()

    async with world.store.reading() as tx:
        [entry] = await tx.quarantined()
    assert entry.reason == f"timeout: not parsed within {SLOW_LIMIT:g} s"
    assert world.parser.replaced == 3
    assert world.folder_counts()[QUARANTINE] == 1

    assert "zet de mail terug in de inbox" in cli(world, "quarantine", "retry", str(entry.id))
    world.parser.timeout = 20.0
    await world.run_once()

    [item] = await world.items()
    assert (item.title, item.status) == ("Diep genest", ItemStatus.FILED)
    async with world.store.reading() as tx:
        retried = await tx.quarantined_mail(entry.id)
    assert retried is not None
    assert retried.status is QuarantineStatus.RETRIED
    counts = world.folder_counts()
    assert (counts["INBOX"], counts[QUARANTINE], counts[PROCESSED]) == (0, 0, 1)


async def test_retry_of_an_unknown_quarantine_id_is_refused(world: MailWorld) -> None:
    result = wijkbode("--config", str(world.config.path), "quarantine", "retry", "99")
    assert (result.returncode, "bestaat niet" in result.stderr) == (2, True)
