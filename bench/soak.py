"""Soak: a simulated year at high clock speed with mail and chat traffic (not for CI).

    .venv/bin/python bench/soak.py [--days 365] [--minutes 10] [--mails-per-day 3]
                                   [--chats-per-day 2] [--sample 30] [--idle 75]

Starts every harness server (Synapse, Dovecot, the SMTP relay, Radicale) on
loopback and sets up the demo's world as bench/memory.py does (the bot, alice's
encrypted core room and the public room, the mailbox, the calendar, a bare
matrix-nio client in the core room as the memory floor). The demo's
``wijkbode.toml`` gets a year's plan instead of the demo's few meetings (the
alliance every six weeks with every RULES.md deadline and reminder, the
residents' meeting every three months with announcement, folder and reminder,
the core group monthly) and ``[http]`` (the calendar feed, the public page,
/healthz and /metrics), so every connector and the web service are on.

The daemon runs as ``wijkbode run --now <now> --speed S``: ``--days`` of its
clock in ``--minutes`` of real time. Meanwhile partner mails arrive in its
mailbox (IMAP APPEND; bench/backlog.py's mails: one in ten with a 200 kB PDF,
half HTML), ``--mails-per-day`` of simulated time, and alice files
``Agendapunt: ...`` in the core room, ``--chats-per-day``. The public feed is
read now and then. Every ``--sample`` seconds one line: the simulated date,
items, the jobs by status, the outbox, the daemon's whole process tree (RSS
and PSS), the database (with its WAL) and the documents on disk, and the
database bytes per item.

At the end the traffic stops, the daemon finishes what came in, and both it and
the floor sit idle for ``--idle`` seconds before the last memory sample (in
bench/memory.py's format, with the ratio to the floor). Then the checks:

- every mail is handled once (mail_handled, distinct Message-IDs) and every
  chat filing is one item;
- every job due before the simulated present fired or was skipped by the
  catch-up policy (none failed, none left pending), and each fired job's
  effects are delivered (outbox: nothing parked, nothing left pending);
- growth: memory from the first sample after the warm-up to the last, and the
  database's bytes per item, first and last, so growth without data shows.

Exit status: 0 when every check holds, 1 otherwise. The last line starts with
``soak:`` (bench/run_all.py reads it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import statistics
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from backlog import (
    BenchError,
    DaemonRun,
    a_mail,
    folder_counts,
    load_average,
    quiet_relay,
    read_only,
    store_path,
)
from common import run_folder
from memory import (
    Breakdown,
    FloorProcess,
    ProcessMemory,
    Setup,
    _set_up,
    breakdown,
    tree_lines,
    tree_memory,
)

from harness.demo_config import TIMEZONE
from harness.demo_member import DemoMember
from harness.ports import free_port
from harness.servers import LoopbackServers

if TYPE_CHECKING:
    from backlog import MailboxLogin

GOAL = 1.5  # issue 10's memory goal, after the year as well
WARM_UP_SAMPLES = 2  # memory is compared from the sample after these (imports, caches)
DRAIN_TIMEOUT_S = 300.0


# --- the year's plan -------------------------------------------------------------------


def year_config(text: str, start: datetime, days: int, http_port: int) -> str:
    """The demo's config with a plan of ``days`` from ``start`` (local) and ``[http]``."""
    end = (start + timedelta(days=days)).strftime("%Y%m%dT235959")
    tuesday = _next_weekday(start.date() + timedelta(days=7), 1)
    monday = _first_monday_after(start.date())
    plans = [
        f'start = {tuesday}T19:30:00\nrrule = "FREQ=WEEKLY;INTERVAL=6;BYDAY=TU;UNTIL={end}"',
        f'start = {_day_ten_after(start.date())}T19:00:00\n'
        f'rrule = "FREQ=MONTHLY;INTERVAL=3;UNTIL={end}"',
        f'start = {monday}T20:00:00\nrrule = "FREQ=MONTHLY;BYDAY=1MO;UNTIL={end}"',
    ]  # fmt: skip
    lines, replaced = [], 0
    for line in text.splitlines():
        if line.startswith("dates = [") and replaced < len(plans):
            lines.append(plans[replaced])
            replaced += 1
        else:
            lines.append(line)
    if replaced != len(plans):
        raise BenchError(f"the demo config has {replaced} plans, not {len(plans)}")
    # /metrics is off by default; on here, as the soak runs every part of the web service.
    lines += ["", "[http]", f'listen = "127.0.0.1:{http_port}"', "metrics = true", ""]
    return "\n".join(lines)


def _next_weekday(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def _first_monday_after(day: date) -> date:
    first = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    return _next_weekday(first, 0)


def _day_ten_after(day: date) -> date:
    """The 10th of a month at least ten days ahead (a day every month has)."""
    ahead = day + timedelta(days=10)
    return ahead.replace(day=10) if ahead.day <= 10 else _first_monday_after(ahead).replace(day=10)


# --- samples -------------------------------------------------------------------------


@dataclass
class Sample:
    real_s: float
    sim: datetime
    items: int
    jobs: dict[str, int]
    pending: int
    rss_kb: int
    pss_kb: int
    daemon_rss_kb: int  # the daemon process alone: parse workers come and go
    db_bytes: int
    documents_bytes: int

    @property
    def db_per_item(self) -> float:
        return self.db_bytes / max(1, self.items)

    def line(self) -> str:
        jobs = "/".join(str(self.jobs.get(s, 0)) for s in ("fired", "skipped", "pending"))
        return (
            f"  {self.real_s:5.0f} s  {self.sim.astimezone(TIMEZONE):%Y-%m-%d}  items"
            f" {self.items:5d}  jobs fired/skipped/pending {jobs:<12} outbox pending"
            f" {self.pending:3d}  RSS {self.rss_kb / 1024:6.1f} MB  PSS {self.pss_kb / 1024:6.1f}"
            f" MB (daemon alone RSS {self.daemon_rss_kb / 1024:5.1f} MB)"
            f"  db {self.db_bytes / 1e6:6.2f} MB ({self.db_per_item / 1024:5.1f} kB/item)"
            f"  documents {self.documents_bytes / 1e6:6.1f} MB"
        )


def _bytes(path: Path) -> int:
    with contextlib.suppress(OSError):
        if path.is_file():
            return path.stat().st_size
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return 0


def take_sample(daemon: DaemonRun, state: Path, started: float, sim: datetime) -> Sample:
    db = store_path(state)
    items, jobs, pending = 0, {}, 0
    with contextlib.suppress(sqlite3.Error), read_only(db) as conn:
        items = conn.execute("SELECT count(*) FROM items").fetchone()[0]
        jobs = dict(conn.execute("SELECT status, count(*) FROM jobs GROUP BY status"))
        pending = conn.execute("SELECT count(*) FROM outbox WHERE status = 'pending'").fetchone()[0]
    tree = tree_memory(daemon.pid, "daemon")
    return Sample(
        time.perf_counter() - started, sim, items, jobs, pending,
        sum(p.rss_kb for p in tree), sum(p.pss_kb for p in tree),
        next((p.rss_kb for p in tree if p.pid == daemon.pid), 0),
        _bytes(db) + _bytes(db.with_name(db.name + "-wal")), _bytes(state / "documents"),
    )  # fmt: skip


# --- traffic ---------------------------------------------------------------------------


@dataclass
class Traffic:
    mails: list[str] = field(default_factory=list)  # senders, one mail each
    chats: list[str] = field(default_factory=list)  # event ids of alice's filings
    feed_reads: int = 0
    feed_errors: int = 0


async def mail_traffic(setup: Setup, per_real_s: float, traffic: Traffic) -> None:
    def append(raw: bytes) -> None:
        with setup.mailbox.connect() as imap:
            imap.append(raw, "INBOX", flag_set=())

    n = 0
    while True:
        sender = f"soak{n:05d}@{setup.partner_domain}"
        raw = a_mail(n, sender, setup.address, pdf=n % 10 == 0, html=n % 2 == 1)
        await asyncio.to_thread(append, raw)
        traffic.mails.append(sender)
        n += 1
        await asyncio.sleep(1 / per_real_s)


async def chat_traffic(alice: DemoMember, room: str, per_real_s: float, traffic: Traffic) -> None:
    n = 0
    while True:
        traffic.chats.append(await alice.say(room, f"Agendapunt: Soakpunt {n} over de buurt"))
        n += 1
        await asyncio.sleep(1 / per_real_s)


async def feed_reader(port: int, traffic: Traffic) -> None:
    url = f"http://127.0.0.1:{port}/agenda.ics"
    while True:
        try:
            body = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=10).read())
            traffic.feed_reads += 1
            if not body.startswith(b"BEGIN:VCALENDAR") or b"END:VCALENDAR" not in body:
                traffic.feed_errors += 1
        except OSError:
            traffic.feed_errors += 1
        await asyncio.sleep(5)


# --- the run ---------------------------------------------------------------------------


@dataclass
class Result:
    samples: list[Sample]
    final: list[ProcessMemory]
    floor: list[ProcessMemory]
    traffic: Traffic
    problems: list[str]
    counts: dict[str, object]
    idle_s: float
    speed: float
    days: int
    libraries: list[str] = field(default_factory=list)
    breakdowns: tuple[Breakdown, Breakdown] | None = None  # the daemon's, the floor's


async def soak(args: argparse.Namespace, run_dir: Path) -> Result:
    speed = args.days * 86400 / (args.minutes * 60)
    async with LoopbackServers.start(run_dir / "servers") as servers:
        floor = FloorProcess(run_dir / "floor.log")
        try:
            setup = await _set_up(servers, run_dir, floor)
            start = datetime.now(UTC).replace(microsecond=0)
            http_port = free_port()
            text = setup.config.read_text(encoding="utf-8")
            local = start.astimezone(TIMEZONE).replace(tzinfo=None)
            setup.config.write_text(year_config(text, local, args.days, http_port), "utf-8")
            return await _run(args, run_dir, setup, floor, start, speed, http_port, servers)
        finally:
            await floor.stop()


async def _run(
    args: argparse.Namespace, run_dir: Path, setup: Setup, floor: FloorProcess,
    start: datetime, speed: float, http_port: int, servers: LoopbackServers,
) -> Result:  # fmt: skip
    state = run_dir / "state"
    run_args = ["--now", start.isoformat(), "--speed", f"{speed:g}"]
    daemon = DaemonRun(setup.config, run_dir / "daemon.log", run_args)
    assert servers.synapse is not None
    alice = DemoMember(servers.synapse.base_url, *setup.alice, run_dir / "alice-soak")
    traffic, samples, tasks = Traffic(), [], []
    try:
        await daemon.start()
        await daemon.wait_ready()
        spawned = daemon.started  # the daemon's clock starts between this and READY

        def sim_now() -> datetime:
            return start + timedelta(seconds=(time.perf_counter() - spawned) * speed)

        await alice.login()
        alice.start()
        await _wait_bot_joined(alice, setup.core_room, daemon)
        real_s = args.minutes * 60
        mail_rate = args.mails_per_day * args.days / real_s  # per real second
        chat_rate = args.chats_per_day * args.days / real_s
        tasks = [
            asyncio.create_task(mail_traffic(setup, mail_rate, traffic)),
            asyncio.create_task(chat_traffic(alice, setup.core_room, chat_rate, traffic)),
            asyncio.create_task(feed_reader(http_port, traffic)),
        ]
        end = spawned + real_s
        print(f"simulating {args.days} days at {speed:.0f}× in {args.minutes:g} min;"
              f" sampling every {args.sample:g} s", flush=True)  # fmt: skip
        while time.perf_counter() < end:
            await asyncio.sleep(min(args.sample, max(0.1, end - time.perf_counter())))
            daemon.check_running()
            for task in tasks:
                if task.done() and task.exception() is not None:
                    raise BenchError(f"traffic failed: {task.exception()!r}")
            samples.append(await asyncio.to_thread(take_sample, daemon, state, spawned, sim_now()))
            print(samples[-1].line(), flush=True)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await _drain(daemon, setup.mailbox, state, len(traffic.mails))
        print(f"traffic stopped and handled; both idle for {args.idle:g} s", flush=True)
        await asyncio.sleep(args.idle)
        daemon.check_running()
        final, floor_memory = (
            tree_memory(daemon.pid, "daemon (wijkbode run)"),
            tree_memory(floor.pid, "nio client"),
        )
        samples.append(await asyncio.to_thread(take_sample, daemon, state, spawned, sim_now()))
        print(samples[-1].line(), flush=True)
        libraries = mapped_libraries(daemon.pid)
        breakdowns = breakdown(daemon.pid), breakdown(floor.pid)
        lower_bound = start + timedelta(seconds=(time.perf_counter() - daemon.started
                                                 - (daemon.ready_after or 0)) * speed)  # fmt: skip
    finally:
        for task in tasks:
            task.cancel()
        await alice.close()
        code, _ = await daemon.stop()
    problems, counts = await asyncio.to_thread(
        check, state, setup.mailbox, traffic, lower_bound - timedelta(hours=6)
    )
    if code != 0:
        problems.append(f"the daemon exited {code} on SIGTERM")
    return Result(samples, final, floor_memory, traffic, problems, counts, args.idle, speed,
                  args.days, libraries, breakdowns)  # fmt: skip


async def _wait_bot_joined(alice: DemoMember, room: str, daemon: DaemonRun) -> None:
    """Chat traffic starts once the bot is in the core room (it joins on its invite)."""
    bot = f"@wijkbode:{alice.user_id.partition(':')[2]}"  # harness.demo_config.BOT
    deadline = time.perf_counter() + 120
    while not alice.is_joined(room, bot):  # alice keeps syncing in the background
        daemon.check_running()
        if time.perf_counter() > deadline:
            raise BenchError("the bot did not join the core room within 120 s")
        await asyncio.sleep(0.5)


async def _drain(daemon: DaemonRun, mailbox: MailboxLogin, state: Path, mails: int) -> None:
    """Until INBOX is empty, every mail handled and nothing due is pending in the outbox."""
    deadline = time.perf_counter() + DRAIN_TIMEOUT_S
    while time.perf_counter() < deadline:
        daemon.check_running()
        inbox = (await asyncio.to_thread(folder_counts, mailbox, ["INBOX"]))["INBOX"]
        with contextlib.suppress(sqlite3.Error), read_only(store_path(state)) as conn:
            handled = conn.execute("SELECT count(*) FROM mail_handled").fetchone()[0]
            pending = conn.execute("SELECT count(*) FROM outbox WHERE status = 'pending'"
                                   " AND attempts = 0").fetchone()[0]  # fmt: skip
            if inbox == 0 and handled >= mails and pending == 0:
                return
        await asyncio.sleep(1)
    raise BenchError(f"the daemon did not finish the traffic within {DRAIN_TIMEOUT_S:.0f} s")


def check(
    state: Path, mailbox: MailboxLogin, traffic: Traffic, due_before: datetime
) -> tuple[list[str], dict[str, object]]:
    """Each mail and filing once; every moment due fired once or skipped; outbox empty."""
    problems: list[str] = []
    due = due_before.astimezone(UTC).isoformat(timespec="microseconds")
    with read_only(store_path(state)) as conn:
        rows, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT message_id) FROM mail_handled"
        ).fetchone()
        chat_items = conn.execute("SELECT count(*) FROM chat_items").fetchone()[0]
        filed_chat = conn.execute(
            "SELECT count(*) FROM chat_items WHERE event_id IN (SELECT value FROM json_each(?))",
            (_json(traffic.chats),),
        ).fetchone()[0]
        jobs_due = dict(conn.execute(
            "SELECT status, count(*) FROM jobs WHERE due_at < ? GROUP BY status", (due,)
        ))  # fmt: skip
        jobs_late = dict(conn.execute(
            "SELECT status, count(*) FROM jobs WHERE due_at >= ? GROUP BY status", (due,)
        ))  # fmt: skip
        fired_without_rows = conn.execute(
            "SELECT count(*) FROM jobs j WHERE status = 'fired'"
            " AND note NOT LIKE '%no destinations%'"  # _fired_note: fired with no effects
            " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.key >= 'job/' || j.key || '/'"
            "   AND o.key < 'job/' || j.key || '0')"
        ).fetchone()[0]
        outbox = dict(conn.execute("SELECT status, count(*) FROM outbox GROUP BY status"))
        parked = [f"{channel} {key}: {error}" for channel, key, error in conn.execute(
            "SELECT channel, key, last_error FROM outbox WHERE status = 'parked' LIMIT 10"
        )]  # fmt: skip
        skipped = dict(conn.execute(
            "SELECT note, count(*) FROM jobs WHERE status = 'skipped' GROUP BY note"
        ))  # fmt: skip
    folders = folder_counts(mailbox, ["INBOX"])
    checks = [
        (rows == len(traffic.mails), f"{rows} mails handled for {len(traffic.mails)} sent"),
        (distinct == rows, f"{distinct} distinct Message-IDs in {rows} rows"),
        (filed_chat == len(traffic.chats), f"{filed_chat} of {len(traffic.chats)} chat filings"),
        (folders["INBOX"] == 0, f"INBOX holds {folders['INBOX']}"),
        (jobs_due.get("pending", 0) == 0, f"{jobs_due.get('pending', 0)} jobs due but pending"),
        (jobs_due.get("failed", 0) == 0, f"{jobs_due.get('failed', 0)} jobs failed"),
        (fired_without_rows == 0, f"{fired_without_rows} fired jobs without their outbox rows"),
        (not parked, f"{outbox.get('parked', 0)} outbox rows parked ({'; '.join(parked)})"),
        (traffic.feed_errors == 0, f"{traffic.feed_errors} feed reads failed or were partial"),
    ]
    problems += [why for ok, why in checks if not ok]
    counts: dict[str, object] = {
        "mails": rows, "chat filings": filed_chat, "chat items": chat_items,
        "jobs due": jobs_due, "jobs not yet due": jobs_late, "outbox": outbox,
        "skipped by policy": skipped, "feed reads": traffic.feed_reads,
    }  # fmt: skip
    return problems, counts


def _json(values: list[str]) -> str:
    import json

    return json.dumps(values)


# --- the report ------------------------------------------------------------------------


def growth_lines(samples: list[Sample]) -> list[str]:
    if len(samples) <= WARM_UP_SAMPLES + 1:
        return ["growth: too few samples to compare (run longer or sample more often)"]
    first, last = samples[WARM_UP_SAMPLES], samples[-1]
    items = last.items - first.items
    rss = (last.daemon_rss_kb - first.daemon_rss_kb) / 1024
    tree = (last.rss_kb - first.rss_kb) / 1024
    pss = (last.pss_kb - first.pss_kb) / 1024
    per_item = statistics.median(s.db_per_item for s in samples[WARM_UP_SAMPLES:])
    return [
        f"growth from sample {WARM_UP_SAMPLES + 1} ({first.sim:%Y-%m-%d}, {first.items} items)"
        f" to the last ({last.sim:%Y-%m-%d}, {last.items} items, {items:+d}):"
        f" the daemon's RSS {rss:+.1f} MB ({rss * 1024 / max(1, items):+.1f} kB per item);"
        f" the whole tree RSS {tree:+.1f} MB, PSS {pss:+.1f} MB (parse workers come and go);"
        f" database {(last.db_bytes - first.db_bytes) / 1e6:+.2f} MB, per item"
        f" {first.db_per_item / 1024:.1f} → {last.db_per_item / 1024:.1f} kB"
        f" (median {per_item / 1024:.1f}); documents"
        f" {(last.documents_bytes - first.documents_bytes) / 1e6:+.1f} MB",
    ]


LIBRARIES_OF_NOTE = ("pango", "harfbuzz", "cairo", "fontconfig", "etree", "vodozemac")


def mapped_libraries(pid: int) -> list[str]:
    """Shared libraries of note the process has mapped: what it loaded stays resident."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return []
    names = {Path(line.split()[-1]).name for line in maps.splitlines() if ".so" in line}
    return sorted(n for n in names if any(k in n for k in LIBRARIES_OF_NOTE))


def memory_lines(result: Result) -> list[str]:
    pss = sum(p.pss_kb for p in result.final) / sum(p.pss_kb for p in result.floor)
    rss = sum(p.rss_kb for p in result.final) / sum(p.rss_kb for p in result.floor)
    lines = [
        f"memory after a simulated year ({result.days} days) and {result.idle_s:.0f} s idle:",
        *tree_lines("Wijkbode, whole process tree", result.final),
        *tree_lines(
            "floor, a bare matrix-nio client (E2EE store, same room, syncing)", result.floor
        ),
        f"ratio: PSS {pss:.2f}× the floor ({_verdict(pss)}), RSS {rss:.2f}× ({_verdict(rss)});"
        f" goal ≤ {GOAL}×",
        "libraries of note mapped in the daemon at the end: "
        + (", ".join(result.libraries) or "none"),
    ]
    if result.breakdowns is not None:
        lines.append("by kind of mapping (bench/memory_imports.py splits the code by library):")
        lines += [result.breakdowns[0].line("daemon"), result.breakdowns[1].line("floor")]
    return lines


def _verdict(ratio: float) -> str:
    return "met" if ratio <= GOAL else "not met"


def report(result: Result) -> list[str]:
    counts = "; ".join(f"{k}: {v}" for k, v in result.counts.items())
    last = result.samples[-1]
    verdict = (
        "all checks hold" if not result.problems else "PROBLEMS: " + "; ".join(result.problems)
    )
    return [
        f"clock {result.speed:.0f}× ({result.days} days); traffic: {len(result.traffic.mails)}"
        f" mails, {len(result.traffic.chats)} chat filings, {result.traffic.feed_reads} feed reads",
        counts,
        *growth_lines(result.samples),
        *memory_lines(result),
        f"soak: {result.days} days, {last.items} items, RSS {last.rss_kb / 1024:.0f} MB,"
        f" database {last.db_bytes / 1e6:.1f} MB; {verdict}",
    ]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--days", type=int, default=365, help="simulated days")
    p.add_argument("--minutes", type=float, default=10.0, help="real minutes for them")
    p.add_argument("--mails-per-day", type=float, default=3.0)
    p.add_argument("--chats-per-day", type=float, default=2.0)
    p.add_argument("--sample", type=float, default=30.0, help="seconds between samples")
    p.add_argument(
        "--idle", type=float, default=75.0, help="seconds idle before the last sample"
    )  # past the parse workers' idle exit (a minute by default), as bench/memory.py --idle 75
    return p


def run(args: argparse.Namespace) -> int:
    quiet_relay()
    load_before = load_average()
    try:
        with run_folder(for_dovecot=True) as run_dir:
            result = asyncio.run(soak(args, run_dir))
    except BenchError as error:
        print(f"soak failed: {error}", file=sys.stderr)
        return 1
    print("\n" + "\n".join(report(result)))
    print(f"load average: {load_before} before, {load_average()} after")
    return 1 if result.problems else 0


def main() -> None:
    raise SystemExit(run(parser().parse_args()))


if __name__ == "__main__":
    main()
