"""Idle memory of the whole Wijkbode process tree after a mail backlog, next to a bare nio client.

    .venv/bin/python bench/memory.py [--mails 300] [--idle 20] [--timeout SECONDS]
    .venv/bin/python bench/memory.py --year [--days 365] [--minutes 10] [--idle 20]

Starts the harness' servers (Synapse, Dovecot, the SMTP relay, Radicale) on
loopback once and sets up the demo's world (harness/demo_accounts.py and
demo_config.py): the mailbox, SMTP login and calendar, the bot and alice on
Synapse, alice's encrypted core room and public room with the bot invited,
and the demo's whole ``wijkbode.toml`` ([matrix], [mail], [caldav]).

- floor: a bare matrix-nio client in its own process (this script with
  ``--nio-floor``): AsyncClient with an E2EE store, logged in as its own
  user, joined to the same encrypted core room, in ``sync_forever``. It starts
  before the daemon, so it sees the room traffic of the backlog too.
- Wijkbode: ``python -m daemon --config CFG run`` on a fresh state directory,
  with N partner mails (bench/backlog.py's) waiting in its mailbox. Once every
  mail is handled, every receipt delivered and the core room's feed posted
  (the same checks as backlog.py, exactly once included), both sit idle for
  ``--idle`` seconds and are measured at the same moment.

With ``--year`` the measure comes after a simulated year instead of a
backlog: bench/soak.py's run (the same world, the same floor, plus ``[http]``;
the daemon's clock ``--days`` in ``--minutes``, with mail and chat traffic),
idle for ``--idle`` seconds at its end.

Memory is read from ``/proc/<pid>/smaps_rollup`` for the root process and
every live descendant (parse workers, a multiprocessing resource tracker):
RSS and PSS, listed per process and summed over the tree. PSS divides a shared
page among the processes that map it, so its sum is the tree's true share;
the RSS sum counts shared pages in each process. The ratio of the totals is
printed with the goal. Exit status: 0 when the run completed and every check
holds (whatever the ratio), 1 otherwise.
"""

# The floor process runs this same file; it must load nothing but matrix-nio, so the
# bench's own imports (harness, backlog.py, imap-tools) are made inside the functions
# that run in the bench process only.
from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from backlog import Backlog, DaemonFigures, DaemonRun, MailboxLogin

    from harness.servers import LoopbackServers

GOAL = 1.5  # issue 10: idle memory within 1.5× the bare client
FLOOR_READY_S = 90.0
FLOOR_ENV = ("HOMESERVER", "USER", "PASSWORD", "STORE", "ROOM")


# --- the floor: a bare nio client (runs in its own process) ----------------------------


async def nio_floor() -> int:
    """Log in with an E2EE store, join the room, say ``joined``, then sync until killed."""
    import nio

    env = {key: os.environ[f"BENCH_FLOOR_{key}"] for key in FLOOR_ENV}
    store = Path(env["STORE"])  # made by the bench
    config = nio.AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True)
    client = nio.AsyncClient(env["HOMESERVER"], env["USER"], store_path=str(store), config=config)
    try:
        login = await client.login(env["PASSWORD"], device_name="bench floor")
        if not isinstance(login, nio.LoginResponse):
            print(f"login failed: {login}", flush=True)
            return 1
        await client.sync(timeout=0, full_state=True)
        joined = await client.join(env["ROOM"])
        if not isinstance(joined, nio.JoinResponse):
            print(f"join failed: {joined}", flush=True)
            return 1
        await client.sync(timeout=0)
        if client.should_upload_keys:
            await client.keys_upload()
        print("joined", flush=True)
        await client.sync_forever(timeout=30_000)
    finally:
        await client.close()
    return 0


# --- measuring a process tree ------------------------------------------------------------


@dataclass(frozen=True)
class ProcessMemory:
    pid: int
    role: str
    rss_kb: int
    pss_kb: int


def tree_memory(root: int, root_role: str) -> list[ProcessMemory]:
    """RSS and PSS of ``root`` and each live descendant (from smaps_rollup)."""
    from backlog import tree_pids

    root_cmdline = _cmdline(root)
    found = []
    for pid in tree_pids(root):
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            cmdline = _cmdline(pid)
        except OSError:
            continue  # it exited meanwhile
        fields = {k: v.split()[0] for k, _, v in (ln.partition(":") for ln in rollup.splitlines())}
        role = root_role if pid == root else _role(cmdline, root_cmdline)
        found.append(ProcessMemory(pid, role, int(fields["Rss"]), int(fields["Pss"])))
    return found


@dataclass(frozen=True)
class Breakdown:
    """Where one process's memory is: RSS and PSS (kB) per kind of mapping."""

    pid: int
    parts: dict[str, tuple[int, int]]

    def line(self, name: str) -> str:
        shown = ", ".join(
            f"{kind} {rss / 1024:.1f}/{pss / 1024:.1f}" for kind, (rss, pss) in self.parts.items()
        )
        return f"  {name} (RSS/PSS MB): {shown}"


def breakdown(pid: int) -> Breakdown:
    """The process's smaps summed by kind: the Python heap (anonymous memory: objects,
    caches, malloc arenas), the interpreter, C extensions and shared libraries, other files.

    This is the profile that says what a memory figure is made of: code every Python
    process of these libraries maps, or data that grew in this one.
    """
    parts: dict[str, list[int]] = {}
    kind = "other"
    try:
        lines = Path(f"/proc/{pid}/smaps").read_text().splitlines()
    except OSError:
        return Breakdown(pid, {})
    for line in lines:
        head = line.split()
        if not head:
            continue
        if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
            path = head[5] if len(head) > 5 else ""
            if path in ("", "[heap]") or path.startswith("[anon"):
                kind = "heap"
            elif "python3" in Path(path).name or "libpython" in path:
                kind = "interpreter"
            elif ".so" in path:
                kind = "libraries"
            elif path.startswith("["):
                kind = "kernel"
            else:
                kind = "files"
        elif head[0] in ("Rss:", "Pss:"):
            totals = parts.setdefault(kind, [0, 0])
            totals[0 if head[0] == "Rss:" else 1] += int(head[1])
    order = ["heap", "interpreter", "libraries", "files", "kernel"]
    return Breakdown(pid, {k: (parts[k][0], parts[k][1]) for k in order if k in parts})


def _cmdline(pid: int) -> list[str]:
    raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _role(cmdline: list[str], root_cmdline: list[str]) -> str:
    """A short name for a child process, from its command line."""
    text = " ".join(cmdline)
    if "resource_tracker" in text:
        return "multiprocessing resource tracker"
    if "forkserver" in text:
        return "multiprocessing forkserver"
    if "spawn_main" in text or "--multiprocessing-fork" in text:
        return "multiprocessing child (parse worker)"
    if cmdline == root_cmdline:
        return "forked child"
    if "-m" in cmdline[:-1]:
        return "python -m " + cmdline[cmdline.index("-m") + 1]
    return " ".join([Path(cmdline[0]).name, *cmdline[1:]])[:60] if cmdline else "?"


def _mb(kb: int) -> str:
    return f"{kb / 1024:6.1f} MB"


def tree_lines(name: str, processes: list[ProcessMemory]) -> list[str]:
    rss, pss = sum(p.rss_kb for p in processes), sum(p.pss_kb for p in processes)
    lines = [f"{name}: RSS {_mb(rss)}, PSS {_mb(pss)} ({len(processes)} processes)"]
    lines += [
        f"  {p.role:<40} pid {p.pid:>7}  RSS {_mb(p.rss_kb)}  PSS {_mb(p.pss_kb)}"
        for p in processes
    ]
    return lines


# --- the run -----------------------------------------------------------------------


@dataclass
class Sample:
    """Both trees, taken at the same moment after the idle wait."""

    wijkbode: list[ProcessMemory]
    floor: list[ProcessMemory]
    idle_s: float
    daemon_breakdown: Breakdown
    floor_breakdown: Breakdown


class FloorProcess:
    """This script with ``--nio-floor`` as a child process."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self._process: asyncio.subprocess.Process | None = None
        self._log: BinaryIO | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    async def start(self, env: dict[str, str]) -> None:
        from backlog import die_with_parent

        self._process = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--nio-floor",
            env={**os.environ, **{f"BENCH_FLOOR_{k}": v for k, v in env.items()}},
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=self._open_log(), start_new_session=True,
            preexec_fn=die_with_parent,
        )  # fmt: skip

    def _open_log(self) -> BinaryIO:
        self._log = self.log_path.open("ab")
        return self._log

    async def wait_joined(self) -> None:
        from backlog import BenchError

        assert self._process is not None
        assert self._process.stdout is not None
        try:
            async with asyncio.timeout(FLOOR_READY_S):
                line = (await self._process.stdout.readline()).decode().strip()
        except TimeoutError:
            line = "(no answer in time)"
        if line != "joined":
            raise BenchError(f"the nio floor client did not join: {line}; see {self.log_path}")

    def check_running(self) -> None:
        from backlog import BenchError

        if self._process is not None and self._process.returncode is not None:
            raise BenchError(f"the nio floor client exited ({self._process.returncode})")

    async def stop(self) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                async with asyncio.timeout(10):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._log is not None:
            self._log.close()


async def measure(
    count: int, idle_s: float, limit_s: float, run_dir: Path
) -> tuple[Backlog, DaemonFigures, Sample]:
    from backlog import BenchError, make_backlog, run_daemon

    from harness.servers import LoopbackServers

    async with LoopbackServers.start(run_dir / "servers") as servers:
        floor = FloorProcess(run_dir / "floor.log")
        try:
            setup = await _set_up(servers, run_dir, floor)
            backlog = make_backlog(count, setup.address, partner_domain=setup.partner_domain)
            print(backlog.describe(), flush=True)
            await asyncio.to_thread(_fill, setup, backlog)
            sample: list[Sample] = []

            async def idle_then_sample(daemon: DaemonRun) -> None:
                print(f"backlog done; both idle for {idle_s:.0f} s", flush=True)
                await asyncio.sleep(idle_s)
                floor.check_running()
                daemon.check_running()
                wijkbode = tree_memory(daemon.pid, "daemon (wijkbode run)")
                floor_tree = tree_memory(floor.pid, "nio client")
                parts = breakdown(daemon.pid), breakdown(floor.pid)
                sample.append(Sample(wijkbode, floor_tree, idle_s, *parts))

            figures = await run_daemon(
                setup.config, run_dir, setup.mailbox, servers, backlog, limit_s,
                feed=True, while_running=idle_then_sample,
            )  # fmt: skip
            if not sample:
                raise BenchError("no memory sample was taken")
            return backlog, figures, sample[0]
        finally:
            await floor.stop()


@dataclass(frozen=True)
class Setup:
    config: Path
    address: str
    partner_domain: str
    mailbox: MailboxLogin
    core_room: str = ""  # alice's encrypted core room, where bench/soak.py files by chat
    alice: tuple[str, str] = ("", "")  # her user id and password


async def _set_up(servers: LoopbackServers, run_dir: Path, floor: FloorProcess) -> Setup:
    """The demo's accounts, rooms and config; the floor client joined to the core room."""
    import secrets
    from datetime import UTC, datetime, timedelta

    from backlog import MailboxLogin

    from harness.demo_accounts import create_accounts
    from harness.demo_config import (
        ADDRESS,
        ALICE,
        ANNOUNCE_ALIAS,
        BOT,
        CORE_ALIAS,
        MAIL_USER,
        config_text,
        make_plan,
        user_id,
    )
    from harness.demo_member import DemoMember

    assert servers.synapse is not None
    endpoints = servers.endpoints
    assert endpoints.matrix is not None
    server_name = endpoints.matrix.server_name
    accounts = await create_accounts(servers, run_dir / "secrets")
    floor_user, floor_password = await servers.synapse.register_user(
        f"vloer{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    )
    bot = user_id(BOT, server_name)
    alice = DemoMember(
        servers.synapse.base_url,
        user_id(ALICE, server_name),
        accounts.alice_password,
        run_dir / "alice",
    )
    try:
        await alice.login()
        core = await alice.create_room(
            alias=CORE_ALIAS, name="Kerngroep", encrypted=True, invite=[bot, floor_user]
        )
        await alice.create_room(alias=ANNOUNCE_ALIAS, name="Wijk", encrypted=False, invite=[bot])
    finally:
        await alice.close()
    (run_dir / "floor-store").mkdir()
    await floor.start({
        "HOMESERVER": servers.synapse.base_url, "USER": floor_user, "PASSWORD": floor_password,
        "STORE": str(run_dir / "floor-store"), "ROOM": core,
    })  # fmt: skip
    await floor.wait_joined()
    # A day's lead: no scheduled moment of the demo's plan falls within the bench.
    plan = make_plan(datetime.now(UTC), timedelta(days=1))
    config = run_dir / "wijkbode.toml"
    config.write_text(config_text(endpoints, plan, accounts.secrets, run_dir), encoding="utf-8")
    mailbox = MailboxLogin(
        endpoints.imap.host,
        endpoints.imap.imaps_port,
        MAIL_USER,
        accounts.secrets.imap.read_text().strip(),
        endpoints.imap.ca_file,
    )
    alice_login = (user_id(ALICE, server_name), accounts.alice_password)
    # amsterdam.nl: a partner domain of the demo
    return Setup(config, ADDRESS, "amsterdam.nl", mailbox, core, alice_login)


def _fill(setup: Setup, backlog: Backlog) -> None:
    from backlog import fill

    started = time.perf_counter()
    fill(setup.mailbox, backlog.mails)
    print(f"mailbox filled by IMAP APPEND in {time.perf_counter() - started:.1f} s", flush=True)


def report(backlog: Backlog, figures: DaemonFigures, sample: Sample) -> str:
    wijkbode, floor = sample.wijkbode, sample.floor
    pss = sum(p.pss_kb for p in wijkbode) / sum(p.pss_kb for p in floor)
    rss = sum(p.rss_kb for p in wijkbode) / sum(p.rss_kb for p in floor)
    return "\n".join([
        backlog.describe(),
        f"backlog: {figures.mails} mails handled in {figures.seconds:.1f} s"
        f" ({figures.rate:.1f} mails/s, READY after {figures.ready_after:.1f} s)",
        *figures.accounting.lines(),
        f"memory after {sample.idle_s:.0f} s idle:",
        *tree_lines("Wijkbode, whole process tree", wijkbode),
        *tree_lines("floor, a bare matrix-nio client (E2EE store, same room, syncing)", floor),
        f"ratio: PSS {pss:.2f}× the floor ({_verdict(pss)}), RSS {rss:.2f}× ({_verdict(rss)});"
        f" goal ≤ {GOAL}×",
        "by kind of mapping (bench/memory_imports.py splits the code by library):",
        sample.daemon_breakdown.line("daemon"),
        sample.floor_breakdown.line("floor"),
    ])  # fmt: skip


def _verdict(ratio: float) -> str:
    return "met" if ratio <= GOAL else "not met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=300)
    parser.add_argument("--idle", type=float, default=20.0, help="seconds idle before measuring")
    parser.add_argument(
        "--timeout", type=float, help="seconds the daemon may take (default 90 + N/4)"
    )
    parser.add_argument(
        "--year",
        action="store_true",
        help="after a simulated year with every connector and [http] on (bench/soak.py's run)",
    )
    parser.add_argument("--days", type=int, default=365, help="with --year: simulated days")
    parser.add_argument("--minutes", type=float, default=10.0, help="with --year: real minutes")
    parser.add_argument("--nio-floor", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.nio_floor:
        with contextlib.suppress(KeyboardInterrupt):
            raise SystemExit(asyncio.run(nio_floor()))
        return
    if args.year:
        from soak import parser as soak_parser
        from soak import run as run_soak

        year = ["--days", str(args.days), "--minutes", str(args.minutes), "--idle", str(args.idle)]
        raise SystemExit(run_soak(soak_parser().parse_args(year)))
    from backlog import BenchError, load_average, quiet_relay
    from common import run_folder

    quiet_relay()
    timeout = args.timeout or 90 + args.mails / 4
    load_before = load_average()
    try:
        with run_folder(for_dovecot=True) as run_dir:
            backlog, figures, sample = asyncio.run(measure(args.mails, args.idle, timeout, run_dir))
    except BenchError as error:
        print(f"memory bench failed: {error}", file=sys.stderr)
        raise SystemExit(1) from error
    print("\n" + report(backlog, figures, sample))
    print(f"load average: {load_before} before, {load_average()} after")
    if figures.accounting.problems or figures.exit_code != 0:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
