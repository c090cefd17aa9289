"""No personal data at the info level of the log (issue 13, point 6).

The mail intake runs against the real Dovecot and SMTP relay with the log captured at
INFO: a partner's mail filed with a receipt, a stranger's awaiting acceptance, an
out-of-office reply that gets no receipt, and a mail the parser refuses (quarantined).
Each log line names the mail (UIDVALIDITY/UID), the item or the quarantine id; none
names a sender. The log records' own text is checked, before the formatter's masking
(daemon/runtime/logs.py) that is the second line of defence.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from mailintake import PARTNER, STRANGER, MailWorld, meetings_from_now, message, open_world
from test_mail_intake_quarantine import nested

from harness.dovecot import DovecotServer, MailAccount
from harness.smtp import CaptureView, SmtpRelay

AWAY = "anna.de.vries@afwezig.test"


@pytest_asyncio.fixture
async def world(
    tmp_path: Path, dovecot: DovecotServer, smtp_relay: SmtpRelay, mailbox_user: MailAccount
) -> AsyncIterator[MailWorld]:
    opened = await open_world(tmp_path, dovecot, smtp_relay, mailbox_user, meetings_from_now(20))
    yield opened
    await opened.close()


async def test_mail_intake_logs_ids_and_no_addresses_at_info(
    world: MailWorld, captured_mail: CaptureView, caplog: pytest.LogCaptureFixture
) -> None:
    to = world.account.address
    await world.deliver(message(sender=PARTNER, to=to, subject="[stuk] Jaarverslag"))
    await world.deliver(message(sender=STRANGER, to=to, subject="[agendapunt] Bankjes"))
    away = message(
        sender=AWAY,
        to=to,
        subject="Afwezig: tot 5 januari",
        headers=[("Auto-Submitted", "auto-replied")],
    )
    await world.deliver(away, mail_from=AWAY)
    await world.deliver(nested(3000, to))

    with caplog.at_level(logging.INFO):
        await world.run_once()
        await world.send_receipts()
    await captured_mail.wait_for(lambda m: PARTNER in str(m["To"]))

    ours = ("wijkbode", "connectors", "daemon")  # not the harness' own SMTP server
    lines = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.INFO and r.name.startswith(ours)
    ]
    said = "\n".join(lines)
    assert "filed as item" in said, said  # the intake did log its events
    assert "quarantined as" in said, said
    assert "no receipt for" in said, said
    for person in (PARTNER, STRANGER, AWAY):
        assert person not in said, said
        assert person.split("@")[0] not in said, said
