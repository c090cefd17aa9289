"""``wijkbode run``: the daemon."""

from __future__ import annotations

import argparse
import asyncio
import functools
from contextlib import AsyncExitStack
from typing import Any

from daemon.cli.common import config_from, parse_instant
from daemon.clock import Clock, ScaledClock, SystemClock
from daemon.config import Config
from daemon.config.runnable import check_runnable
from daemon.errors import ConfigError
from daemon.runtime import logs
from daemon.runtime.app import Components, run_daemon
from daemon.runtime.state_lock import hold_state_lock
from daemon.runtime.wiring import build_components
from daemon.store import Store, prepare_state_dir


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    run = subparsers.add_parser(
        "run",
        help="Start de daemon / Run the daemon",
        description=(
            "Draait Wijkbode tot SIGTERM of SIGINT; meldt zich bij systemd als die er is. "
            "/ Runs Wijkbode until SIGTERM or SIGINT; notifies systemd when started under it."
        ),
    )
    run.add_argument(
        "--now",
        metavar="ISO-8601",
        help="begin de klok op dit tijdstip (demo) / start the clock at this time (demo)",
    )
    run.add_argument(
        "--speed",
        type=float,
        default=None,
        help="laat de klok N keer zo snel lopen (demo) / run the clock N times as fast (demo)",
    )
    run.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING, ERROR")
    run.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help=(
            "log alles, ook adressen en namen (DEBUG) "
            "/ log everything, addresses and names included (DEBUG)"
        ),
    )
    run.set_defaults(handler=run_command)


def run_command(args: argparse.Namespace) -> int:
    logs.configure("DEBUG" if args.verbose else logs.checked_level(args.log_level))
    config = config_from(args)
    check_runnable(config)
    clock = _clock(args, config)
    prepare_state_dir(config.state_dir, create=True)
    # Held until the daemon has stopped and closed the store: one daemon per state directory.
    with hold_state_lock(config.state_dir):
        asyncio.run(
            run_daemon(
                functools.partial(Store.open, config.state_dir),
                functools.partial(_build, config),
                clock,
            )
        )
    return 0


def _clock(args: argparse.Namespace, config: Config) -> Clock:
    if args.now is None and args.speed is None:
        return SystemClock()
    if args.speed is not None and args.speed <= 0:
        raise ConfigError(f"--speed: moet positief zijn (must be positive), niet {args.speed}")
    start = parse_instant(args.now, config.timezone, "--now") if args.now else SystemClock().now()
    return ScaledClock(start, args.speed or 1.0)


async def _build(
    config: Config, store: Store, clock: Clock, resources: AsyncExitStack
) -> Components:
    return await build_components(config, store, clock, resources)
