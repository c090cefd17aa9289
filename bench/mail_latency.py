"""How long from SMTP delivery to a stored item, with IMAP IDLE: median and p95 over N mails.

    python bench/mail_latency.py [--mails 100]

Starts the harness' Dovecot and SMTP relay on loopback, runs the real mail
intake (IMAP over STARTTLS, IDLE as wake-up, parser worker, SQLite with
synchronous=FULL) in this process, and sends the mails one at a time over
SMTP. Each latency runs from just before the SMTP client connects to the
commit of the mail's transaction (the moment the item is stored); the
mail's move to the processed folder comes after that and is not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from zoneinfo import ZoneInfo

from common import latency_spread, run_folder

from connectors.imap import ImapMailSource, ResilientMailSource
from connectors.mail.worker import MailParser
from daemon.clock import SystemClock
from daemon.config import Config, parse_config
from daemon.engine.plan_sync import sync_plan
from daemon.mail import IntakeSettings, MailIntake
from daemon.store import Store
from harness.dovecot import MailAccount
from harness.servers import SMTP_USER, LoopbackServers

TZ = ZoneInfo("Europe/Amsterdam")
SENDER = "ambtenaar@gemeente.test"


def config_for(servers: LoopbackServers, account: MailAccount, run_dir: Path) -> Config:
    (run_dir / "imap.password").write_text(account.password)
    (run_dir / "smtp.password").write_text(servers.smtp.users[SMTP_USER])
    assert servers.dovecot.cert is not None
    meeting = (datetime.now(TZ) + timedelta(days=30)).replace(tzinfo=None, microsecond=0)
    text = f"""\
timezone = "Europe/Amsterdam"
state_dir = "{run_dir / "state"}"
[series.wijkalliantie]
title = "Wijkalliantie"
[series.wijkalliantie.plan]
dates = [{meeting.isoformat()}]
[[partners]]
name = "Gemeente"
domains = ["gemeente.test"]
[mail]
address = "{account.address}"
[mail.imap]
host = "{servers.dovecot.host}"
port = {servers.dovecot.imap_port}
security = "starttls"
username = "{account.name}"
password_file = "{run_dir / "imap.password"}"
ca_file = "{servers.dovecot.cert.cert_file}"
[mail.smtp]
host = "{servers.smtp.host}"
port = {servers.smtp.port}
security = "starttls"
username = "{SMTP_USER}"
password_file = "{run_dir / "smtp.password"}"
ca_file = "{servers.dovecot.cert.cert_file}"
"""
    return parse_config(text, run_dir / "wijkbode.toml")


def a_mail(to: str, n: int) -> bytes:
    mail = EmailMessage()
    mail["From"] = SENDER
    mail["To"] = to
    mail["Subject"] = f"[stuk] Notitie {n}"
    mail["Message-ID"] = f"<{secrets.token_hex(8)}@gemeente.test>"
    mail.set_content("Bijgaand de notitie.\n")
    mail.add_attachment(b"%PDF-1.4\n" + secrets.token_bytes(20_000), maintype="application",
                        subtype="pdf", filename=f"notitie-{n}.pdf")  # fmt: skip
    return mail.as_bytes(policy=SMTP_POLICY)


async def measure(count: int, run_dir: Path) -> list[float]:
    async with LoopbackServers.start(run_dir / "servers", with_synapse=False) as servers:
        account = servers.dovecot.add_user(f"bench{secrets.token_hex(3)}", "geheim-bench")
        return await _measure_with(servers, account, run_dir, count)


async def _measure_with(
    servers: LoopbackServers, account: MailAccount, run_dir: Path, count: int
) -> list[float]:
    config = config_for(servers, account, run_dir)
    assert config.mail is not None
    store = await Store.open(config.state_dir)
    await sync_plan(store, config, datetime.now(TZ))
    stored = asyncio.Event()
    settings = IntakeSettings.from_config(config)
    parser = MailParser(our_address=settings.our_address, limits=settings.limits)
    source = ResilientMailSource(ImapMailSource(config.mail.imap))
    intake = MailIntake(store, source, parser, SystemClock(), settings, on_enqueued=stored.set)
    running = asyncio.create_task(intake.run())
    latencies: list[float] = []
    try:
        await _wait_for_idle(intake)
        for n in range(count):
            stored.clear()
            started = time.perf_counter()
            await servers.smtp.deliver(a_mail(account.address, n), SENDER, [account.address])
            async with asyncio.timeout(60):
                await stored.wait()
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)  # let the move finish and the intake go back to IDLE
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await parser.close()
        await store.close()
    return latencies


async def _wait_for_idle(intake: MailIntake) -> None:
    """Until the intake has made its first pass (and so sits in IDLE)."""
    while intake.passes == 0:  # noqa: ASYNC110 (a counter, there is no event to wait on)
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)


def report(latencies: list[float]) -> str:
    return (
        f"mails: {len(latencies)}\nSMTP delivery to stored item (IDLE): {latency_spread(latencies)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=100)
    args = parser.parse_args()
    with run_folder(for_dovecot=True) as run_dir:
        print(report(asyncio.run(measure(args.mails, run_dir))))


if __name__ == "__main__":
    main()
