"""Every benchmark in turn, and the README's "Measured" table from what they printed.

    .venv/bin/python bench/run_all.py [--quick] [--only NAME[,NAME...]] [--logs DIR]

Runs each bench script of this folder as its own process, one after the other
(they start their own loopback servers and would disturb each other side by
side), keeps each one's whole output in ``--logs`` (default: a fresh
``bench-logs-<time>`` folder under the system's temporary folder), and prints
one Markdown row per figure: what, Wijkbode, the floor or ceiling measured in
the same run, the ratio, the goal, and the command that reproduces it. A bench
that failed or printed something this script cannot read gets a row saying so
and pointing at its log. ``--quick`` runs every bench with small sizes, to
check that they all work (the figures then mean little). The load average is
printed before and after each bench: on a busy machine the figures are
provisional.

Names for ``--only``: mail, chat, chat-plain, engine, caldav, backlog, memory,
memory-year, feed, startup, soak (soak is left out unless named: it runs for
several minutes and is not one of the table's rows).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

Row = tuple[str, str, str, str, str]  # what, Wijkbode, floor, ratio, goal


@dataclass(frozen=True)
class Bench:
    name: str
    script: str
    args: list[str]
    quick: list[str]
    rows: Callable[[str], list[Row]]
    in_default: bool = True

    def argv(self, quick: bool) -> list[str]:
        return [sys.executable, str(HERE / self.script), *(self.quick if quick else self.args)]

    def command(self) -> str:
        return " ".join([".venv/bin/python", f"bench/{self.script}", *self.args])


def find(pattern: str, text: str) -> re.Match[str]:
    """The last match (a bench prints progress first, its figures at the end)."""
    found = list(re.finditer(pattern, text, re.MULTILINE))
    if not found:
        raise LookupError(pattern)
    return found[-1]


# --- readers of each bench's output ------------------------------------------------


def mail_rows(out: str) -> list[Row]:
    floor = find(r"^floor, a bare imap-tools IDLE loop .*: median (\d+) ms, p95 (\d+)", out)
    m = find(r"^SMTP delivery to stored item \(IDLE\): median (\d+) ms, p95 (\d+)", out)
    count = find(r"^mails: (\d+) to each mailbox", out)
    ratio = find(r"^ratio: ([\d.]+)× the floor \(medians\); (.*)$", out)
    return [(f"SMTP delivery → stored item, IMAP IDLE ({count[1]} mails)",
             f"median {m[1]} ms, p95 {m[2]} ms",
             f"median {floor[1]} ms, p95 {floor[2]} ms (bare imap-tools IDLE loop: fetch + parse)",
             f"{ratio[1]}×", ratio[2])]  # fmt: skip


def chat_rows(out: str) -> list[Row]:
    m = find(r"^messages: (\d+) \((\w+) room\)", out)
    floor = find(r"^floor, a bare matrix-nio echo bot .*: median (\d+) ms, p95 (\d+)", out)
    ours = find(r"^member's message to Wijkbode's confirmation: median (\d+) ms, p95 (\d+)", out)
    ratio = find(r"^ratio: ([\d.]+)× the floor \(medians\); goal ≤ ([\d.]+)×: ([\w ]+)$", out)
    return [(f"`Agendapunt:` → confirmation, {m[2]} room ({m[1]} messages)",
             f"median {ours[1]} ms, p95 {ours[2]} ms",
             f"median {floor[1]} ms, p95 {floor[2]} ms (bare matrix-nio echo bot)",
             f"{ratio[1]}×", f"≤ {ratio[2]}× ({ratio[3]})")]  # fmt: skip


def engine_rows(out: str) -> list[Row]:
    fired = find(r"fired (\d+) jobs in [\d.]+ s: ([\d.]+) jobs/s", out)
    row = r"^\s+(\S+)\s+\d+ rows in\s+[\d.]+ s:\s+([\d.]+) rows/s"
    rates = {m[1]: m[2] for m in re.finditer(row, out, re.M)}
    channels = " / ".join(f"{name} {rate}" for name, rate in rates.items())
    return [
        (f"scheduler firing ({fired[1]} jobs)", f"{float(fired[2]):.0f} jobs/s", "–", "–", "–"),
        ("outbox delivery, one row at a time (rows/s)", channels, "–", "–", "–"),
    ]


def caldav_rows(out: str) -> list[Row]:
    rates = {m[1]: (m[2], m[3]) for m in re.finditer(
        r"^\s+(create|move|resend)\s+.*?([\d.]+)/s.*?median\s+([\d.]+) ms", out, re.M)}  # fmt: skip
    if not rates:
        raise LookupError("caldav")
    text = " / ".join(f"{k} {v[0]}/s (median {v[1]} ms)" for k, v in rates.items())
    return [("CalDAV writes to Radicale", text, "–", "–", "–")]


def backlog_rows(out: str) -> list[Row]:
    wijk = find(r"every mail is an item, .*: (\d+) mails in [\d.]+ s = ([\d.]+) mails/s\n", out)
    floor = find(r"floor, .*: \d+ mails in [\d.]+ s = ([\d.]+) mails/s", out)
    ratio = find(r"ratio: ([\d.]+)× the floor \(goal ≥ ([\d.]+)×: ([\w ]+)\)", out)
    receipted = find(r"every receipt is delivered as well: .* = ([\d.]+) mails/s, ([\d.]+)×", out)
    once = find(r"exactly once: (.*)", out)
    return [(f"{wijk[1]} partner mails waiting at start, until each is an item",
             f"{float(wijk[2]):.0f} mails/s (until receipted: {float(receipted[1]):.0f} mails/s,"
             f" {receipted[2]}×; exactly once: {once[1]})",
             f"{float(floor[1]):.0f} mails/s (bare imap-tools fetch + parse)",
             f"{ratio[1]}×", f"≥ {ratio[2]}× ({ratio[3]})")]  # fmt: skip


def memory_rows(out: str) -> list[Row]:
    ours = find(r"Wijkbode, whole process tree: RSS\s+([\d.]+) MB, PSS\s+([\d.]+) MB", out)
    floor = find(r"floor, a bare matrix-nio client.*: RSS\s+([\d.]+) MB, PSS\s+([\d.]+) MB", out)
    ratio = find(r"ratio: PSS ([\d.]+)× the floor \(([\w ]+)\), RSS ([\d.]+)× \(([\w ]+)\)", out)
    when = find(r"memory after (.*):", out)
    return [(f"memory of the whole process tree, {when[1]}",
             f"RSS {ours[1]} MB, PSS {ours[2]} MB",
             f"RSS {floor[1]} MB, PSS {floor[2]} MB (bare matrix-nio E2EE client)",
             f"RSS {ratio[3]}×, PSS {ratio[1]}×",
             f"≤ 1.5× (RSS {ratio[4]}, PSS {ratio[2]})")]  # fmt: skip


def feed_rows(out: str) -> list[Row]:
    rows: list[Row] = []
    for kind in ("full", "304"):
        ours = find(rf"^Wijkbode[^\n]*?\s{kind}\s+([\d.]+)\s+[\d.]+\s+([\d.]+)", out)
        ceiling = find(rf"^ceiling[^\n]*?\s{kind}\s+([\d.]+)", out)
        ratio = find(rf"^{kind}: Wijkbode / ceiling = ([\d.]+) \(goal >= ([\d.]+)\) (\w+)", out)
        rows.append((f"`/agenda.ics` {kind}, 50 keep-alive clients",
                     f"{float(ours[1]):.0f} req/s, p99 {ours[2]} ms",
                     f"{float(ceiling[1]):.0f} req/s (bare aiohttp, same bytes)",
                     f"{ratio[1]}×", f"≥ {ratio[2]}× ({ratio[3]})"))  # fmt: skip
    return rows


def startup_rows(out: str) -> list[Row]:
    empty = find(r"start-up to READY, empty store: median ([\d.]+) s", out)
    full = find(r"start-up to READY, ten years of history: median ([\d.]+) s", out)
    verdict = find(
        r"history adds ([+-][\d.]+) s \(([\d.]+)× the empty store\); goal ≤ (\d+) s: ([\w ]+)", out
    )
    history = find(r"history: (\d+) meetings, (\d+) items, (\d+) documents", out)
    agenda = find(r"CLI `agenda --json` .*\((?:next meeting, )?(\d+) items.*median (\d+) ms", out)
    helps = find(r"CLI `--help`: median (\d+) ms.*agenda --json is ([\d.]+)× --help", out)
    return [
        (f"start-up to READY, {history[2]} items and {history[3]} documents",
         f"{full[1]} s", f"{empty[1]} s (empty store)", f"{verdict[2]}× ({verdict[1]} s)",
         f"≤ {verdict[3]} s and flat ({verdict[4]})"),
        (f"`wijkbode agenda --json` on that store ({agenda[1]} items)", f"{agenda[2]} ms",
         f"{helps[1]} ms (`wijkbode --help`)", f"{helps[2]}×", "–"),
    ]  # fmt: skip


def soak_rows(out: str) -> list[Row]:
    m = find(r"^soak: (.*)$", out)
    return [("soak: a simulated year", m[1], "–", "–", "every moment once; growth with data")]


BENCHES = [
    Bench("mail", "mail_latency.py", ["--mails", "50"], ["--mails", "5"], mail_rows),
    Bench("chat", "chat_latency.py", [], ["--messages", "5"], chat_rows),
    Bench("chat-plain", "chat_latency.py", ["--plain"], ["--plain", "--messages", "5"], chat_rows),
    Bench("engine", "engine_throughput.py", ["--meetings", "50"], ["--meetings", "5"], engine_rows),
    Bench("caldav", "caldav_writes.py", ["--events", "60"], ["--events", "5"], caldav_rows),
    Bench("backlog", "backlog.py", [], ["--mails", "100"], backlog_rows),
    Bench("memory", "memory.py", ["--idle", "75"], ["--mails", "20", "--idle", "5"], memory_rows),
    Bench(
        "memory-year",
        "memory.py",
        ["--year", "--idle", "75"],
        ["--year", "--days", "30", "--minutes", "1.5", "--idle", "5"],
        memory_rows,
    ),
    Bench("feed", "feed.py", [], ["--duration", "2", "--meetings", "5"], feed_rows),
    Bench(
        "startup",
        "startup.py",
        [],
        [
            "--items",
            "300",
            "--documents",
            "1200",
            "--years",
            "2",
            "--starts",
            "2",
            "--cli-runs",
            "2",
        ],
        startup_rows,
    ),
    Bench(
        "soak",
        "soak.py",
        [],
        ["--days", "30", "--minutes", "1.5", "--idle", "5"],
        soak_rows,
        in_default=False,
    ),
]


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} / {five:.2f} (1 / 5 min, {os.cpu_count()} cores)"


def run(bench: Bench, quick: bool, logs: Path) -> tuple[list[Row], str]:
    log = logs / f"{bench.name}.log"
    before = load()
    started = time.perf_counter()
    with log.open("w") as out:
        done = subprocess.run(bench.argv(quick), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                              check=False)  # fmt: skip
    note = f"{bench.name}: exit {done.returncode} in {time.perf_counter() - started:.0f} s;"
    note += f" {before} before, {load()} after; log {log}"
    text = log.read_text(errors="replace")
    try:
        rows = bench.rows(text)
    except LookupError:
        rows = [(bench.name, f"no figures (exit {done.returncode}): see {log}", "", "", "")]
    return rows, note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: check that all run")
    parser.add_argument("--only", help="comma-separated bench names (see the module docstring)")
    parser.add_argument("--logs", type=Path, help="folder for each bench's output")
    args = parser.parse_args()
    names = {b.name for b in BENCHES}
    chosen = [b for b in BENCHES if b.in_default]
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in names]
        if unknown:
            parser.error(f"unknown bench: {', '.join(unknown)} (known: {', '.join(sorted(names))})")
        chosen = [b for b in BENCHES if b.name in wanted]
    logs = args.logs or Path(tempfile.mkdtemp(prefix=f"bench-logs-{time.strftime('%H%M%S')}-"))
    logs.mkdir(parents=True, exist_ok=True)
    table = ["| what | Wijkbode | floor | ratio | goal | command |", "|---|---|---|---|---|---|"]
    notes = []
    for bench in chosen:
        print(f"running {bench.name} ({' '.join(bench.argv(args.quick)[1:])}) ...", flush=True)
        rows, note = run(bench, args.quick, logs)
        notes.append(note)
        print("  " + note, flush=True)
        table += [f"| {' | '.join(row)} | `{bench.command()}` |" for row in rows]
    print("\n" + "\n".join(table))
    print("\n" + "\n".join(notes))
    if args.quick:
        print("(--quick: small sizes, the figures only show that each bench runs)")


if __name__ == "__main__":
    main()
