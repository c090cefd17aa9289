"""``python -m harness.demo [--dir .demo] [--speed N] [--once]``: Wijkbode, live, on loopback.

Starts Synapse, Dovecot (IMAP + LMTP), the SMTP relay and Radicale (``LoopbackServers``),
makes the accounts and rooms, writes ``DIR/wijkbode.toml``, runs the real daemon and
plays a short scenario (see ``harness/demo_scenario.py``), then keeps running until
Ctrl-C; ``--once`` stops after the scenario. Every run starts from an empty ``DIR``.

Exit status: 0 every step done; 1 a step got no answer (the summary says which);
2 the demo could not set up; 130 stopped before the scenario finished.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Awaitable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from harness.demo_accounts import create_accounts
from harness.demo_config import (
    ALICE,
    ANNOUNCE_ALIAS,
    BOT,
    CALDAV_USER,
    CORE_ALIAS,
    config_text,
    make_plan,
    user_id,
)
from harness.demo_daemon import DaemonProcess, run_cli
from harness.demo_dir import DemoDirError, prepare_demo_dir
from harness.demo_member import DemoMember
from harness.demo_report import Report
from harness.demo_scenario import Demo, play
from harness.demo_watch import CalendarWatch, MailWatch, room_printer
from harness.servers import LoopbackServers

T = TypeVar("T")

READY_TIMEOUT_S = 90.0
EXIT_OK, EXIT_NOT_ALL_DONE, EXIT_SETUP, EXIT_INTERRUPTED = 0, 1, 2, 130
# After the summary the demo keeps printing what arrives, so it appears below it.
KEEPS_RUNNING = (
    "Wijkbode draait door; nieuwe berichten verschijnen hieronder. Ctrl-C stopt alles.",
    "Wijkbode keeps running; new messages appear below. Ctrl-C stops everything.",
)


class SetupError(Exception):
    """A setup step failed; the report already says which and why."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m harness.demo",
        description="Wijkbode live op loopback-servers / Wijkbode live against loopback servers.",
    )
    parser.add_argument("--dir", type=Path, default=Path(".demo"), help="demo directory (wiped)")
    parser.add_argument(
        "--speed", type=float, help="de klok van de daemon N keer zo snel / daemon clock N× fast"
    )
    parser.add_argument("--once", action="store_true", help="stop after the scenario")
    parser.add_argument(
        "--step-timeout", type=float, default=30.0, help="seconds to wait for each answer"
    )
    parser.add_argument(
        "--lead",
        type=float,
        help="real seconds until the scheduled announcement (default 60, 20 with --once)",
    )
    args = parser.parse_args(argv)
    if args.speed is not None and args.speed <= 0:
        parser.error("--speed must be positive")
    if args.lead is None:
        args.lead = 20.0 if args.once else 60.0
    return args


async def run(args: argparse.Namespace, report: Report) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        demo_dir = prepare_demo_dir(args.dir)
    except DemoDirError as error:
        report.line(f"demo: {error}")
        return EXIT_SETUP
    _intro(report, demo_dir)
    # The servers' own start is not interrupted (a half-started server would be left
    # behind); a Ctrl-C meanwhile is honoured right after.
    async with LoopbackServers.start(demo_dir / "servers") as servers:
        endpoints = servers.endpoints.to_json()
        (demo_dir / "servers" / "endpoints.json").write_text(endpoints + "\n", encoding="utf-8")
        report.done("servers", f"{demo_dir / 'servers' / 'endpoints.json'}")
        code = EXIT_INTERRUPTED
        if not stop.is_set():
            try:
                code = await _with_servers(args, report, servers, demo_dir, stop)
            except SetupError:
                code = EXIT_SETUP
        report.line("   Servers stoppen / stopping the servers …")
    report.line(
        f"   Klaar; alles staat nog in {demo_dir} (wijkbode.toml, daemon.log, state/) "
        "/ done; everything is still there"
    )
    return code


async def _with_servers(
    args: argparse.Namespace,
    report: Report,
    servers: LoopbackServers,
    demo_dir: Path,
    stop: asyncio.Event,
) -> int:
    assert servers.synapse is not None
    server_name = servers.endpoints.matrix.server_name if servers.endpoints.matrix else ""
    bot = user_id(BOT, server_name)
    async with AsyncExitStack() as stack:
        accounts = await _step(report, "accounts", create_accounts(servers, demo_dir / "secrets"))
        alice = DemoMember(
            servers.synapse.base_url,
            user_id(ALICE, server_name),
            accounts.alice_password,
            demo_dir / "alice",
        )
        stack.push_async_callback(alice.close)
        await _step(report, "accounts", alice.login())
        core = await _step(
            report,
            "accounts",
            alice.create_room(alias=CORE_ALIAS, name="Kerngroep", encrypted=True, invite=[bot]),
        )
        announce = await _step(
            report,
            "accounts",
            alice.create_room(alias=ANNOUNCE_ALIAS, name="Wijk", encrypted=False, invite=[bot]),
        )
        alice.on_message = room_printer(
            report, {core: "#kerngroep", announce: "#wijk"}, alice.user_id
        )
        alice.start()
        report.done(
            "accounts",
            f"{ALICE} en {BOT} op Synapse, #{CORE_ALIAS} (versleuteld/encrypted) en "
            f"#{ANNOUNCE_ALIAS}; postbus/mailbox, SMTP-login, agenda/calendar",
        )
        speed = args.speed
        plan = make_plan(datetime.now(UTC), timedelta(seconds=args.lead * (speed or 1.0)))
        config = demo_dir / "wijkbode.toml"
        config.write_text(
            config_text(servers.endpoints, plan, accounts.secrets, demo_dir), encoding="utf-8"
        )
        checked = await run_cli(config, "check-config")
        report.show(f"$ wijkbode --config {config} check-config", checked.stdout + checked.stderr)
        if checked.code != 0:
            report.failed("config", f"check-config exit {checked.code}")
            raise SetupError
        report.done("config", str(config))

        log_path = demo_dir / "daemon.log"
        extra = [] if speed is None else ["--speed", f"{speed:g}"]
        daemon = DaemonProcess(
            config, extra, log_path, lambda text: report.line(f"   daemon │ {text}")
        )
        report.heading(
            "De daemon start / the daemon starts",
            f"$ wijkbode --config {config} run {' '.join(extra)}".rstrip(),
            f"its log goes to {log_path} and, prefixed with 'daemon │', here",
        )
        started_wall, started_mono = datetime.now(UTC), time.monotonic()
        await _step(report, "daemon", daemon.start())
        stack.push_async_callback(_stop_daemon, report, daemon)
        if await daemon.wait_ready(READY_TIMEOUT_S):
            report.done("daemon", "READY=1")
        else:
            code = daemon.returncode
            report.failed("daemon", "exited" if code is not None else "no READY=1 in time")

        mail = MailWatch(servers.smtp, report)
        calendar = CalendarWatch(
            accounts.calendar_url, CALDAV_USER, _read(accounts.secrets.caldav), report
        )
        for watcher in (mail.run(), calendar.run()):
            stack.push_async_callback(_cancel, asyncio.create_task(watcher))
        demo = Demo(
            report=report,
            relay=servers.smtp,
            member=alice,
            daemon=daemon,
            config=config,
            bot=bot,
            core_room=core,
            announce_room=announce,
            plan=plan,
            speed=speed,
            step_timeout=args.step_timeout,
            log_name=str(log_path),
            mail=mail,
            calendar=calendar,
            started_wall=started_wall,
            started_mono=started_mono,
            once=args.once,
        )
        finished = await _until_stopped(play(demo), stop)
        report.summary()
        if not finished:
            return EXIT_INTERRUPTED
        if not args.once:
            report.say(*KEEPS_RUNNING)
            await stop.wait()
        return EXIT_OK if report.all_done else EXIT_NOT_ALL_DONE


async def _step(report: Report, step: str, work: Awaitable[T]) -> T:
    """Await a setup action; on an error, report the step as failed and stop the demo."""
    try:
        return await work
    except (OSError, RuntimeError, ValueError) as error:
        report.failed(step, f"{type(error).__name__}: {error}")
        raise SetupError from error


async def _until_stopped(work: Awaitable[None], stop: asyncio.Event) -> bool:
    """Run ``work``; ``False`` when ``stop`` was set first (``work`` is then cancelled)."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if task.done():
        task.result()  # an error in the scenario itself is the demo's bug: show it
        return True
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return False


async def _stop_daemon(report: Report, daemon: DaemonProcess) -> None:
    report.line("   Daemon stoppen / stopping the daemon (SIGTERM) …")
    code = await daemon.stop()
    report.line(f"   Daemon gestopt / daemon stopped (exit {code})")


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8").strip()


def _intro(report: Report, demo_dir: Path) -> None:
    report.heading(
        "Wijkbode-demo / Wijkbode demo",
        f"Alles draait lokaal (127.0.0.1) vanuit {demo_dir}: Synapse (Matrix), Dovecot (IMAP), "
        "een SMTP-relay die uitgaande mail opvangt, en Radicale (CalDAV). Elke run begint leeg.",
        f"Everything runs locally (127.0.0.1) from {demo_dir}: Synapse (Matrix), Dovecot "
        "(IMAP), an SMTP relay that captures outgoing mail, and Radicale (CalDAV). Each run "
        "starts empty.",
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m harness.demo``."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("mail.log").setLevel(logging.ERROR)  # aiosmtpd's AUTH deprecation note
    logging.getLogger("nio").setLevel(logging.ERROR)  # alice's client: retries are not news
    report = Report()
    return asyncio.run(run(args, report))


if __name__ == "__main__":
    sys.exit(main())
