"""The calendar feed under load: Wijkbode next to a minimal aiohttp server and Radicale.

    .venv/bin/python bench/feed.py [--duration 10] [--connections 50] [--meetings 26]

One run, three servers, each measured full (200) and conditional (304):

- Wijkbode: the real daemon (``python -m daemon run``) with ``[http]`` and
  ``[caldav]`` on a plan of N daily bewonersbijeenkomsten (at most 26), all
  past their T-28d, so all published in the feed and written to Radicale.
  ``/agenda.ics`` is measured while the daemon runs its other loops (the
  scheduler, the outbox dispatchers for CalDAV and the feed, the public
  timer), once they have delivered every event;
- the ceiling: a minimal aiohttp server (``web.Application`` with one GET
  handler, no middleware) returning the same bytes, cached, with a strong
  ETag and 304 on ``If-None-Match``;
- Radicale: the same events in a collection (the daemon wrote them there),
  read as the whole collection with one GET (Radicale answers no 304 to it).

wrk (a C load generator) runs pinned to CPU 0 (``taskset``) with 50
keep-alive connections; each server runs pinned to CPU 1. Per run:
requests/s, p50 and p99 latency, and errors (socket errors and answers of
status 400 or more). The goals (issue 16): Wijkbode at least 0.5 x the ceiling
for full and 304, p99 under 50 ms, no error. Exit status 0 when every goal
holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from common import run_folder

from harness.demo_accounts import make_calendar
from harness.radicale import RadicaleServer

ROOT = Path(__file__).resolve().parents[1]
WRK_CPU, SERVER_CPU = "0", "1"
FIRST = datetime(2027, 3, 2, 19, 30)  # local; the clock starts a day before it
MAX_MEETINGS = 26
GOAL_RATIO, GOAL_P99_MS = 0.5, 50.0

CEILING = r"""
import sys
from aiohttp import web

body = open(sys.argv[1], "rb").read()
etag = sys.argv[2]
headers = {"ETag": etag, "Content-Type": "text/calendar; charset=utf-8"}

async def feed(request):
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag})
    return web.Response(body=body, headers=headers)

app = web.Application()
app.router.add_get("/agenda.ics", feed)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[3]), access_log=None, print=None)
"""


@dataclass(frozen=True)
class Result:
    server: str
    kind: str  # "full" or "304"
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def pin(pid: int) -> None:
    """Put every thread of ``pid`` on the server CPU."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        subprocess.run(["taskset", "-pc", SERVER_CPU, task.name], capture_output=True, check=False)


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def wait_for(check: object, what: str, within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if check():  # type: ignore[operator]
                return
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}")


def wrk(url: str, headers: dict[str, str], duration: int, connections: int) -> str:
    command = ["taskset", "-c", WRK_CPU, "wrk", "-t1", f"-c{connections}", f"-d{duration}s"]
    command += ["--latency", "--timeout", "5s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    result = subprocess.run([*command, url], capture_output=True, text=True, check=True)
    return result.stdout


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_wrk(server: str, kind: str, output: str) -> Result:
    def latency(percent: str) -> float:
        found = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        if found is None:
            raise ValueError(f"no {percent}% latency in wrk's output:\n{output}")
        return float(found[1]) * _UNITS[found[2]]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    status = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = (sum(int(n) for n in socket_errors.groups()) if socket_errors else 0) + (
        int(status[1]) if status else 0
    )
    if rps is None or total is None:
        raise ValueError(f"unreadable wrk output:\n{output}")
    return Result(server, kind, float(rps[1]), latency("50"), latency("99"), errors, int(total[1]))


def config_text(folder: Path, port: int, meetings: int, caldav: tuple[str, str, Path]) -> str:
    # One a day (a series has at most one a day), all within 27 days: every one is
    # announced (T-28d) at the start, so the feed and the CalDAV calendar hold them all.
    dates = ", ".join(f"{FIRST + timedelta(days=n):%Y-%m-%dT%H:%M:%S}" for n in range(meetings))
    url, user, secret = caldav
    return (
        'timezone = "Europe/Amsterdam"\nlanguage = "nl"\n'
        f'state_dir = "{folder / "state"}"\ndefault_series = "bewonersbijeenkomst"\n\n'
        '[series.bewonersbijeenkomst]\ntitle = "Bewonersbijeenkomst"\npublic = true\n'
        'location = "Buurthuis De Meeuw"\n\n'
        f"[series.bewonersbijeenkomst.plan]\ndates = [{dates}]\n\n"
        f'[caldav]\nurl = "{url}"\ncalendar = "Wijkagenda"\nusername = "{user}"\n'
        f'password_file = "{secret}"\n\n'
        f'[http]\nlisten = "127.0.0.1:{port}"\npublic_url = "https://wijk.example.org"\n'
    )


def measure(
    server: str, url: str, headers: dict[str, str], etag: str | None, args: argparse.Namespace
) -> list[Result]:
    found = [parse_wrk(server, "full", wrk(url, headers, args.duration, args.connections))]
    if etag is not None:
        conditional = {**headers, "If-None-Match": etag}
        output = wrk(url, conditional, args.duration, args.connections)
        found.append(parse_wrk(server, "304", output))
    return found


def check_304(url: str, etag: str, headers: dict[str, str] | None = None) -> bool:
    status, _, body = get(url, {**(headers or {}), "If-None-Match": etag})
    return status == 304 and body == b""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--meetings", type=int, default=MAX_MEETINGS)
    args = parser.parse_args()
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: scripts/bootstrap installs it")
    if not 1 <= args.meetings <= MAX_MEETINGS:
        raise SystemExit(f"--meetings: 1 to {MAX_MEETINGS} (one a day, all announced)")
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("needs two CPUs: one for wrk, one for the server")

    results: list[Result] = []
    with run_folder() as folder:
        radicale = RadicaleServer(folder / "radicale")
        asyncio.run(radicale.start())
        daemon: subprocess.Popen[bytes] | None = None
        ceiling: subprocess.Popen[bytes] | None = None
        try:
            radicale_pid = radicale._process.pid
            assert radicale_pid is not None
            pin(radicale_pid)
            user, password = f"wb{secrets.token_hex(4)}", secrets.token_urlsafe(12)
            account = radicale.add_user(user, password)
            calendar_url = make_calendar(account.url, user, password)
            secret = folder / "caldav.secret"
            secret.write_text(password + "\n")
            secret.chmod(0o600)
            port = free_port()
            config = folder / "wijkbode.toml"
            config.write_text(config_text(folder, port, args.meetings, (account.url, user, secret)))
            start = f"{FIRST - timedelta(days=1):%Y-%m-%dT%H:%M:%S}"  # every one announced
            log = (folder / "daemon.log").open("wb")
            daemon = subprocess.Popen(
                ["taskset", "-c", SERVER_CPU, sys.executable, "-m", "daemon",
                 "--config", str(config), "run", "--now", start, "--speed", "1"],
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip
            feed_url = f"http://127.0.0.1:{port}/agenda.ics"
            auth = base64.b64encode(f"{user}:{password}".encode()).decode()
            radicale_headers = {"Authorization": f"Basic {auth}"}

            def all_there() -> bool:
                _, _, body = get(feed_url)
                _, _, stored = get(calendar_url, radicale_headers)
                return (
                    body.count(b"BEGIN:VEVENT") == args.meetings
                    and stored.count(b"BEGIN:VEVENT") == args.meetings
                )

            try:
                wait_for(all_there, "every meeting in the feed and in Radicale", within=300)
            except SystemExit:
                print((folder / "daemon.log").read_text(errors="replace")[-3000:])
                print(get(feed_url)[2].count(b"BEGIN:VEVENT"), "events in the feed")
                raise
            status, headers, body = get(feed_url)
            etag = headers["ETag"]
            assert status == 200
            assert check_304(feed_url, etag)
            print(f"feed: {len(body)} bytes, {args.meetings} events; Radicale holds the same")

            results += measure("Wijkbode (daemon)", feed_url, {}, etag, args)

            body_file = folder / "feed.ics"
            body_file.write_bytes(body)
            ceiling_port = free_port()
            ceiling = subprocess.Popen(
                ["taskset", "-c", SERVER_CPU, sys.executable, "-c", CEILING,
                 str(body_file), etag, str(ceiling_port)],
                cwd=ROOT, stdin=subprocess.DEVNULL,
            )  # fmt: skip
            ceiling_url = f"http://127.0.0.1:{ceiling_port}/agenda.ics"
            wait_for(lambda: get(ceiling_url)[2] == body, "the ceiling server")
            results += measure("ceiling (bare aiohttp)", ceiling_url, {}, etag, args)

            _, radicale_answer, _ = get(calendar_url, radicale_headers)
            radicale_tag = radicale_answer.get("ETag")
            if radicale_tag and not check_304(calendar_url, radicale_tag, radicale_headers):
                radicale_tag = None  # no 304 on a collection GET: only the full run
            results += measure("Radicale (collection)", calendar_url, radicale_headers,
                               radicale_tag, args)  # fmt: skip
        finally:
            for process in (ceiling, daemon):
                if process is not None and process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        process.wait(30)
                    if process.poll() is None:
                        process.kill()
            asyncio.run(radicale.stop())
        daemon_log = (folder / "daemon.log").read_text(errors="replace")
        tracebacks = daemon_log.count("Traceback")

    return report(results, args, tracebacks)


def report(results: list[Result], args: argparse.Namespace, tracebacks: int) -> int:
    print(
        f"\n/agenda.ics, {args.connections} keep-alive connections, {args.duration} s per run,"
        f" wrk on CPU {WRK_CPU}, server on CPU {SERVER_CPU}\n"
    )
    print(f"{'server':<24} {'kind':<5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for r in results:
        print(
            f"{r.server:<24} {r.kind:<5} {r.rps:>9.0f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f}"
            f" {r.errors:>7}"
        )
    ours = {r.kind: r for r in results if r.server.startswith("Wijkbode")}
    ceiling = {r.kind: r for r in results if r.server.startswith("ceiling")}
    radicale = [r for r in results if r.server.startswith("Radicale")]
    if not any(r.kind == "304" for r in radicale):
        print("Radicale answers no 304 to a collection GET: only its full run is measured")
    ok = tracebacks == 0
    print()
    for kind in ("full", "304"):
        ratio = ours[kind].rps / ceiling[kind].rps
        good = ratio >= GOAL_RATIO
        ok &= good
        verdict = "ok" if good else "MISSED"
        print(f"{kind}: Wijkbode / ceiling = {ratio:.2f} (goal >= {GOAL_RATIO}) {verdict}")
    p99 = max(r.p99_ms for r in ours.values())
    errors = sum(r.errors for r in ours.values())
    ok &= p99 < GOAL_P99_MS and errors == 0
    print(f"Wijkbode p99 {p99:.2f} ms (goal < {GOAL_P99_MS:g} ms); errors {errors} (goal 0)")
    print(f"tracebacks in the daemon's log: {tracebacks}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
