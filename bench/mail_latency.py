"""How long from SMTP delivery to a stored item, with IMAP IDLE, next to a bare IDLE loop.

    python bench/mail_latency.py [--mails 100]

Starts the harness' Dovecot and SMTP relay on loopback and gives two fresh
mailboxes on them the same kind of mail (a ``[stuk]`` with a 20 kB PDF), each
sent over SMTP through the relay into Dovecot, one at a time, alternating
between the two (and which goes first), after one warm-up mail each that is
not counted:

- floor: a bare imap-tools loop in a thread of this process (IMAP over
  STARTTLS, ``MailBox.idle`` start/poll/stop as wake-up, then fetch the
  unseen mail and parse it with imap-tools' MailMessage: subject, sender,
  text, HTML, attachments): the least a program does for "mail arrives, it
  is read". Its latency runs until the mail is parsed.
- Wijkbode: the real mail intake (IMAP over STARTTLS, IDLE as wake-up,
  parser worker, SQLite with synchronous=FULL) in this process. Its latency
  runs until the commit of the mail's transaction (the moment the item is
  stored); the mail's move to the processed folder comes after that and is
  not counted.

Each latency starts just before the SMTP client connects. Both sides wait
for Dovecot's IDLE notification (Dovecot holds a change back for about half
a second, in case more follow), which is why the floor is measured on the
same servers. Both medians and p95 are printed with the ratio of the
medians; the issue gives no goal for this ratio, so it is only reported.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import ssl
import statistics
import threading
import time
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from common import latency_spread, run_folder
from imap_tools import AND, MailBoxStartTls, MailMessage

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
WAIT_S = 60.0
POLL_SLICE_S = 1.0  # the floor's IDLE poll, in slices so that it notices the end of the run


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


class Side(Protocol):
    """One mailbox and what reads it: ``deliver`` sends mail ``n`` and waits until it is read."""

    async def deliver(self, servers: LoopbackServers, n: int) -> float: ...


class Floor:
    """The bare imap-tools IDLE loop on its own mailbox, in a thread.

    IDLE, on any untagged answer end the IDLE, fetch what is unseen (which marks
    it seen) and parse it, then IDLE again. ``deliver`` sends only once the loop
    is back in IDLE, so the server's news never arrives in the same packet as
    its ``+ idling`` (imap-tools' poll would not see it, waiting on the socket).
    """

    def __init__(self, servers: LoopbackServers, account: MailAccount) -> None:
        assert servers.dovecot.cert is not None
        self.account = account
        self._host, self._port = servers.dovecot.host, servers.dovecot.imap_port
        self._tls = ssl.create_default_context(cafile=str(servers.dovecot.cert.cert_file))
        self._loop = asyncio.get_running_loop()
        self._idling = asyncio.Event()
        self._parsed: asyncio.Queue[str] = asyncio.Queue()
        self._stop = threading.Event()
        self._thread: asyncio.Future[None] | None = None

    async def start(self) -> None:
        self._thread = asyncio.ensure_future(asyncio.to_thread(self._run))
        async with asyncio.timeout(WAIT_S):
            await self._idling.wait()

    async def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            await self._thread

    async def deliver(self, servers: LoopbackServers, n: int) -> float:
        async with asyncio.timeout(WAIT_S):
            await self._idling.wait()
        self._idling.clear()
        started = time.perf_counter()
        await servers.smtp.deliver(a_mail(self.account.address, n), SENDER, [self.account.address])
        async with asyncio.timeout(WAIT_S):
            subject = await self._parsed.get()
        seconds = time.perf_counter() - started
        if subject != f"[stuk] Notitie {n}":
            raise RuntimeError(f"floor: parsed {subject!r} for mail {n}")
        return seconds

    def _run(self) -> None:
        box = MailBoxStartTls(self._host, self._port, ssl_context=self._tls)
        with box.login(self.account.name, self.account.password, "INBOX"):
            while not self._stop.is_set():
                for message in box.fetch(AND(seen=False)):
                    self._read(message)
                    self._loop.call_soon_threadsafe(self._parsed.put_nowait, message.subject)
                box.idle.start()
                self._loop.call_soon_threadsafe(self._idling.set)
                while not self._stop.is_set() and not box.idle.poll(timeout=POLL_SLICE_S):
                    pass
                box.idle.stop()

    @staticmethod
    def _read(message: MailMessage) -> None:
        """What reading a mail takes: its parts decoded (imap-tools parses them lazily)."""
        parts = [message.subject, message.from_, message.text, message.html]
        if not all(parts[:3]) or not any(a.payload for a in message.attachments):
            raise RuntimeError(f"floor: mail {message.uid} lost a part")


class Wijkbode:
    """The real mail intake on its own mailbox, as the daemon runs it."""

    def __init__(self, servers: LoopbackServers, account: MailAccount, run_dir: Path) -> None:
        self.account = account
        self.config = config_for(servers, account, run_dir)
        self._stored = asyncio.Event()
        self._running: asyncio.Task[None] | None = None

    async def start(self) -> None:
        config = self.config
        assert config.mail is not None
        self._store = await Store.open(config.state_dir)
        await sync_plan(self._store, config, datetime.now(TZ))
        settings = IntakeSettings.from_config(config)
        self._parser = MailParser(our_address=settings.our_address, limits=settings.limits)
        source = ResilientMailSource(ImapMailSource(config.mail.imap))
        self._intake = MailIntake(self._store, source, self._parser, SystemClock(), settings,
                                  on_enqueued=self._stored.set)  # fmt: skip
        self._running = asyncio.create_task(self._intake.run())
        await _wait_for_idle(self._intake)

    async def stop(self) -> None:
        if self._running is not None:
            self._running.cancel()
            await asyncio.gather(self._running, return_exceptions=True)
            await self._parser.close()
            await self._store.close()

    async def deliver(self, servers: LoopbackServers, n: int) -> float:
        self._stored.clear()
        started = time.perf_counter()
        await servers.smtp.deliver(a_mail(self.account.address, n), SENDER, [self.account.address])
        async with asyncio.timeout(WAIT_S):
            await self._stored.wait()
        seconds = time.perf_counter() - started
        await asyncio.sleep(0.05)  # let the move finish and the intake go back to IDLE
        return seconds


async def measure(count: int, run_dir: Path) -> tuple[list[float], list[float]]:
    """The floor's and Wijkbode's latencies, ``count`` mails each."""
    async with LoopbackServers.start(run_dir / "servers", with_synapse=False) as servers:
        floor_account = servers.dovecot.add_user(f"vloer{secrets.token_hex(3)}", "geheim-vloer")
        account = servers.dovecot.add_user(f"bench{secrets.token_hex(3)}", "geheim-bench")
        floor, wijkbode = Floor(servers, floor_account), Wijkbode(servers, account, run_dir)
        try:
            await floor.start()
            await wijkbode.start()
            return await _alternate(servers, floor, wijkbode, count)
        finally:
            await wijkbode.stop()
            await floor.stop()


async def _alternate(
    servers: LoopbackServers, floor: Floor, wijkbode: Wijkbode, count: int
) -> tuple[list[float], list[float]]:
    latencies: dict[Side, list[float]] = {floor: [], wijkbode: []}
    for n in range(count + 1):  # mail 0 is the warm-up of each side
        order: list[Side] = [floor, wijkbode] if n % 2 else [wijkbode, floor]
        for side in order:
            seconds = await side.deliver(servers, n)
            if n > 0:
                latencies[side].append(seconds)
    return latencies[floor], latencies[wijkbode]


async def _wait_for_idle(intake: MailIntake) -> None:
    """Until the intake has made its first pass (and so sits in IDLE)."""
    while intake.passes == 0:  # noqa: ASYNC110 (a counter, there is no event to wait on)
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)


def report(floor: list[float], latencies: list[float]) -> str:
    ratio = statistics.median(latencies) / statistics.median(floor)
    return "\n".join([
        f"mails: {len(latencies)} to each mailbox, alternating (after one warm-up each)",
        "floor, a bare imap-tools IDLE loop (SMTP delivery to parsed mail):"
        f" {latency_spread(floor)}",
        f"SMTP delivery to stored item (IDLE): {latency_spread(latencies)}",
        f"ratio: {ratio:.2f}× the floor (medians); no goal given; reported",
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=100)
    args = parser.parse_args()
    with run_folder(for_dovecot=True) as run_dir:
        print(report(*asyncio.run(measure(args.mails, run_dir))))


if __name__ == "__main__":
    main()
