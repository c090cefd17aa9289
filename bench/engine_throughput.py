"""Engine throughput: jobs fired per second, and outbox rows delivered per second per channel.

    python bench/engine_throughput.py [--meetings 50]

Starts Radicale, Dovecot and the SMTP relay on loopback. A plan of N public
meetings, each with its announcement already due, goes into a fresh store
(SQLite, WAL, synchronous=FULL). The scheduler fires every due job, each in its
own transaction (catch-up decision, outbox rows, new status). Then each
channel's dispatcher delivers its rows one at a time, as it does for one
destination: the channel confirms, then the row is marked delivered in its own
transaction. Channels: a null channel (the store's cost alone), the CalDAV
calendar on Radicale, and mail through the relay (STARTTLS + AUTH per mail).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from common import median_first_last, run_folder

from connectors.calendar.channel import CaldavChannel
from connectors.smtp import SmtpChannel
from daemon.clock import ManualClock
from daemon.config import Config, parse_config
from daemon.engine.outbox import Dispatcher
from daemon.engine.plan_sync import sync_plan
from daemon.engine.scheduler import EngineSettings, Scheduler
from daemon.ports.outbox import Channel, ChannelName, Effect
from daemon.store import Store
from harness.servers import SMTP_USER, LoopbackServers

TZ = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2027, 12, 1, 12, 0, tzinfo=TZ)  # every announcement below is due, no meeting begun


def config_text(servers: LoopbackServers, run_dir: Path, meetings: int) -> str:
    """Daily public meetings from 1 January 2028, announced 400 days ahead, on two channels."""
    mailbox = servers.dovecot.add_user(f"bench{secrets.token_hex(3)}", secrets.token_urlsafe(12))
    caldav_name, caldav_password = f"bench{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    caldav = servers.radicale.add_user(caldav_name, caldav_password)
    secrets_dir = run_dir / "secrets"
    secrets_dir.mkdir(mode=0o700)
    for name, value in (
        ("imap", mailbox.password),
        ("smtp", servers.smtp.users[SMTP_USER]),
        ("caldav", caldav_password),
    ):
        (secrets_dir / name).write_text(value + "\n")
    assert servers.dovecot.cert is not None
    assert servers.smtp.cert is not None
    return f"""\
timezone = "Europe/Amsterdam"
state_dir = "state"
default_series = "buurt"

[series.buurt]
title = "Buurtoverleg"
public = true
location = "Buurthuis"

[series.buurt.deadlines]
concept_agenda = false
agendapunt = false
stuk = false
ter_kennisgeving = false
actualiteit = false
deadline_reminders = []
announce = "400d"
folder = false
meeting_reminder = false

[series.buurt.plan]
start = 2028-01-01T19:00:00
rrule = "FREQ=DAILY;COUNT={meetings}"

[mail]
address = "{mailbox.address}"
residents_address = "bewoners@buurt.test"

[mail.imap]
host = "{servers.dovecot.host}"
port = {servers.dovecot.imap_port}
security = "starttls"
username = "{mailbox.name}"
password_file = "{secrets_dir / "imap"}"
ca_file = "{servers.dovecot.cert.cert_file}"

[mail.smtp]
host = "{servers.smtp.host}"
port = {servers.smtp.port}
security = "starttls"
username = "{SMTP_USER}"
password_file = "{secrets_dir / "smtp"}"
ca_file = "{servers.smtp.cert.cert_file}"

[caldav]
url = "{caldav.url}"
calendar = "Wijkagenda"
username = "{caldav_name}"
password_file = "{secrets_dir / "caldav"}"
"""


class NullChannel:
    """Confirms every effect at once: what is left is the engine's and the store's cost."""

    def __init__(self, name: ChannelName) -> None:
        self.name = name

    async def deliver(self, effect: Effect) -> str:
        return effect.key


@dataclass
class TimedChannel:
    """Wraps a channel and keeps how long each ``deliver`` took."""

    inner: Channel
    seconds: list[float] = field(default_factory=list)

    @property
    def name(self) -> ChannelName:
        return self.inner.name

    async def deliver(self, effect: Effect) -> str:
        started = time.perf_counter()
        try:
            return await self.inner.deliver(effect)
        finally:
            self.seconds.append(time.perf_counter() - started)


async def fire_all(config: Config, state_dir: Path) -> tuple[Store, int, float]:
    """A fresh store with the plan in it; every due job fired. (store, jobs, seconds)."""
    store = await Store.open(state_dir)
    await sync_plan(store, config, NOW)
    scheduler = Scheduler(store, ManualClock(NOW), EngineSettings.from_config(config))
    started = time.perf_counter()
    fired = await scheduler.fire_due()
    return store, fired, time.perf_counter() - started


async def deliver_all(store: Store, channel: TimedChannel) -> tuple[int, float]:
    """Deliver the channel's rows until none is ready; (rows delivered, seconds)."""
    dispatcher = Dispatcher(store, ManualClock(NOW), channel)
    started = time.perf_counter()
    while await dispatcher.deliver_ready():
        pass
    elapsed = time.perf_counter() - started
    async with store.reading() as tx:
        delivered = [e for e in await tx.effects(channel.name) if e.delivered_at is not None]
    return len(delivered), elapsed


def line(label: str, rows: int, elapsed: float, channel: TimedChannel) -> str:
    """Rows per second, and the channel's own time per row: median, first and last."""
    return (
        f"  {label:<11} {rows:>5} rows in {elapsed:6.2f} s: {rows / elapsed:7.1f} rows/s;"
        f" the channel per row: {median_first_last(channel.seconds)}"
    )


async def measure(meetings: int, run_dir: Path) -> list[str]:
    async with LoopbackServers.start(run_dir / "servers", with_synapse=False) as servers:
        config_path = run_dir / "wijkbode.toml"
        config = parse_config(config_text(servers, run_dir, meetings), config_path)
        assert config.mail is not None
        assert config.caldav is not None
        report: list[str] = []
        null_store, fired, elapsed = await fire_all(config, run_dir / "state-null")
        report.append(
            f"meetings: {meetings}; fired {fired} jobs in {elapsed:.2f} s:"
            f" {fired / elapsed:.1f} jobs/s (one transaction each)"
        )
        report.append("delivered one row at a time, each confirmed, then marked in its own commit:")
        for name in (ChannelName.CALDAV, ChannelName.MAIL):
            null = TimedChannel(NullChannel(name))
            report.append(line(f"null/{name.value}", *await deliver_all(null_store, null), null))
        await null_store.close()

        store, _, _ = await fire_all(config, run_dir / "state")
        calendar = CaldavChannel(config.caldav, config.timezone)
        smtp = SmtpChannel(config.mail, store.documents)
        try:
            for channel in (TimedChannel(calendar), TimedChannel(smtp)):
                report.append(line(channel.name.value, *await deliver_all(store, channel), channel))
        finally:
            await calendar.close()
            await smtp.close()
            await store.close()
        return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meetings", type=int, default=50)
    args = parser.parse_args()
    # aiosmtpd (the relay) warns about its own API at every login.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    with run_folder(for_dovecot=True) as run_dir:
        print("\n".join(asyncio.run(measure(args.meetings, run_dir))))


if __name__ == "__main__":
    main()
