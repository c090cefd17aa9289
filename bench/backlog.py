"""A mail backlog: N partner mails waiting at start, the real daemon next to a bare fetch loop.

    .venv/bin/python bench/backlog.py [--mails 2000] [--timeout SECONDS]

Starts the harness' servers (Dovecot, the SMTP relay, Radicale) on loopback
once and puts the same N mails into two fresh mailboxes with IMAP APPEND before
anything reads them: partner mails, each from its own address at the
partner's domain (so each gets a receipt), subjects tagged ``[stuk]`` or
``[agendapunt]``, one in ten with a 200 kB PDF, half of them HTML (a
text/html alternative).

- floor: a bare imap-tools loop on the first mailbox (implicit TLS): fetch
  every mail (``mark_seen=False``) and parse it with imap-tools' MailMessage
  (Python's email package): subject, sender, date, text, HTML, attachments.
  It leaves the mailbox as it was, so it runs three times; the median counts.
- Wijkbode: ``python -m daemon --config CFG run`` as a child process with only
  ``[mail]`` (IMAP over TLS on the second mailbox, receipts sent over SMTP with
  STARTTLS and AUTH to the relay, which captures them) and a fresh state
  directory. Its time runs from the process start until INBOX is empty and
  every mail has a row in the store (every mail an item, the work the floor
  does and more), and on until nothing is pending in the outbox (every receipt
  delivered, work the floor does not do); then it is stopped with SIGTERM.

The figures are mails per second; the first is printed with its ratio to the
floor and the goal, the second with its ratio beside it. The
run then checks that every mail was handled exactly once (store, IMAP folders,
outbox and the receipts the relay received). Exit status: 0 when the run
completed and every check holds (whatever the ratio), 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import os
import secrets
import signal
import socket
import sqlite3
import ssl
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid
from pathlib import Path

from common import run_folder
from imap_tools import MailBox

from harness.demo_pdf import tiny_pdf
from harness.process import log_tail
from harness.servers import SMTP_USER, LoopbackServers
from harness.smtp import CaptureView, domain_of

ROOT = Path(__file__).resolve().parent.parent
FLOOR_RUNS = 3
GOAL = 0.5  # issue 10: the backlog at half the speed of the bare loop, or better
PARTNER_NAME = "Gemeente"
PARTNER_DOMAIN = "gemeente.test"
PDF_BYTES = 200_000
SENT_AT = datetime.now().astimezone()
POLL_S = 0.2
PROGRESS_S = 10.0
STALL_S = 120.0  # nothing moved in INBOX, store or outbox for this long: give up
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
PROCESSED_FOLDER = "Wijkbode/Verwerkt"  # the config's defaults
QUARANTINE_FOLDER = "Wijkbode/Quarantaine"


class BenchError(Exception):
    """The run could not finish; the message says why."""


# --- the mails -----------------------------------------------------------------------


@dataclass(frozen=True)
class Backlog:
    """The mails as sent (raw bytes) and what they hold."""

    mails: list[bytes]
    senders: list[str]
    with_pdf: int
    html: int

    @property
    def size(self) -> int:
        return sum(len(mail) for mail in self.mails)

    def describe(self) -> str:
        return (
            f"mails: {len(self.mails)} ({self.with_pdf} with a {PDF_BYTES // 1000} kB PDF,"
            f" {self.html} HTML), each from its own sender at the partner domain,"
            f" {self.size / 1e6:.0f} MB in all"
        )


def make_backlog(count: int, to: str, partner_domain: str = PARTNER_DOMAIN) -> Backlog:
    """``count`` partner mails to ``to``: 10% with a PDF, half HTML, tagged subjects."""
    mails, senders = [], []
    with_pdf = html = 0
    for n in range(count):
        sender = f"afzender{n:05d}@{partner_domain}"
        pdf = n % 20 in (0, 11)  # one in ten, half of those HTML as well
        as_html = n % 2 == 1
        mails.append(a_mail(n, sender, to, pdf=pdf, html=as_html))
        senders.append(sender)
        with_pdf += pdf
        html += as_html
    return Backlog(mails, senders, with_pdf, html)


def a_mail(n: int, sender: str, to: str, *, pdf: bool, html: bool) -> bytes:
    tag = "stuk" if pdf or n % 4 < 2 else "agendapunt"
    title = f"Notitie {n}" if tag == "stuk" else f"Punt {n} voor de wijkalliantie"
    mail = EmailMessage()
    mail["From"] = f"Afzender {n} <{sender}>"
    mail["To"] = to
    mail["Subject"] = f"[{tag}] {title}"
    mail["Date"] = format_datetime(SENT_AT)
    mail["Message-ID"] = make_msgid(f"b{n}", domain=domain_of(sender))
    text = f"Beste wijkalliantie,\n\nGraag bespreken: {title}.\n\nGroet,\nAfzender {n}\n"
    mail.set_content(text)
    if html:
        paragraphs = "".join(f"<p>{line}</p>" for line in text.splitlines() if line)
        mail.add_alternative(f"<html><body>{paragraphs}</body></html>", subtype="html")
    if pdf:
        mail.add_attachment(padded_pdf(title, PDF_BYTES), maintype="application",
                            subtype="pdf", filename=f"notitie-{n}.pdf")  # fmt: skip
    return mail.as_bytes(policy=SMTP_POLICY)


def padded_pdf(title: str, size: int) -> bytes:
    """A valid one-page PDF of about ``size`` bytes, unique by its random filler."""
    return tiny_pdf(title, filler=secrets.token_bytes(size))


# --- the mailbox -----------------------------------------------------------------------


@dataclass(frozen=True)
class MailboxLogin:
    """One Dovecot mailbox, reached over implicit TLS as the daemon reaches it."""

    host: str
    port: int
    username: str
    password: str
    ca_file: str

    def connect(self, folder: str | None = None) -> MailBox:
        """Logged in; ``folder`` selected (none by default: STATUS of a selected folder
        would answer from the session's own, stale view)."""
        context = ssl.create_default_context(cafile=self.ca_file)
        return MailBox(self.host, self.port, ssl_context=context).login(
            self.username, self.password, initial_folder=folder
        )


def fill(mailbox: MailboxLogin, mails: Sequence[bytes]) -> None:
    """APPEND every mail to INBOX (unseen), in order."""
    with mailbox.connect() as imap:
        for raw in mails:
            imap.append(raw, "INBOX", flag_set=())


def folder_counts(mailbox: MailboxLogin, folders: Sequence[str]) -> dict[str, int]:
    """MESSAGES of each folder named with ``/`` as the config does (0 when it does not exist)."""
    with mailbox.connect() as imap:
        on_server = {f.name.replace(f.delim, "/"): f.name for f in imap.folder.list()}
        return {name: imap.folder.status(on_server[name])["MESSAGES"] if name in on_server else 0
                for name in folders}  # fmt: skip


@dataclass(frozen=True)
class FloorRun:
    mails: int
    seconds: float
    parsed_bytes: int

    @property
    def rate(self) -> float:
        return self.mails / self.seconds


def floor_run(mailbox: MailboxLogin) -> FloorRun:
    """The bare loop: log in, fetch every mail one by one (BODY.PEEK) and parse it."""
    started = time.perf_counter()
    mails = parsed = 0
    with mailbox.connect("INBOX") as imap:
        for message in imap.fetch(mark_seen=False):
            if not message.subject or not message.from_ or message.date is None:
                raise BenchError(f"floor: mail {message.uid} lost its headers")
            parsed += len(message.text) + len(message.html)
            parsed += sum(len(part.payload) for part in message.attachments)
            mails += 1
    return FloorRun(mails, time.perf_counter() - started, parsed)


# --- the daemon ----------------------------------------------------------------------


_LIBC = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In the child before exec: a bench killed hard takes its daemon along."""
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class DaemonRun:
    """``python -m daemon --config CONFIG run`` in its own session, its output in a log file.

    It says READY=1 on a notify socket, as it does to systemd; ``started`` is the
    perf_counter just before the process was created.
    """

    def __init__(self, config: Path, log_path: Path, run_args: Sequence[str] = ()) -> None:
        self.config = config
        self.log_path = log_path
        self.run_args = list(run_args)  # after ``run``: ``--now``, ``--speed`` (bench/soak.py)
        self.started = 0.0
        self.ready_after: float | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._notify_name = f"wijkbode-bench-{secrets.token_hex(6)}"
        self._listener: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        return None if self._process is None else self._process.returncode

    async def start(self) -> None:
        self._notify.bind("\0" + self._notify_name)  # abstract: no file to clean up
        self._notify.setblocking(False)
        self._listener = asyncio.create_task(self._listen())
        env = {k: v for k, v in os.environ.items() if not k.startswith("WIJKBODE_")}
        env["NOTIFY_SOCKET"] = "@" + self._notify_name
        with self.log_path.open("ab") as log:
            self.started = time.perf_counter()
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "daemon", "--config", str(self.config), "run",
                *self.run_args, cwd=ROOT, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=log,
                stderr=asyncio.subprocess.STDOUT, start_new_session=True,
                preexec_fn=die_with_parent,
            )  # fmt: skip

    async def wait_ready(self) -> float:
        """Seconds from start to READY=1."""
        deadline = time.perf_counter() + READY_TIMEOUT_S
        while self.ready_after is None:
            self.check_running()
            if time.perf_counter() > deadline:
                raise BenchError(
                    f"no READY=1 from the daemon in {READY_TIMEOUT_S:.0f} s; its log ends:\n"
                    + log_tail(self.log_path, 30)
                )
            await asyncio.sleep(0.05)
        return self.ready_after

    def check_running(self) -> None:
        if self.returncode is not None:
            raise BenchError(
                f"the daemon exited with code {self.returncode}; its log ends:\n"
                + log_tail(self.log_path, 30)
            )

    async def stop(self) -> tuple[int | None, float]:
        """SIGTERM and wait (SIGKILL to its group after a timeout): exit code and seconds."""
        started = time.perf_counter()
        process = self._process
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(STOP_TIMEOUT_S):
                    await process.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        self._notify.close()
        return self.returncode, time.perf_counter() - started

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            datagram = await loop.sock_recv(self._notify, 4096)
            if b"READY=1" in datagram.split(b"\n") and self.ready_after is None:
                self.ready_after = time.perf_counter() - self.started


def tree_pids(root: int) -> list[int]:
    """``root`` and every live descendant, parents first."""
    pids, i = [root], 0
    while i < len(pids):
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{pids[i]}/task").iterdir():
                pids += [int(p) for p in (task / "children").read_text().split()]
        i += 1
    return pids


def _cpu_ticks(pid: int) -> tuple[int, int]:
    """(own utime + stime, reaped children's cutime + cstime) of ``pid``, in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def cpu_by_part(root: int) -> dict[str, float]:
    """CPU seconds of the daemon's tree by part: the daemon itself, its parse workers,
    its SMTP sender, and children that already exited."""
    ticks = os.sysconf("SC_CLK_TCK")
    parts: dict[str, float] = {}
    for pid in tree_pids(root):
        with contextlib.suppress(OSError):
            own, reaped = _cpu_ticks(pid)
            text = " ".join(Path(f"/proc/{pid}/cmdline").read_text().split("\0"))
            if pid == root:
                part = "daemon (event loop and its threads)"
            elif "worker_main" in text:
                part = "parse workers"
            elif "smtp_child" in text:
                part = "SMTP sender"
            else:
                part = "other children"
            parts[part] = parts.get(part, 0.0) + own / ticks
            if reaped:
                parts["children that exited"] = parts.get("children that exited", 0.0) + (
                    reaped / ticks
                )
    return parts


def tree_cpu_seconds(root: int) -> float:
    """CPU time of ``root``, its live descendants and the children it has reaped."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in tree_pids(root):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / ticks


# --- the store -------------------------------------------------------------------------


def store_path(state_dir: Path) -> Path:
    return state_dir / "wijkbode.sqlite3"


@contextlib.contextmanager
def read_only(db: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection that never blocks the daemon's writes for long."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        yield conn
    finally:
        conn.close()


@dataclass
class Progress:
    """What the store shows while the daemon works."""

    handled: int = 0
    pending: int = 0
    feed_waiting: int = 0
    problem: str = ""

    def __str__(self) -> str:
        text = f"{self.handled} handled, {self.pending} pending in the outbox"
        text += f", {self.feed_waiting} waiting for the room feed" if self.feed_waiting else ""
        return text + (f" (store: {self.problem})" if self.problem else "")


def store_progress(db: Path, *, feed: bool) -> Progress:
    progress = Progress()
    if not db.exists():
        progress.problem = "not created yet"
        return progress
    try:
        with read_only(db) as conn:
            progress.handled = conn.execute("SELECT count(*) FROM mail_handled").fetchone()[0]
            progress.pending = conn.execute(
                "SELECT count(*) FROM outbox WHERE status = 'pending'"
            ).fetchone()[0]
            if feed:
                progress.feed_waiting = conn.execute(
                    "SELECT count(*) FROM room_feed WHERE posted_at IS NULL"
                ).fetchone()[0]
    except sqlite3.Error as error:  # not migrated yet, or busy for a moment
        progress.problem = str(error)
    return progress


async def wait_until_done(
    daemon: DaemonRun, mailbox: MailboxLogin, count: int, db: Path, deadline: float, *,
    feed: bool = False,
) -> tuple[float, float]:  # fmt: skip
    """Seconds from the daemon's start until every mail is an item (INBOX is empty and
    ``count`` mails are handled), and until, besides, nothing is pending in the outbox
    (nor, with ``feed``, waiting for the room feed).

    A mail is moved out of INBOX only after the commit that holds its outbox rows, so
    an empty INBOX first, then an empty outbox, means every effect was delivered.
    """
    imap = await asyncio.to_thread(mailbox.connect)
    progress, inbox, shown = Progress(), count, time.perf_counter()
    last_state, changed = None, time.perf_counter()
    filed_after: float | None = None
    try:
        while True:
            daemon.check_running()
            now = time.perf_counter()
            why = "not done in time" if now > deadline else ""
            why = why or (f"no progress for {STALL_S:.0f} s" if now - changed > STALL_S else "")
            if why:
                raise BenchError(
                    f"{why}: INBOX still holds {inbox}; {progress}; the daemon's"
                    f" log ends:\n{log_tail(daemon.log_path, 15)}"
                )
            inbox = await asyncio.to_thread(lambda: imap.folder.status("INBOX")["MESSAGES"])
            if inbox == 0 or now - shown > PROGRESS_S:
                progress = store_progress(db, feed=feed)
                filed = inbox == 0 and progress.handled >= count and not progress.problem
                if filed and filed_after is None:
                    filed_after = time.perf_counter() - daemon.started
                delivered = progress.pending == 0 and progress.feed_waiting == 0
                if filed_after is not None and delivered and not progress.problem:
                    return filed_after, time.perf_counter() - daemon.started
            state = (inbox, progress.handled, progress.pending, progress.feed_waiting)
            if state != last_state:
                last_state, changed = state, now
            if now - shown > PROGRESS_S:
                print(f"  {now - daemon.started:4.0f} s: INBOX {inbox}, {progress}", flush=True)
                shown = now
            await asyncio.sleep(POLL_S)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.to_thread(imap.logout)


@dataclass
class Accounting:
    """Where each mail ended up, from the store, the mailbox and the relay."""

    count: int
    outcomes: Counter[str] = field(default_factory=Counter)
    rows: int = 0
    distinct_messages: int = 0
    items: int = 0
    quarantine_rows: int = 0
    receipts: Counter[str] = field(default_factory=Counter)
    outbox: Counter[str] = field(default_factory=Counter)
    folders: dict[str, int] = field(default_factory=dict)
    captured: int = 0
    captured_senders: int = 0
    problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        o = self.outcomes
        parked = self.outbox.get("parked", 0)
        return [
            f"handled {self.rows} = filed {o['filed']} + versions {o['version']} + repeats"
            f" {o['repeat']} + quarantined {o['quarantined']} + ignored {o['ignored']}"
            f" (expected {self.count}); items {self.items}, distinct Message-IDs"
            f" {self.distinct_messages}",
            "IMAP: " + ", ".join(f"{name} {n}" for name, n in self.folders.items()),
            f"receipts: {self.receipts['delivered']} delivered, {self.receipts['pending']}"
            f" pending, {self.receipts['parked']} parked; the relay received {self.captured}"
            f" for {self.captured_senders} distinct senders; outbox parked in all: {parked}",
            "exactly once: " + ("yes" if not self.problems else "NO: " + "; ".join(self.problems)),
        ]


def account(
    db: Path, mailbox: MailboxLogin, captured: CaptureView, senders: Sequence[str]
) -> Accounting:
    """Check, after the daemon stopped, that each of the mails was handled exactly once."""
    result = Accounting(len(senders))
    with read_only(db) as conn:
        result.outcomes.update(
            dict(conn.execute("SELECT outcome, count(*) FROM mail_handled GROUP BY outcome"))
        )
        result.rows, result.distinct_messages = conn.execute(
            "SELECT count(*), count(DISTINCT message_id) FROM mail_handled"
        ).fetchone()
        result.items = conn.execute("SELECT count(*) FROM items").fetchone()[0]
        result.quarantine_rows = conn.execute("SELECT count(*) FROM mail_quarantine").fetchone()[0]
        result.receipts.update(dict(conn.execute(
            "SELECT status, count(*) FROM outbox WHERE key LIKE 'receipt/%' GROUP BY status"
        )))  # fmt: skip
        result.outbox.update(dict(conn.execute("SELECT status, count(*) FROM outbox GROUP BY 1")))
    result.folders = folder_counts(mailbox, ["INBOX", PROCESSED_FOLDER, QUARANTINE_FOLDER])
    wanted = set(senders)
    to_senders = [r.lower() for m in captured.mail() for r in m.rcpt_tos if r.lower() in wanted]
    result.captured, result.captured_senders = len(to_senders), len(set(to_senders))
    _judge(result)
    return result


def _judge(r: Accounting) -> None:
    quarantined = r.outcomes["quarantined"]
    checks = [
        (r.rows == r.count, f"{r.rows} rows in mail_handled for {r.count} mails"),
        (r.outcomes.total() == r.count, f"outcomes add up to {r.outcomes.total()}"),
        (r.distinct_messages == r.count, f"{r.distinct_messages} distinct Message-IDs"),
        (r.items == r.outcomes["filed"], f"{r.items} items for {r.outcomes['filed']} filed"),
        (r.quarantine_rows == quarantined, f"{r.quarantine_rows} quarantine rows"),
        (r.folders.get("INBOX") == 0, f"INBOX holds {r.folders.get('INBOX')}"),
        (
            r.folders.get(PROCESSED_FOLDER, 0) + r.folders.get(QUARANTINE_FOLDER, 0) == r.count,
            "the processed and quarantine folders do not hold every mail once",
        ),
        (r.receipts["delivered"] == r.count, f"{r.receipts['delivered']} receipts delivered"),
        (r.captured == r.count, f"the relay received {r.captured} receipts"),
        (r.captured_senders == r.count, f"receipts went to {r.captured_senders} senders"),
    ]
    r.problems = [why for ok, why in checks if not ok]


# --- the run -------------------------------------------------------------------------


def config_text(servers: LoopbackServers, mailbox: MailboxLogin, address: str,
                run_dir: Path) -> str:  # fmt: skip
    """``[mail]`` only: IMAP over TLS on the mailbox, SMTP with STARTTLS + AUTH to the relay."""
    (run_dir / "imap.password").write_text(mailbox.password + "\n")
    (run_dir / "smtp.password").write_text(servers.smtp.users[SMTP_USER] + "\n")
    assert servers.smtp.cert is not None
    first = date.today() + timedelta(days=30)
    return f"""\
timezone = "Europe/Amsterdam"
state_dir = "{run_dir / "state"}"
[series.wijkalliantie]
title = "Wijkalliantie"
[series.wijkalliantie.plan]
dates = [{first}T19:30:00, {first + timedelta(days=42)}T19:30:00]
[[partners]]
name = "{PARTNER_NAME}"
domains = ["{PARTNER_DOMAIN}"]
[mail]
address = "{address}"
[mail.imap]
host = "{mailbox.host}"
port = {mailbox.port}
security = "tls"
username = "{mailbox.username}"
password_file = "{run_dir / "imap.password"}"
ca_file = "{mailbox.ca_file}"
[mail.smtp]
host = "{servers.smtp.host}"
port = {servers.smtp.port}
security = "starttls"
username = "{SMTP_USER}"
password_file = "{run_dir / "smtp.password"}"
ca_file = "{servers.smtp.cert.cert_file}"
"""


def new_mailbox(servers: LoopbackServers, prefix: str) -> tuple[MailboxLogin, str]:
    account = servers.dovecot.add_user(f"{prefix}{secrets.token_hex(3)}", secrets.token_hex(8))
    assert servers.dovecot.cert is not None
    login = MailboxLogin(servers.dovecot.host, servers.dovecot.imaps_port, account.name,
                         account.password, str(servers.dovecot.cert.cert_file))  # fmt: skip
    return login, account.address


@dataclass(frozen=True)
class DaemonFigures:
    mails: int
    seconds: float  # until every mail is handled and every receipt delivered
    ready_after: float
    cpu_seconds: float
    exit_code: int | None
    stop_seconds: float
    accounting: Accounting
    # CPU seconds during the run: the daemon's tree by part, and beside it the servers
    # (Dovecot; the SMTP relay, which runs in this process's threads).
    cpu_parts: dict[str, float] = field(default_factory=dict)
    filed_seconds: float = 0.0  # until every mail is an item and out of INBOX

    @property
    def rate(self) -> float:
        return self.mails / self.seconds

    @property
    def filing_rate(self) -> float:
        return self.mails / self.filed_seconds


async def measure(
    count: int, limit_s: float, run_dir: Path
) -> tuple[Backlog, FloorRun, DaemonFigures]:
    async with LoopbackServers.start(run_dir / "servers", with_synapse=False) as servers:
        floor_box, _ = new_mailbox(servers, "vloer")
        wijk_box, wijk_address = new_mailbox(servers, "wijk")
        backlog = make_backlog(count, wijk_address)
        print(backlog.describe(), flush=True)
        started = time.perf_counter()
        await asyncio.gather(
            asyncio.to_thread(fill, floor_box, backlog.mails),
            asyncio.to_thread(fill, wijk_box, backlog.mails),
        )
        print(f"two mailboxes filled by IMAP APPEND in {time.perf_counter() - started:.1f} s",
              flush=True)  # fmt: skip
        floors = []
        for _ in range(FLOOR_RUNS):  # a few seconds each, so a busy moment shows as spread
            floors.append(await asyncio.to_thread(floor_run, floor_box))
            if floors[-1].mails != count:
                raise BenchError(f"floor: fetched {floors[-1].mails} of {count} mails")
        floors.sort(key=lambda run: run.rate)
        floor = floors[len(floors) // 2]
        rates = ", ".join(f"{run.rate:.0f}" for run in floors)
        print(f"floor runs: {rates} mails/s; the median counts", flush=True)
        config = run_dir / "wijkbode.toml"
        config.write_text(config_text(servers, wijk_box, wijk_address, run_dir))
        figures = await run_daemon(config, run_dir, wijk_box, servers, backlog, limit_s)
        return backlog, floor, figures


async def run_daemon(
    config: Path, run_dir: Path, mailbox: MailboxLogin, servers: LoopbackServers,
    backlog: Backlog, limit_s: float, *, feed: bool = False,
    while_running: Callable[[DaemonRun], Awaitable[None]] | None = None,
) -> DaemonFigures:  # fmt: skip
    """Start the daemon on the filled mailbox, wait until all is handled (then run
    ``while_running``, if any), stop it and account for every mail."""
    captured = servers.smtp.view()
    daemon = DaemonRun(config, run_dir / "daemon.log")
    db = store_path(run_dir / "state")
    dovecot_pid = servers.dovecot._process.pid if servers.dovecot._process else None
    dovecot_before = tree_cpu_seconds(dovecot_pid) if dovecot_pid else 0.0
    bench_before = time.process_time()
    try:
        await daemon.start()
        ready = await daemon.wait_ready()
        count = len(backlog.mails)
        deadline = daemon.started + limit_s
        filed, seconds = await wait_until_done(daemon, mailbox, count, db, deadline, feed=feed)
        cpu = tree_cpu_seconds(daemon.pid)
        parts = cpu_by_part(daemon.pid)
        if dovecot_pid:
            parts["Dovecot (server)"] = tree_cpu_seconds(dovecot_pid) - dovecot_before
        parts["SMTP relay and this bench (server)"] = time.process_time() - bench_before
        if while_running is not None:
            await while_running(daemon)
    finally:
        code, stop_seconds = await daemon.stop()
    accounting = await asyncio.to_thread(account, db, mailbox, captured, backlog.senders)
    return DaemonFigures(count, seconds, ready, cpu, code, stop_seconds, accounting, parts, filed)


def report(backlog: Backlog, floor: FloorRun, wijkbode: DaemonFigures) -> str:
    filing = wijkbode.filing_rate / floor.rate
    verdict = "met" if filing >= GOAL else "not met"
    return "\n".join([
        backlog.describe(),
        f"floor, a bare imap-tools loop (fetch one by one + parse), median of {FLOOR_RUNS} runs:"
        f" {floor.mails} mails in {floor.seconds:.1f} s = {floor.rate:.0f} mails/s",
        f"Wijkbode, from process start (READY after {wijkbode.ready_after:.1f} s) until every"
        f" mail is an item, moved out of INBOX: {wijkbode.mails} mails in"
        f" {wijkbode.filed_seconds:.1f} s = {wijkbode.filing_rate:.1f} mails/s",
        f"ratio: {filing:.2f}× the floor (goal ≥ {GOAL}×: {verdict})",
        f"until every receipt is delivered as well: {wijkbode.seconds:.1f} s ="
        f" {wijkbode.rate:.1f} mails/s, {wijkbode.rate / floor.rate:.2f}× the floor",
        *wijkbode.accounting.lines(),
        f"daemon: {wijkbode.cpu_seconds:.1f} s CPU (its tree) in {wijkbode.seconds:.1f} s;"
        f" stopped by SIGTERM in {wijkbode.stop_seconds:.1f} s (exit {wijkbode.exit_code})",
        "CPU during the run, by process: "
        + ", ".join(f"{part} {sec:.1f} s" for part, sec in wijkbode.cpu_parts.items()),
    ])  # fmt: skip


def quiet_relay() -> None:
    """aiosmtpd (the relay, in this process) logs a warning on AUTH that the harness
    touches a deprecated attribute: noise between the figures."""
    logging.getLogger("mail.log").addFilter(
        lambda record: "login_data is deprecated" not in record.getMessage()
    )


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument(
        "--timeout", type=float, help="seconds the daemon may take (default 60 + N/4)"
    )
    args = parser.parse_args()
    timeout = args.timeout or 60 + args.mails / 4
    quiet_relay()
    load_before = load_average()
    try:
        with run_folder(for_dovecot=True) as run_dir:
            backlog, floor, wijkbode = asyncio.run(measure(args.mails, timeout, run_dir))
    except BenchError as error:
        print(f"backlog bench failed: {error}", file=sys.stderr)
        raise SystemExit(1) from error
    print("\n" + report(backlog, floor, wijkbode))
    print(f"load average: {load_before} before, {load_average()} after")
    if wijkbode.accounting.problems or wijkbode.exit_code != 0:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
