"""``python -m harness up [--dir DIR] [--user NAME:PASSWORD]``: run the loopback servers.

Prints the endpoints as JSON on stdout (and writes ``DIR/endpoints.json``),
then runs until SIGINT or SIGTERM and stops every server.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from harness.servers import LoopbackServers


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m harness", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start all servers and run until interrupted")
    up.add_argument("--dir", type=Path, help="run directory (default: a temp dir, removed)")
    up.add_argument("--no-synapse", action="store_true", help="leave Synapse out")
    up.add_argument("--smtp-mode", choices=["plain", "starttls", "tls"], default="starttls")
    up.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="NAME:PASSWORD",
        help="create this user on Dovecot, Radicale and Synapse (repeatable)",
    )
    return parser.parse_args(argv)


async def _add_user(servers: LoopbackServers, spec: str) -> None:
    name, _, password = spec.partition(":")
    if not name or not password:
        raise SystemExit(f"--user wants NAME:PASSWORD, got {spec!r}")
    servers.dovecot.add_user(name, password)
    servers.radicale.add_user(name, password)
    if servers.synapse is not None:
        try:
            await servers.synapse.register_user(name, password)
        except RuntimeError as error:
            if "M_USER_IN_USE" not in str(error):  # registered in an earlier run
                raise


async def _up(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Installed before anything starts, so an early SIGTERM still stops cleanly.
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with LoopbackServers.start(
        args.dir, smtp_mode=args.smtp_mode, with_synapse=not args.no_synapse
    ) as servers:
        for spec in args.user:
            await _add_user(servers, spec)
        endpoints = servers.endpoints.to_json()
        (servers.run_dir / "endpoints.json").write_text(endpoints + "\n", encoding="utf-8")
        print(endpoints, flush=True)
        await stop.wait()
        print("stopping", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m harness``."""
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # aiosmtpd logs a deprecation notice at every successful AUTH; not ours to fix.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    asyncio.run(_up(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
