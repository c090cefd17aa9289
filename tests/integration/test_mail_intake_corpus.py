"""Every real-world mail of the imap-tools corpus, delivered over SMTP, is filed or quarantined.

None is lost (the inbox ends empty and every mail is in one of our folders),
none is filed twice, and the intake does not crash on any of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from mailintake import PROCESSED, QUARANTINE, MailWorld, meetings_from_now, open_world

from daemon.store.mail import MailOutcome
from harness.dovecot import DovecotServer, MailAccount
from harness.smtp import SmtpRelay

SENDER = "corpus@elders.test"


@pytest_asyncio.fixture
async def world(
    tmp_path: Path, dovecot: DovecotServer, smtp_relay: SmtpRelay, mailbox_user: MailAccount
) -> AsyncIterator[MailWorld]:
    opened = await open_world(tmp_path, dovecot, smtp_relay, mailbox_user, meetings_from_now(20))
    yield opened
    await opened.close()


async def test_every_corpus_mail_is_filed_or_quarantined_and_none_is_lost(
    world: MailWorld, shared_dir: Path
) -> None:
    corpus = sorted((shared_dir / "corpus" / "mail-imap-tools").rglob("*.eml"))
    assert len(corpus) >= 100
    for path in corpus:
        await world.deliver(path.read_bytes(), SENDER)

    await world.run_once()

    async with world.store.reading() as tx:
        handled = await tx.handled_mails()
        quarantined = await tx.quarantined()
    outcomes = Counter(mail.outcome for mail in handled)
    assert len(handled) == len(corpus)
    # The corpus holds a few copies of one mail (the same Message-ID and the same content
    # once trace fields are left out): each copy after the first is a repeat of it.
    filed_ids = {m.message_id for m in handled if m.outcome is MailOutcome.FILED}
    repeats = [m for m in handled if m.outcome is MailOutcome.REPEAT]
    assert all(m.message_id in filed_ids for m in repeats)
    assert len(repeats) < 10
    assert outcomes[MailOutcome.FILED] + outcomes[MailOutcome.QUARANTINED] + len(repeats) == len(
        corpus
    )
    assert len(await world.items()) == outcomes[MailOutcome.FILED]
    assert len(quarantined) == outcomes[MailOutcome.QUARANTINED]
    assert all(entry.reason for entry in quarantined)
    counts = world.folder_counts()
    assert counts["INBOX"] == 0
    assert counts[PROCESSED] == outcomes[MailOutcome.FILED] + len(repeats)
    assert counts.get(QUARANTINE, 0) == outcomes[MailOutcome.QUARANTINED]
