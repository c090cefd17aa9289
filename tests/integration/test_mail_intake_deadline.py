"""A stuk received at exactly its deadline is on time; one second later it is late.

"Received" is our IMAP server's INTERNALDATE, which we cannot choose. So the
mail is delivered first, its INTERNALDATE read back over IMAP, and only then
is the plan made: a meeting whose stuk deadline (14 days before, same local
clock time) is exactly that instant, or one second before it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from mailintake import TZ, config_text, message, open_world

from connectors.imap import ImapMailSource
from daemon.config import parse_config
from daemon.model import Kind
from daemon.rules.moments import localize
from harness.dovecot import DovecotServer, MailAccount
from harness.smtp import SmtpRelay


async def internaldate_of_the_only_mail(
    tmp_path: Path, dovecot: DovecotServer, relay: SmtpRelay, account: MailAccount
) -> datetime:
    secrets_dir = tmp_path / "probe"
    secrets_dir.mkdir()
    text = config_text(dovecot, relay, account, secrets_dir, [datetime.now(TZ)])
    config = parse_config(text, tmp_path / "probe.toml")
    assert config.mail is not None
    source = ImapMailSource(config.mail.imap)
    await source.connect()
    try:
        [mail] = await source.fetch_after(0, limit=10)
    finally:
        await source.close()
    return mail.internaldate


def meeting_whose_stuk_deadline_is(instant: datetime) -> datetime:
    """The meeting 14 calendar days later at the same local clock time (RULES.md ``14d``)."""
    local = instant.astimezone(TZ).replace(tzinfo=None)
    return localize(local + timedelta(days=14), TZ)


@pytest.mark.parametrize(("shift_seconds", "late"), [(0, False), (-1, True)])
async def test_stuk_at_the_deadline_instant_is_on_time_and_a_second_after_it_is_late(
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_relay: SmtpRelay,
    mailbox_user: MailAccount,
    shift_seconds: int,
    late: bool,
) -> None:
    await smtp_relay.deliver(
        message(to=mailbox_user.address, subject="[stuk] Precies op tijd"),
        "ambtenaar@gemeente.test",
        [mailbox_user.address],
    )
    received = await internaldate_of_the_only_mail(tmp_path, dovecot, smtp_relay, mailbox_user)
    meeting = meeting_whose_stuk_deadline_is(received) + timedelta(seconds=shift_seconds)
    later = meeting + timedelta(days=42)
    world = await open_world(tmp_path, dovecot, smtp_relay, mailbox_user, [meeting, later])
    try:
        await world.run_once()
        [item] = await world.items()
    finally:
        await world.close()

    assert item.kind is Kind.STUK
    assert item.received_at == received
    expected = later if late else meeting
    assert (item.meeting, item.late) == (f"wijkalliantie-{expected.date().isoformat()}", late)
