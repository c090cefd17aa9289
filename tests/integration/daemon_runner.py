"""The real daemon as an operator runs it, for the engine's whole-system tests.

``make_world`` makes Wijkbode's accounts on the harness servers, one side per
channel: a Radicale user with its calendar (CalDAV), a Dovecot mailbox and the
relay's login (mail), a Matrix bot joined to a core room and an announce room a
member made (Matrix). ``World.config`` writes the ``wijkbode.toml`` for them, every
secret in a file. ``DaemonRunner`` starts ``python -m daemon run --now T --speed N``
as a real subprocess, SIGKILLs it, restarts it with the scaled clock continued
(new ``--now`` = previous ``--now`` + real time elapsed x speed), and reads
``schedule --json`` and ``outbox --json`` through the real CLI.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from clitools import ROOT, wijkbode
from icalendar import Calendar, Event

from daemon.ports.chat import IDEMPOTENCY_CONTENT_KEY
from daemon.ports.outbox import Effect
from daemon.store import Store
from harness.demo_accounts import make_calendar
from harness.dovecot import DovecotServer, MailAccount
from harness.radicale import RadicaleServer
from harness.servers import SMTP_USER
from harness.smtp import CapturedMail, CaptureView, SmtpRelay
from harness.synapse import SERVER_NAME, SynapseServer, name_tag

TZ = ZoneInfo("Europe/Amsterdam")
CALENDAR = "Wijkagenda"
PARTNER = "secretariaat@partner.test"  # not a local domain: the relay captures it
RESIDENTS = "bewoners@buurt.test"
READY_LINE = "Wijkbode draait / running"
FIRED_WITH_EFFECTS = re.compile(r"fired \S+ \([1-9]\d* effects\)")
WAIT_S = 60.0


def q(text: str | Path) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(str(text), ensure_ascii=False)


def write_secret(directory: Path, name: str, value: str) -> Path:
    """A 0600 file holding only ``value``: secrets never go in the config itself."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / name
    path.write_text(value + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


# --- the channels' far sides -------------------------------------------------------


@dataclass
class CalendarSide:
    """Wijkbode's Radicale user and the calendar it writes, read back with a plain GET."""

    name: str
    password: str
    principal_url: str
    calendar_url: str
    secret: Path

    def section(self) -> str:
        return (
            f"[caldav]\nurl = {q(self.principal_url)}\ncalendar = {q(CALENDAR)}\n"
            f"username = {q(self.name)}\npassword_file = {q(self.secret)}\n"
        )

    async def events(self) -> list[Event]:
        """Every VEVENT the calendar holds (the whole collection as one ICS)."""
        token = base64.b64encode(f"{self.name}:{self.password}".encode()).decode()
        request = urllib.request.Request(
            self.calendar_url, headers={"Authorization": f"Basic {token}"}
        )

        def get() -> bytes:
            with urllib.request.urlopen(request, timeout=30) as response:
                body: bytes = response.read()
                return body

        return list(Calendar.from_ical(await asyncio.to_thread(get)).events)


async def calendar_side(radicale: RadicaleServer, secrets_dir: Path) -> CalendarSide:
    name, password = f"wb{secrets.token_hex(4)}", secrets.token_urlsafe(12)
    account = radicale.add_user(name, password)
    url = await asyncio.to_thread(make_calendar, account.url, name, password)
    return CalendarSide(
        name, password, account.url, url, write_secret(secrets_dir, "caldav", password)
    )


@dataclass
class MailSide:
    """Wijkbode's mailbox (IMAP intake) and the relay it submits to; what the relay captured."""

    mailbox: MailAccount
    dovecot: DovecotServer
    relay: SmtpRelay
    view: CaptureView
    imap_secret: Path
    smtp_secret: Path

    @property
    def domain(self) -> str:
        return self.mailbox.address.rpartition("@")[2]

    def section(self) -> str:
        assert self.dovecot.cert is not None
        assert self.relay.cert is not None
        return (
            f"[mail]\naddress = {q(self.mailbox.address)}\nresidents_address = {q(RESIDENTS)}\n\n"
            f"[mail.imap]\nhost = {q(self.dovecot.host)}\nport = {self.dovecot.imap_port}\n"
            f'security = "starttls"\nusername = {q(self.mailbox.name)}\n'
            f"password_file = {q(self.imap_secret)}\nca_file = {q(self.dovecot.cert.cert_file)}\n"
            "poll_seconds = 5\n\n"
            f"[mail.smtp]\nhost = {q(self.relay.host)}\nport = {self.relay.port}\n"
            f'security = "starttls"\nusername = {q(SMTP_USER)}\n'
            f"password_file = {q(self.smtp_secret)}\nca_file = {q(self.relay.cert.cert_file)}\n"
        )

    def captured(self) -> list[CapturedMail]:
        """Mail the relay captured since this side was made, oldest first."""
        return self.view.mail()


async def mail_side(dovecot: DovecotServer, relay: SmtpRelay, secrets_dir: Path) -> MailSide:
    mailbox = dovecot.add_user(f"wb{secrets.token_hex(4)}", secrets.token_urlsafe(12))
    return MailSide(
        mailbox,
        dovecot,
        relay,
        relay.view(),
        write_secret(secrets_dir, "imap", mailbox.password),
        write_secret(secrets_dir, "smtp", relay.users[SMTP_USER]),
    )


@dataclass
class ChatSide:
    """The bot's account and two plain rooms a member made; the member reads them back."""

    synapse: SynapseServer
    bot: str
    secret: Path
    member: str
    member_token: str
    rooms: dict[str, str] = field(default_factory=dict)  # alias -> room id

    @property
    def core_alias(self) -> str:
        return next(iter(self.rooms))

    @property
    def announce_alias(self) -> str:
        return list(self.rooms)[1]

    def section(self) -> str:
        return (
            f"[matrix]\nhomeserver = {q(self.synapse.base_url)}\nuser_id = {q(self.bot)}\n"
            f"password_file = {q(self.secret)}\ncore_room = {q(self.core_alias)}\n"
            f"announce_rooms = [{q(self.announce_alias)}]\nadmins = [{q(self.member)}]\n"
        )

    async def keys_in(self, destination: str) -> list[str]:
        """The idempotency key of every event in the room, oldest first, as the member sees it."""
        room = urllib.parse.quote(self.rooms.get(destination, destination), safe="")
        keys: list[str] = []
        since: str | None = None
        while True:
            query = {"dir": "f", "limit": "500", **({"from": since} if since else {})}
            path = f"/_matrix/client/v3/rooms/{room}/messages?{urllib.parse.urlencode(query)}"
            page = await self.synapse.client_api("GET", path, self.member_token)
            for event in page.get("chunk", []):
                key = event.get("content", {}).get(IDEMPOTENCY_CONTENT_KEY)
                if isinstance(key, str) and event.get("sender") == self.bot:
                    keys.append(key)
            if not page.get("chunk") or "end" not in page:
                return keys
            since = page["end"]


async def chat_side(synapse: SynapseServer, secrets_dir: Path) -> ChatSide:
    """Register the bot and a member; the member makes the rooms; the bot joins them."""
    tag = name_tag()
    bot, bot_password = await synapse.register_user(f"wb{tag}", secrets.token_urlsafe(12))
    member, member_password = await synapse.register_user(f"lid{tag}", secrets.token_urlsafe(12))
    side = ChatSide(
        synapse,
        bot,
        write_secret(secrets_dir, "matrix", bot_password),
        member,
        await synapse.login(member, member_password),
    )
    bot_token = await synapse.login(bot, bot_password)
    for name in ("kern", "wijk"):
        alias = f"{name}{tag}"
        made = await synapse.client_api(
            "POST", "/_matrix/client/v3/createRoom", side.member_token,
            {"room_alias_name": alias, "name": name, "invite": [bot]},
        )  # fmt: skip
        room = urllib.parse.quote(made["room_id"], safe="")
        await synapse.client_api("POST", f"/_matrix/client/v3/rooms/{room}/join", bot_token, {})
        side.rooms[f"#{alias}:{SERVER_NAME}"] = made["room_id"]
    # The daemon logs in with its own device; this one was only for joining.
    await synapse.client_api("POST", "/_matrix/client/v3/logout", bot_token, {})
    return side


@dataclass
class World:
    """The far side of every configured channel, and the config that connects to them."""

    calendar: CalendarSide | None = None
    mail: MailSide | None = None
    chat: ChatSide | None = None

    def config(self, series: str, *, default_series: str) -> str:
        """A whole ``wijkbode.toml``: the series given, one partner, and each channel's section."""
        sides = [side for side in (self.calendar, self.mail, self.chat) if side is not None]
        return "\n".join(
            [
                'timezone = "Europe/Amsterdam"\nlanguage = "nl"\nstate_dir = "state"',
                f"default_series = {q(default_series)}\n",
                series,
                f'[[partners]]\nname = "Partner"\naddresses = [{q(PARTNER)}]\n',
                *(side.section() for side in sides),
            ]
        )


async def make_world(
    channels: Iterable[str],
    secrets_dir: Path,
    *,
    radicale: RadicaleServer | None = None,
    dovecot: DovecotServer | None = None,
    relay: SmtpRelay | None = None,
    synapse: SynapseServer | None = None,
) -> World:
    """Accounts for ``channels`` (any of "caldav", "mail", "matrix") on the servers given."""
    wanted = set(channels)
    world = World()
    if "caldav" in wanted:
        assert radicale is not None
        world.calendar = await calendar_side(radicale, secrets_dir)
    if "mail" in wanted:
        assert dovecot is not None
        assert relay is not None
        world.mail = await mail_side(dovecot, relay, secrets_dir)
    if "matrix" in wanted:
        assert synapse is not None
        world.chat = await chat_side(synapse, secrets_dir)
    return world


# --- the daemon ----------------------------------------------------------------------


class DaemonRunner:
    """``wijkbode run --now T --speed N`` in ``directory``, started and stopped at will.

    The runner keeps one continuous simulated clock: it starts at ``start`` and
    runs ``speed`` times real time, whether a daemon is running or not. Every
    start passes the clock's current time as ``--now``, so a daemon killed and
    started again lives on in the same simulated time, never going back.
    """

    def __init__(self, directory: Path, config: str, *, start: datetime, speed: float) -> None:
        self.directory = directory
        self.config_path = directory / "wijkbode.toml"
        self.speed = speed
        self._anchor = (start, time.monotonic())
        self._process: subprocess.Popen[bytes] | None = None
        self.runs = 0
        self.kills = 0
        self.write_config(config)

    def write_config(self, text: str) -> None:
        self.config_path.write_text(text, encoding="utf-8")

    @property
    def state_dir(self) -> Path:
        return self.directory / "state"

    def sim_now(self) -> datetime:
        start, origin = self._anchor
        return start + timedelta(seconds=(time.monotonic() - origin) * self.speed)

    def jump_to(self, when: datetime) -> None:
        """Simulated downtime: the clock goes on from ``when`` (never backwards)."""
        assert self._process is None, "jump only while the daemon is stopped"
        assert when >= self.sim_now(), "the simulated clock never goes back"
        self._anchor = (when, time.monotonic())

    # --- the process ---

    def log_path(self, run: int | None = None) -> Path:
        return self.directory / f"run-{self.runs if run is None else run}.log"

    def log(self, run: int | None = None) -> str:
        path = self.log_path(run)
        return path.read_text("utf-8", errors="replace") if path.exists() else ""

    def start(self) -> None:
        assert self._process is None, "already running"
        self.runs += 1
        command = [sys.executable, "-m", "daemon", "--config", str(self.config_path), "run"]
        now = self.sim_now().isoformat()
        with self.log_path().open("wb") as log:
            self._process = subprocess.Popen(
                [*command, "--now", now, "--speed", f"{self.speed:g}", "--log-level", "INFO"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_clean_env(),
                cwd=ROOT,
            )

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    async def wait_for_log(
        self, pattern: re.Pattern[str] | str, within: float = WAIT_S, poll: float = 0.05
    ) -> bool:
        """Wait until this run's log shows ``pattern``; ``False`` if it does not ``within`` s."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            text = self.log()
            if (pattern in text) if isinstance(pattern, str) else pattern.search(text):
                return True
            assert self.running, f"the daemon exited:\n{text[-3000:]}"
            await asyncio.sleep(poll)
        return False

    async def wait_running(self) -> None:
        assert await self.wait_for_log(READY_LINE), f"not running:\n{self.log()[-3000:]}"

    def kill(self) -> None:
        """SIGKILL: no cleanup at all, as a power cut or the OOM killer."""
        process, self._process = self._process, None
        assert process is not None
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        self.kills += 1

    async def stop(self) -> None:
        """SIGTERM and wait for a clean exit."""
        process, self._process = self._process, None
        assert process is not None
        process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(process.wait, 60)
        assert code == 0, f"exit {code}:\n{self.log()[-3000:]}"

    def hup(self) -> None:
        """SIGHUP: reload the plan from the config."""
        assert self._process is not None
        self._process.send_signal(signal.SIGHUP)

    def ensure_stopped(self) -> None:
        """For a test's cleanup: no daemon outlives its test."""
        if self._process is not None:
            self.kill()

    # --- what it did ---

    async def cli_json(self, *args: str) -> Any:
        result = await asyncio.to_thread(
            wijkbode, "--config", str(self.config_path), *args, "--json", cwd=ROOT
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    async def schedule(self) -> list[dict[str, Any]]:
        """``wijkbode schedule --json`` with every handled job (the simulated year is far off)."""
        jobs: list[dict[str, Any]] = await self.cli_json("schedule", "--days", "36500")
        return jobs

    async def outbox(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = await self.cli_json("outbox")
        return rows

    async def effects(self) -> list[Effect]:
        """Every outbox row, delivered ones too, in id order (read from the store)."""
        store = await Store.open(self.state_dir)
        try:
            async with store.reading() as tx:
                return await tx.effects()
        finally:
            await store.close()

    async def wait_until(self, done: Callable[[], Any], what: str, within: float = WAIT_S) -> None:
        """Poll the async predicate ``done`` until it holds (the daemon must keep running)."""
        deadline = time.monotonic() + within
        while not await done():
            if self._process is not None:
                assert self.running, f"the daemon exited:\n{self.log()[-3000:]}"
            assert time.monotonic() < deadline, (
                f"timed out waiting for {what}\n{self.log()[-3000:]}"
            )
            await asyncio.sleep(0.3)


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("WIJKBODE_", "NOTIFY_"))}


def by_key(jobs: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {job["key"]: job for job in jobs}


def local(text: str) -> datetime:
    """A local wall-clock time in the deployment's zone."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)
