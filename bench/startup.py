"""Start-up with ten years of history next to an empty store; the CLI on that store.

    .venv/bin/python bench/startup.py [--items 5000] [--documents 20000] [--years 10]
                                      [--starts 5] [--cli-runs 10]

Two state directories, one configuration each (the same apart from the state
directory and the HTTP port): every connector configured ([matrix], [mail],
[caldav], [http]) and three series (the example's: the alliance every six
weeks, the residents' meeting every three months, the core group monthly)
planned by RRULE from ``--years`` ago until the end of next year.

- empty: a fresh state directory; its first start creates and migrates the
  store (shown apart), the later starts open it.
- history: built before any start, in this process, with the daemon's own
  store and engine where it matters and plain SQL for the bulk:
  the plan synced as it stood ten years ago; ``--items`` items on the past
  meetings and the next one (60% by mail with their mail_handled row, thread
  ids and a delivered receipt; 35% from chat with the handled event and a
  delivered room-feed post; 5% by hand), each with its item events;
  ``--documents`` documents (files on disk, about 1 kB each: the count matters
  at start-up, not the bytes) over those items, some in a second version;
  150 afspraken a year (a few still open); 2 000 handled chat events a year.
  Then the scheduler is replayed through the ten years (a manual clock set to
  each due time, so every moment fires on time, as it did), every outbox row
  delivered (a null channel for Matrix, mail and CalDAV, the real feed channel
  for the public calendar, so the public events are there), and the plan
  synced once more at the present, as a daemon start would.

Each start is ``python -m daemon --config CFG run`` (as bench/backlog.py runs
it) until READY=1 on its notify socket, then SIGTERM. READY comes after the
store is opened and migrated, the plan synced, every component built and the
HTTP port bound; the connectors reach their servers in their own tasks after
that, so no server runs here: [matrix], [mail] and [caldav] point at a closed
loopback port (the daemon would retry them with back-off; it is stopped first).
The starts alternate empty / history, ``--starts`` counted each after one
uncounted start of each; the medians, their difference and the goal (issue 14:
at most 2 s, and flat: history adds little) are printed.

The CLI: ``wijkbode --config CFG agenda --json`` (the next meeting; the CLI
syncs the plan first, as every command that reads meetings does) on the
history store, next to ``wijkbode --help``, alternating, ``--cli-runs`` each
after one uncounted run of each; wall time from the process start to its exit.

Exit status: 0 when every start reached READY and every command succeeded
(whatever the figures), 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from backlog import BenchError, DaemonRun, load_average
from common import run_folder

from connectors.http.feed_channel import FeedChannel
from daemon.clock import ManualClock
from daemon.config import Config, parse_config
from daemon.engine.outbox import Dispatcher
from daemon.engine.plan_sync import sync_plan
from daemon.engine.scheduler import EngineSettings, Scheduler
from daemon.ports.outbox import ChannelName, Effect
from daemon.store import Store
from daemon.store.timefmt import instant_to_db
from harness.ports import free_port
from harness.process import log_tail

ROOT = Path(__file__).resolve().parent.parent
GOAL_S = 2.0  # issue 14: time to READY with ten years of history
SEED = 14
CA_FILE = "/etc/ssl/certs/ca-certificates.crt"  # any CA bundle: no TLS is made before READY
PARTNER_DOMAIN = "gemeente.test"


# --- the configuration ---------------------------------------------------------------


_HELD: list[socket.socket] = []


def closed_port() -> int:
    """A loopback port nothing listens on: bound, never listening, held for the whole run
    (so connect is refused, and no server started meanwhile can take the port)."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    _HELD.append(probe)
    return int(probe.getsockname()[1])


def config_text(state_dir: Path, secrets_dir: Path, years: int, now: datetime) -> str:
    first_year, last_year = now.year - years, now.year + 1
    until = f"{last_year}1231T235959"
    dead = closed_port()
    return f"""\
timezone = "Europe/Amsterdam"
language = "nl"
state_dir = "{state_dir}"
default_series = "wijkalliantie"

[series.wijkalliantie]
title = "Wijkalliantie"
public = true
public_agenda = true
location = "Buurthuis De Meeuw, Meeuwenlaan 1"

[series.wijkalliantie.plan]
start = {first_year}-01-13T19:30:00
rrule = "FREQ=WEEKLY;INTERVAL=6;BYDAY=TU;UNTIL={until}"

[series.bewonersbijeenkomst]
title = "Bewonersbijeenkomst"
public = true
location = "Buurthuis De Meeuw, Meeuwenlaan 1"

[series.bewonersbijeenkomst.deadlines]
concept_agenda = false
agendapunt = false
stuk = false
ter_kennisgeving = false
actualiteit = false
deadline_reminders = []
announce = "28d"
meeting_reminder = "2d"

[series.bewonersbijeenkomst.plan]
start = {first_year}-02-11T19:00:00
rrule = "FREQ=MONTHLY;INTERVAL=3;BYDAY=2TH;UNTIL={until}"

[series.kerngroep]
title = "Kerngroep"
public = false
duration = "1h30m"
location = "Buurthuis De Meeuw, zaal 2"

[series.kerngroep.deadlines]
concept_agenda = false
agendapunt = false
stuk = false
ter_kennisgeving = false
actualiteit = false
deadline_reminders = []
meeting_reminder = "2d"

[series.kerngroep.plan]
start = {first_year}-01-05T20:00:00
rrule = "FREQ=MONTHLY;BYDAY=1MO;UNTIL={until}"

[[partners]]
name = "Gemeente"
domains = ["{PARTNER_DOMAIN}"]

[matrix]
homeserver = "http://127.0.0.1:{dead}"
user_id = "@wijkbode:bench.test"
password_file = "{secrets_dir / "matrix"}"
core_room = "#kerngroep:bench.test"
announce_rooms = ["#wijk:bench.test"]

[mail]
address = "wijkalliantie@bench.test"
residents_address = "bewoners@bench.test"

[mail.imap]
host = "127.0.0.1"
port = {dead}
security = "tls"
username = "wijkalliantie"
password_file = "{secrets_dir / "imap"}"
ca_file = "{CA_FILE}"

[mail.smtp]
host = "127.0.0.1"
port = {dead}
security = "starttls"
username = "wijkalliantie"
password_file = "{secrets_dir / "smtp"}"
ca_file = "{CA_FILE}"

[caldav]
url = "http://127.0.0.1:{dead}/wijkbode/"
calendar = "Wijkagenda"
username = "wijkbode"
password_file = "{secrets_dir / "caldav"}"

[http]
listen = "127.0.0.1:{free_port()}"
public_url = "http://wijk.bench.test"
"""


def write_config(run_dir: Path, name: str, years: int, now: datetime) -> tuple[Path, Config]:
    secrets_dir = run_dir / "secrets"
    secrets_dir.mkdir(mode=0o700, exist_ok=True)
    for secret in ("matrix", "imap", "smtp", "caldav"):
        (secrets_dir / secret).write_text("bench-password\n")
    path = run_dir / f"{name}.toml"
    text = config_text(run_dir / name, secrets_dir, years, now)
    path.write_text(text)
    return path, parse_config(text, path)


# --- ten years of history --------------------------------------------------------------


@dataclass
class History:
    meetings: int = 0
    items: int = 0
    documents: int = 0
    agreements: int = 0
    jobs: dict[str, int] | None = None
    outbox: int = 0
    chat_events: int = 0
    public_events: int = 0
    db_mb: float = 0.0
    documents_mb: float = 0.0
    seconds: float = 0.0

    def describe(self) -> str:
        jobs = ", ".join(f"{n} {status}" for status, n in sorted((self.jobs or {}).items()))
        return (
            f"history: {self.meetings} meetings, {self.items} items, {self.documents}"
            f" documents, {self.agreements} afspraken, jobs {jobs}, {self.outbox} outbox rows"
            f" (delivered), {self.chat_events} handled chat events, {self.public_events}"
            f" public events; database {self.db_mb:.1f} MB, documents {self.documents_mb:.0f} MB;"
            f" built in {self.seconds:.1f} s"
        )


class NullChannel:
    """Confirms every effect at once (what the history needs is the row, not the send)."""

    def __init__(self, name: ChannelName) -> None:
        self.name = name

    async def deliver(self, effect: Effect) -> str:
        return effect.key


def _ts(moment: datetime) -> str:
    return instant_to_db(moment)


async def build_history(
    config: Config, state_dir: Path, now: datetime, years: int, items: int, documents: int
) -> History:
    started = time.perf_counter()
    rng = random.Random(SEED)
    begin = now - timedelta(days=round(365.25 * years))
    store = await Store.open(state_dir)
    try:
        await sync_plan(store, config, begin)  # the plan as it stood then: every job planned
    finally:
        await store.close()
    await asyncio.to_thread(_bulk_rows, state_dir, rng, now, begin, items, documents)
    store = await Store.open(state_dir)
    try:
        await _replay(store, config, begin, now)
        await sync_plan(store, config, now, daemon_effects=True)
    finally:
        await store.close()
    return _census(state_dir, time.perf_counter() - started)


def _bulk_rows(
    state_dir: Path, rng: random.Random, now: datetime, begin: datetime, items: int,
    documents: int,
) -> None:  # fmt: skip
    """Items, documents, mail, chat and afspraken of the past years, in one transaction."""
    db = sqlite3.connect(state_dir / "wijkbode.sqlite3", isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        meetings = db.execute(
            "SELECT id, start, series FROM meetings"
            " WHERE series IN ('wijkalliantie', 'kerngroep') ORDER BY start"
        ).fetchall()
        past = [(mid, datetime.fromisoformat(s)) for mid, s, _ in meetings if s < _ts(now)]
        upcoming = [(mid, datetime.fromisoformat(s)) for mid, s, series in meetings
                    if s >= _ts(now) and series == "wijkalliantie"]  # fmt: skip
        # The next alliance meeting (what `agenda --json` shows) gets its share too.
        targets = past + upcoming[:1]
        positions: dict[str, int] = {}
        docs_per_item = _spread(documents, items)
        doc_root = state_dir / "documents"
        uid = 0
        for n in range(items):
            meeting_id, start = targets[n % len(targets)]
            received = start - timedelta(days=rng.uniform(16, 60))
            received = min(received, now - timedelta(hours=1))
            positions[meeting_id] = positions.get(meeting_id, 0) + 1
            source = "mail" if n % 20 < 12 else "chat" if n % 20 < 19 else "cli"
            kind = ("stuk", "agendapunt", "ter_kennisgeving", "actualiteit")[n % 7 % 4]
            submitter = (
                f"afzender{n % 400:03d}@{PARTNER_DOMAIN}" if source == "mail"
                else f"@lid{n % 40:02d}:bench.test" if source == "chat" else "beheer"
            )  # fmt: skip
            item_id = db.execute(
                "INSERT INTO items (kind, title, text, submitter, received_at, meeting_id,"
                " late, decision_ready, status, source, position, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, 0, 1, 'filed', ?, ?, ?)",
                (kind, f"Onderwerp {n}: {rng.choice(_TOPICS)}", _TEXT * (1 + n % 3),
                 submitter, _ts(received), meeting_id, source, positions[meeting_id],
                 _ts(received)),
            ).lastrowid  # fmt: skip
            db.execute(
                "INSERT INTO item_events (item_id, at, event, detail) VALUES (?, ?, 'filed', ?)",
                (item_id, _ts(received), source),
            )
            for k in range(docs_per_item[n]):
                content = b"%%PDF-1.4\n%% bench %d %d\n" % (n, k) + rng.randbytes(900)
                sha = hashlib.sha256(content).hexdigest()
                path = doc_root / sha[:2] / sha
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
                db.execute(
                    "INSERT INTO documents (sha256, content_type, size) VALUES (?, ?, ?)",
                    (sha, "application/pdf", len(content)),
                )
                db.execute(
                    "INSERT INTO item_documents (item_id, sha256, version, filename, added_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (item_id, sha, 2 if k >= 4 else 1, f"stuk-{n}-{k}.pdf", _ts(received)),
                )
            if source == "mail":
                uid += 1
                message_id = f"<b{n}@{PARTNER_DOMAIN}>"
                db.execute(
                    "INSERT INTO mail_handled (folder, uidvalidity, uid, message_id,"
                    " content_sha256, outcome, item_id, sender, at, moved_at)"
                    " VALUES ('INBOX', 1, ?, ?, ?, 'filed', ?, ?, ?, ?)",
                    (uid, message_id, hashlib.sha256(message_id.encode()).hexdigest(), item_id,
                     submitter, _ts(received), _ts(received)),
                )  # fmt: skip
                db.execute("INSERT INTO mail_thread_ids VALUES (?, ?)", (message_id, item_id))
                _delivered(db, "mail", submitter, f"receipt/{n}", {"receipt": n}, received)
            elif source == "chat":
                event_id = f"$filing{n}"
                db.execute(
                    "INSERT INTO chat_handled_events VALUES (?, '!kern:bench.test', ?)",
                    (event_id, _ts(received)),
                )
                db.execute(
                    "INSERT INTO chat_items VALUES (?, '!kern:bench.test', ?)", (event_id, item_id)
                )
                _delivered(db, "matrix", "!kern:bench.test", f"confirm/{n}", {"n": n}, received)
            db.execute(
                "INSERT INTO room_feed (key, item_id, post, queued_at, posted_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (f"feed/{n}", item_id, json.dumps({"item": n}), _ts(received), _ts(received)),
            )
        db.execute("INSERT INTO mail_folder_state VALUES ('INBOX', 1, ?, ?)", (uid, _ts(now)))
        _chat_and_agreements(db, rng, now, begin, past)
        db.execute("COMMIT")
    finally:
        db.close()


_TOPICS = ("groenonderhoud", "verkeersveiligheid", "speeltuin", "afvalinzameling",
           "buurthuis", "parkeren", "wateroverlast", "straatverlichting")  # fmt: skip
_TEXT = "Graag bespreken wij dit punt in de vergadering. "


def _spread(total: int, over: int) -> list[int]:
    """``total`` documents over ``over`` items: 0 to 8 each, in a fixed pattern."""
    pattern = [0, 2, 4, 6, 8]
    counts = [pattern[n % 5] for n in range(over)]
    scale = total / max(1, sum(counts))
    counts = [round(c * scale) for c in counts]
    counts[0] += total - sum(counts)
    return counts


def _delivered(
    db: sqlite3.Connection, channel: str, destination: str, key: str, payload: object,
    at: datetime,
) -> None:  # fmt: skip
    db.execute(
        "INSERT INTO outbox (channel, destination, key, payload, created_at, status, attempts,"
        " delivered_at, remote_id) VALUES (?, ?, ?, ?, ?, 'delivered', 1, ?, ?)",
        (channel, destination, key, json.dumps(payload), _ts(at), _ts(at), key),
    )


def _chat_and_agreements(
    db: sqlite3.Connection, rng: random.Random, now: datetime, begin: datetime,
    past: list[tuple[str, datetime]],
) -> None:  # fmt: skip
    days = (now - begin).days
    for n in range(days * 2000 // 365):  # every message in the rooms, handled once
        at = begin + timedelta(days=rng.uniform(0, days))
        db.execute(
            "INSERT INTO chat_handled_events VALUES (?, '!kern:bench.test', ?)",
            (f"$event{n}", _ts(at)),
        )
    count = days * 150 // 365
    for n in range(count):
        meeting_id, start = past[n % len(past)]
        due = start + timedelta(days=rng.randint(14, 90))
        still_open = n >= count - 12  # the last few are open, some already overdue
        closed = None if still_open else _ts(min(due, now - timedelta(days=1)))
        status = "open" if still_open else ("done" if n % 10 else "cannot")
        db.execute(
            "INSERT INTO agreements (what, owner, due, status, motivation, created_at,"
            " meeting_id, closed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (f"Afspraak {n}", f"@lid{n % 40:02d}:bench.test",
             (now + timedelta(days=30 - n % 40) if still_open else due).date().isoformat(),
             status, "geen budget" if status == "cannot" else None, _ts(start), meeting_id,
             closed),
        )  # fmt: skip


async def _replay(store: Store, config: Config, begin: datetime, now: datetime) -> None:
    """Fire every job at its due time through the years, then deliver every outbox row."""
    clock = ManualClock(begin)
    scheduler = Scheduler(store, clock, EngineSettings.from_config(config))
    async with store.reading() as tx:
        due_times = sorted({job.due_at for job in await tx.pending_jobs() if job.due_at < now})
    for due in due_times:
        await clock.set(due)
        await scheduler.fire_due()
    await clock.set(now)
    channels = [NullChannel(ChannelName.MATRIX), NullChannel(ChannelName.MAIL),
                NullChannel(ChannelName.CALDAV), FeedChannel(store, lambda: None)]  # fmt: skip
    for channel in channels:
        dispatcher = Dispatcher(store, clock, channel)
        while await dispatcher.deliver_ready():
            pass


def _census(state_dir: Path, seconds: float) -> History:
    db_path = state_dir / "wijkbode.sqlite3"
    conn = sqlite3.connect(db_path)
    try:

        def count(table: str) -> int:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

        history = History(
            meetings=count("meetings"),
            items=count("items"),
            documents=count("documents"),
            agreements=count("agreements"),
            jobs=dict(conn.execute("SELECT status, count(*) FROM jobs GROUP BY status")),
            outbox=count("outbox"),
            chat_events=count("chat_handled_events"),
            public_events=count("public_events"),
            seconds=seconds,
        )
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    history.db_mb = db_path.stat().st_size / 1e6
    docs = (state_dir / "documents").rglob("*")
    history.documents_mb = sum(p.stat().st_size for p in docs if p.is_file()) / 1e6
    return history


# --- the starts ----------------------------------------------------------------------


async def time_start(config: Path, log: Path) -> float:
    """Seconds from the process start to READY=1; then SIGTERM, which must end it cleanly."""
    daemon = DaemonRun(config, log)
    try:
        await daemon.start()
        ready = await daemon.wait_ready()
    finally:
        code, _ = await daemon.stop()
    if code != 0:
        raise BenchError(
            f"the daemon exited with {code} after SIGTERM; its log ends:\n{log_tail(log, 30)}"
        )
    return ready


@dataclass
class Starts:
    first_empty: float
    empty: list[float]
    history: list[float]


async def measure_starts(empty: Path, history: Path, run_dir: Path, rounds: int) -> Starts:
    logs = run_dir / "logs"
    logs.mkdir(exist_ok=True)
    first_empty = await time_start(empty, logs / "empty-0.log")  # creates and migrates
    await time_start(history, logs / "history-0.log")  # uncounted, as the empty one's
    starts = Starts(first_empty, [], [])
    for n in range(1, rounds + 1):
        starts.empty.append(await time_start(empty, logs / f"empty-{n}.log"))
        starts.history.append(await time_start(history, logs / f"history-{n}.log"))
        print(f"  start {n}: empty {starts.empty[-1]:.2f} s, history"
              f" {starts.history[-1]:.2f} s", flush=True)  # fmt: skip
    return starts


# --- the CLI -------------------------------------------------------------------------


def wijkbode_command() -> list[str]:
    """The installed ``wijkbode`` entry point beside this Python, else ``python -m daemon``."""
    script = Path(sys.executable).parent / "wijkbode"
    return [str(script)] if script.exists() else [sys.executable, "-m", "daemon"]


def run_once(argv: list[str]) -> tuple[float, int]:
    """Wall seconds from the process start to its exit, and the bytes it wrote to stdout."""
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise BenchError(
            f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode()[-500:]}"
        )
    return seconds, len(done.stdout)


@dataclass
class CliFigures:
    agenda: list[float]
    help: list[float]
    agenda_bytes: int
    agenda_items: int


def measure_cli(config: Path, runs: int) -> CliFigures:
    agenda = [*wijkbode_command(), "--config", str(config), "agenda", "--json"]
    helps = [*wijkbode_command(), "--help"]
    run_once(agenda)
    run_once(helps)  # uncounted: the first of each fills the page cache
    figures = CliFigures([], [], 0, 0)
    for _ in range(runs):
        seconds, size = run_once(agenda)
        figures.agenda.append(seconds)
        figures.agenda_bytes = size
        figures.help.append(run_once(helps)[0])
    shown = subprocess.run(agenda, cwd=ROOT, capture_output=True, check=True)
    figures.agenda_items = len(json.loads(shown.stdout)["items"])
    return figures


# --- the report ------------------------------------------------------------------------


def spread(seconds: list[float]) -> str:
    return (
        f"median {statistics.median(seconds):.2f} s (min {min(seconds):.2f},"
        f" max {max(seconds):.2f}, {len(seconds)} starts)"
    )


def report(history: History, starts: Starts, cli: CliFigures | None) -> list[str]:
    empty, full = statistics.median(starts.empty), statistics.median(starts.history)
    verdict = "met" if full <= GOAL_S else "not met"
    lines = [
        history.describe(),
        f"first start on an empty state directory (creates and migrates the store):"
        f" {starts.first_empty:.2f} s to READY",
        f"start-up to READY, empty store: {spread(starts.empty)}",
        f"start-up to READY, ten years of history: {spread(starts.history)}",
        f"history adds {full - empty:+.2f} s ({full / empty:.2f}× the empty store);"
        f" goal ≤ {GOAL_S:.0f} s: {verdict}",
    ]
    if cli is not None:
        agenda, helps = statistics.median(cli.agenda), statistics.median(cli.help)
        lines += [
            f"CLI `agenda --json` on the history store (next meeting, {cli.agenda_items} items,"
            f" {cli.agenda_bytes} bytes): median {agenda * 1000:.0f} ms"
            f" (min {min(cli.agenda) * 1000:.0f}, max {max(cli.agenda) * 1000:.0f})",
            f"CLI `--help`: median {helps * 1000:.0f} ms (min {min(cli.help) * 1000:.0f},"
            f" max {max(cli.help) * 1000:.0f}); agenda --json is {agenda / helps:.2f}× --help"
            f" ({len(cli.agenda)} runs each, alternating)",
        ]
    return lines


async def measure(args: argparse.Namespace, run_dir: Path) -> list[str]:
    now = datetime.now(UTC)
    empty_config, _ = write_config(run_dir, "empty", args.years, now)
    history_config, config = write_config(run_dir, "history", args.years, now)
    print(f"building {args.years} years of history ...", flush=True)
    history = await build_history(
        config, run_dir / "history", now, args.years, args.items, args.documents
    )
    print(history.describe(), flush=True)
    starts = await measure_starts(empty_config, history_config, run_dir, args.starts)
    cli = None
    if args.cli_runs > 0:
        print("CLI runs ...", flush=True)
        cli = await asyncio.to_thread(measure_cli, history_config, args.cli_runs)
    return report(history, starts, cli)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--documents", type=int, default=20000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--starts", type=int, default=5, help="counted starts of each store")
    parser.add_argument("--cli-runs", type=int, default=10, help="counted runs of each command")
    parser.add_argument(
        "--dir", type=Path, help="build in this new folder and keep it (to profile a start)"
    )
    args = parser.parse_args()
    load_before = load_average()
    try:
        with contextlib.nullcontext(args.dir) if args.dir else run_folder() as run_dir:
            run_dir.mkdir(parents=True, exist_ok=True)
            lines = asyncio.run(measure(args, run_dir))
    except BenchError as error:
        print(f"start-up bench failed: {error}", file=sys.stderr)
        raise SystemExit(1) from error
    print("\n" + "\n".join(lines))
    print(f"load average: {load_before} before, {load_average()} after")


if __name__ == "__main__":
    main()
