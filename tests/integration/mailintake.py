"""Shared setup for the mail intake tests: a config on the harness servers, the intake in-process.

Mail is delivered the way real mail arrives: over SMTP to the harness relay,
which hands it to Dovecot over LMTP. The intake reads it over IMAP (STARTTLS,
certificate checked); receipts go out through the real SMTP channel and are
captured by the relay.
"""

from __future__ import annotations

import asyncio
import secrets
import smtplib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from zoneinfo import ZoneInfo

from imap_tools import MailBox

from connectors.imap import ImapMailSource, ResilientMailSource
from connectors.mail.worker import MailParser
from connectors.smtp import SmtpChannel
from daemon.backoff import Backoff
from daemon.clock import SystemClock
from daemon.config import Config, parse_config
from daemon.engine.outbox import Outbox
from daemon.engine.plan_sync import sync_plan
from daemon.mail import IntakeSettings, MailIntake
from daemon.model import Item
from daemon.ports.outbox import ChannelName, Effect
from daemon.store import Store
from harness.dovecot import DovecotServer, MailAccount
from harness.servers import SMTP_USER
from harness.smtp import SmtpRelay

TZ = ZoneInfo("Europe/Amsterdam")
AUTHSERV_ID = "mx.wijk.test"
PARTNER_DOMAIN = "gemeente.test"
PARTNER = f"ambtenaar@{PARTNER_DOMAIN}"
STRANGER = "iemand@elders.test"
PARTNER_VERIFIED = (
    f"{AUTHSERV_ID}; spf=pass smtp.mailfrom={PARTNER_DOMAIN}; dkim=pass header.d={PARTNER_DOMAIN};"
    f" dmarc=pass header.from={PARTNER_DOMAIN}"
)
CORE_ROOM = "!kerngroep:localhost"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PROCESSED = "Wijkbode/Verwerkt"
QUARANTINE = "Wijkbode/Quarantaine"


def local_text(moment: datetime) -> str:
    """A TOML local date-time in the deployment's zone (what a plan's ``dates`` holds)."""
    return moment.astimezone(TZ).replace(tzinfo=None).isoformat(timespec="seconds")


def config_text(
    dovecot: DovecotServer,
    relay: SmtpRelay,
    account: MailAccount,
    secrets_dir: Path,
    meetings: Sequence[datetime],
    *,
    limits: str = "",
    state_dir: str = "state",
    series: str = "",
) -> str:
    """A whole configuration for ``account`` on the harness servers, with these meetings
    (``series``: more ``[series.*]`` tables)."""
    imap_secret = secrets_dir / "imap.password"
    imap_secret.write_text(account.password, encoding="utf-8")
    smtp_secret = secrets_dir / "smtp.password"
    smtp_secret.write_text(relay.users[SMTP_USER], encoding="utf-8")
    assert dovecot.cert is not None
    assert relay.cert is not None
    dates = ", ".join(local_text(m) for m in meetings)
    return f"""\
timezone = "Europe/Amsterdam"
state_dir = "{state_dir}"
default_series = "wijkalliantie"

[series.wijkalliantie]
title = "Wijkalliantie"
duration = "2h"

[series.wijkalliantie.plan]
dates = [{dates}]
{series}
[[partners]]
name = "Gemeente"
domains = ["{PARTNER_DOMAIN}"]

[mail]
address = "{account.address}"
authserv_id = "{AUTHSERV_ID}"

[mail.imap]
host = "{dovecot.host}"
port = {dovecot.imap_port}
security = "starttls"
username = "{account.name}"
password_file = "{imap_secret}"
ca_file = "{dovecot.cert.cert_file}"
idle_renew_seconds = 30
poll_seconds = 5

[mail.smtp]
host = "{relay.host}"
port = {relay.port}
security = "starttls"
username = "{SMTP_USER}"
password_file = "{smtp_secret}"
ca_file = "{relay.cert.cert_file}"

[mail.limits]
{limits}
"""


def meetings_from_now(*days: float) -> list[datetime]:
    """Meetings this many days from now, on whole minutes."""
    now = datetime.now(TZ).replace(second=0, microsecond=0)
    return [now + timedelta(days=d) for d in days]


def message(
    *,
    sender: str = PARTNER,
    to: str,
    subject: str,
    text: str = "Bijgaand het stuk.\n",
    attachments: Sequence[tuple[str, bytes]] = (),
    headers: Sequence[tuple[str, str]] = (),
    message_id: str | None = None,
) -> bytes:
    """A mail as a mail client writes it (CRLF, encoded words for non-ASCII headers)."""
    mail = EmailMessage()
    if sender.rpartition("@")[2] == PARTNER_DOMAIN and not any(
        name.lower() == "authentication-results" for name, _ in headers
    ):
        # The verdict our mail server prepends to a partner's real mail (the config sets
        # authserv_id, and a partner counts only when our server verified it). The
        # harness's relay and Dovecot verify nothing, so the test mail carries it on top.
        mail["Authentication-Results"] = PARTNER_VERIFIED
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Message-ID"] = message_id or f"<{secrets.token_hex(8)}@{sender.rpartition('@')[2]}>"
    for name, value in headers:
        mail[name] = value
    mail.set_content(text)
    for filename, content in attachments:
        mail.add_attachment(content, maintype="application", subtype="pdf", filename=filename)
    return mail.as_bytes(policy=SMTP_POLICY)


@dataclass
class MailWorld:
    """The intake of one test: its config, store, IMAP source, parser and outbox."""

    config: Config
    store: Store
    source: ResilientMailSource
    parser: MailParser
    intake: MailIntake
    outbox: Outbox
    smtp: SmtpChannel
    account: MailAccount
    relay: SmtpRelay
    dovecot: DovecotServer

    async def deliver(self, raw: bytes, mail_from: str = PARTNER) -> None:
        """Send ``raw`` to our address over SMTP, as the outside world does."""
        await self.relay.deliver(raw, mail_from, [self.account.address])

    async def deliver_from_null_sender(self, raw: bytes) -> None:
        """A bounce: ``MAIL FROM:<>`` (aiosmtplib refuses an empty sender, smtplib does not)."""

        def send() -> None:
            with smtplib.SMTP(self.relay.host, self.relay.port, timeout=30) as client:
                client.starttls(context=self.relay.ssl_context())
                client.sendmail("", [self.account.address], raw)

        await asyncio.to_thread(send)

    async def run_once(self) -> None:
        await self.intake.run_once()

    async def send_receipts(self) -> None:
        """Let the mail dispatcher deliver what is due (through the real SMTP channel)."""
        await self.outbox.dispatchers[ChannelName.MAIL].deliver_ready()

    async def items(self) -> list[Item]:
        async with self.store.reading() as tx:
            found = [i for m in await tx.meetings() for i in await tx.items_for_meeting(m.id)]
            return sorted(found + await tx.items_without_meeting(), key=lambda i: i.id)

    async def effects(self, channel: ChannelName) -> list[Effect]:
        async with self.store.reading() as tx:
            return await tx.effects(channel)

    def folder_counts(self) -> dict[str, int]:
        return folder_counts(self.dovecot, self.account)

    async def close(self) -> None:
        await self.smtp.close()
        await self.source.close()
        await self.parser.close()
        await self.store.close()


async def open_world(
    tmp_path: Path,
    dovecot: DovecotServer,
    relay: SmtpRelay,
    account: MailAccount,
    meetings: Sequence[datetime],
    *,
    limits: str = "",
    parse_timeout: float | None = None,
    adjust: Callable[[IntakeSettings], IntakeSettings] | None = None,
    series: str = "",
) -> MailWorld:
    """Store, plan, IMAP source (connected, folders made), parser and outbox for one test."""
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir(exist_ok=True)
    text = config_text(dovecot, relay, account, secrets_dir, meetings, limits=limits, series=series)
    (tmp_path / "wijkbode.toml").write_text(text, encoding="utf-8")  # for the CLI
    config = parse_config(text, tmp_path / "wijkbode.toml")
    assert config.mail is not None
    store = await Store.open(config.state_dir)
    clock = SystemClock()
    await sync_plan(store, config, clock.now())
    settings = replace(IntakeSettings.from_config(config), core_room=CORE_ROOM)
    if adjust is not None:
        settings = adjust(settings)
    parser = MailParser(
        our_address=settings.our_address,
        limits=settings.limits,
        timeout=parse_timeout or config.mail.limits.parse_timeout_seconds,
    )
    source = ResilientMailSource(
        ImapMailSource(config.mail.imap), backoff=Backoff(base=0.2, cap=1.0)
    )
    smtp = SmtpChannel(config.mail, store.documents)
    outbox = Outbox(store, clock, [smtp])
    intake = MailIntake(store, source, parser, clock, settings, on_enqueued=outbox.wake)
    await source.connect()
    await source.ensure_folders()
    return MailWorld(config, store, source, parser, intake, outbox, smtp, account, relay, dovecot)


def folder_counts(dovecot: DovecotServer, account: MailAccount) -> dict[str, int]:
    """How many mails each of our folders holds, read by a separate client that changes nothing."""
    box = MailBox(dovecot.host, dovecot.imaps_port, ssl_context=dovecot.ssl_context())
    counts: dict[str, int] = {}
    with box.login(account.name, account.password, initial_folder=None):
        for folder in box.folder.list():
            name = folder.name.replace(folder.delim, "/") if folder.delim else folder.name
            counts[name] = int(box.folder.status(folder.name, ["MESSAGES"])["MESSAGES"])
    return counts


async def wait_until(
    condition: Callable[[], object],
    timeout: float = 30.0,  # noqa: ASYNC109 -- a poll loop with its own clock
    step: float = 0.05,
) -> None:
    """Poll ``condition`` (sync or returning an awaitable) until true; fail after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        await asyncio.sleep(step)
