"""The overall hourly limit on receipts to senders outside the partners (security finding 1).

A spammer forging many From addresses must not make Wijkbode send a receipt to
each (backscatter). Through the real path: mail over SMTP into Dovecot, the intake
over IMAP, receipts through the real SMTP channel to the relay, which captures them.
Every mail is still filed; only receipts beyond the limit stay home, and a partner's
receipt never waits on the others.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from mailintake import PARTNER, PROCESSED, MailWorld, meetings_from_now, message, open_world

from daemon.ports.outbox import ChannelName, MailOut
from daemon.store.mail import MailOutcome
from harness.dovecot import DovecotServer, MailAccount
from harness.smtp import CaptureView, SmtpRelay

LIMIT = 3
# Five senders outside the partners, each once (so the per-sender limit plays no part),
# from different domains: the limit is on all of them together.
STRANGERS = [f"bewoner{n}@elders{n % 2}.test" for n in range(5)]


@pytest_asyncio.fixture
async def world(
    tmp_path: Path, dovecot: DovecotServer, smtp_relay: SmtpRelay, mailbox_user: MailAccount
) -> AsyncIterator[MailWorld]:
    opened = await open_world(
        tmp_path, dovecot, smtp_relay, mailbox_user, meetings_from_now(20, 60),
        limits=f"receipts_per_hour_outside_partners = {LIMIT}",
    )  # fmt: skip
    yield opened
    await opened.close()


async def test_receipts_to_senders_outside_the_partners_stop_at_the_hourly_limit(
    world: MailWorld, captured_mail: CaptureView, caplog: pytest.LogCaptureFixture
) -> None:
    for n, stranger in enumerate(STRANGERS):
        raw = message(sender=stranger, to=world.account.address, subject=f"Bankje {n}")
        await world.deliver(raw, stranger)
    # The partner's mail comes last, after the limit is reached: it still gets its receipt.
    await world.deliver(message(to=world.account.address, subject="Jaarverslag"))
    with caplog.at_level(logging.INFO, logger="wijkbode.mail"):
        await world.run_once()
    await world.send_receipts()

    # Nothing lost: six mails, six items, each filed and moved out of the inbox.
    titles = sorted(item.title for item in await world.items())
    assert titles == sorted([f"Bankje {n}" for n in range(5)] + ["Jaarverslag"])
    async with world.store.reading() as tx:
        handled = await tx.handled_mails()
    assert [h.outcome for h in handled] == [MailOutcome.FILED] * 6
    assert world.folder_counts()[PROCESSED] == 6

    # Three receipts to the first three strangers, one to the partner; none to the rest.
    effects = await world.effects(ChannelName.MAIL)
    receivers = sorted(to for e in effects if isinstance(e.payload, MailOut) for to in e.payload.to)
    assert receivers == sorted([*STRANGERS[:LIMIT], PARTNER])
    await captured_mail.wait_for(lambda m: PARTNER in str(m["To"]))
    for stranger in STRANGERS[:LIMIT]:
        await captured_mail.wait_for(lambda m, s=stranger: s in str(m["To"]))
    sent_to = {str(m["To"]) for m in captured_mail.messages()}
    assert not any(stranger in to for stranger in STRANGERS[LIMIT:] for to in sent_to)

    # The operator sees why, once per mail held back, without an address.
    held = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "receipts_per_hour_outside_partners" in r.getMessage()
    ]
    assert len(held) == len(STRANGERS) - LIMIT
    assert not any("@" in line for line in held)
