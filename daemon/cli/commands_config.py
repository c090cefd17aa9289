"""``wijkbode check-config``: read and check the configuration, print a short summary.

Problems that only stop ``run`` (example placeholders, a missing secret file)
are warnings here, so the example configuration passes.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from daemon.cli.common import translators
from daemon.cli.probe_report import EXIT_CONFIG, exit_code, report, run_probes
from daemon.config import Config, load_config
from daemon.config.runnable import exposed_secrets, runtime_problems, trust_warnings
from daemon.engine.plan_sync import effective_plan
from daemon.model import MeetingStatus
from daemon.publish.plan_conflicts import conflict_lines
from daemon.store import Store, has_state


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "check-config",
        help="Controleer de configuratie / Check the configuration",
        description=(
            "Leest en controleert het configuratiebestand en toont een samenvatting; "
            "exit 2 bij een fout in de configuratie, met --connect exit 1 bij een "
            "verbindingsprobleem. / Reads and checks the configuration file and shows "
            "a summary; exit 2 on a configuration error, with --connect exit 1 on a "
            "connection problem."
        ),
    )
    parser.add_argument(
        "--config",
        type=Path,
        # SUPPRESS keeps the global --config when this one is not given.
        default=argparse.SUPPRESS,
        help="configuratiebestand / configuration file",
    )
    parser.add_argument(
        "--connect",
        action="store_true",
        help=(
            "test ook elke verbinding (Matrix, IMAP, SMTP, CalDAV, HTTP-poort); exit 1 bij "
            "een verbindingsprobleem / also test every connection; exit 1 on a connection "
            "problem"
        ),
    )
    parser.set_defaults(handler=check_config)


def check_config(args: argparse.Namespace) -> int:
    from daemon.cli import config_path, state_dir_override

    config = load_config(config_path(args), state_dir_override=state_dir_override(args))
    for problem in [*runtime_problems(config), *exposed_secrets(config), *trust_warnings(config)]:
        print(f"wijkbode: waarschuwing / warning: {problem}", file=sys.stderr)
    for conflict in asyncio.run(plan_conflicts(config)):
        print(f"wijkbode: conflict: {conflict}", file=sys.stderr)
    print(summary(config))
    if getattr(args, "connect", False):
        return check_connections(config)
    return 0


def check_connections(config: Config) -> int:
    """Every configured connection tested; 0 ok, 1 a connection problem, 2 a config problem.

    A value ``run`` would refuse (a placeholder, a missing secret file) is a
    configuration problem here, not a warning."""
    from daemon.runtime.wiring import connection_probes

    findings = asyncio.run(run_probes(connection_probes(config).values()))
    print(report(findings))
    code = exit_code(findings)
    return EXIT_CONFIG if runtime_problems(config) else code


async def plan_conflicts(config: Config) -> list[str]:
    """Where the planning calendar (as last read by the daemon) and this configuration
    disagree, one line each, Dutch then English. Nothing is written."""
    if not has_state(config.state_dir):
        return []
    store = await Store.open(config.state_dir, create=False)
    try:
        async with store.reading() as tx:
            plan = await effective_plan(tx, config)
    finally:
        await store.close()
    return [
        " / ".join(" ".join(conflict_lines(conflict, _)) for _ in translators(config))
        for conflict in plan.conflicts
    ]


def summary(config: Config) -> str:
    """A few lines: where, which series with how many meetings, partners, connectors."""
    lines = [
        f"Configuratie in orde / configuration OK: {config.path}",
        f"  tijdzone / time zone: {config.timezone.key}",
        f"  taal / language: {config.language}",
        f"  toestand / state: {config.state_dir}",
        f"  reeksen / series (standaard / default: {config.default_series}):",
    ]
    meetings = config.meetings()
    for series_id, entry in config.series.items():
        own = [m for m in meetings if m.series == series_id]
        cancelled = sum(1 for m in own if m.status is MeetingStatus.CANCELLED)
        span = f", {own[0].start:%Y-%m-%d} .. {own[-1].start:%Y-%m-%d}" if own else ""
        lines.append(
            f"    {series_id} ({entry.series.title}): {len(own)} vergaderingen / meetings"
            f", {cancelled} afgelast / cancelled{span}"
        )
    names = ", ".join(partner.name for partner in config.partners) or "-"
    lines.append(f"  partners ({len(config.partners)}): {names}")
    lines.append(f"  koppelingen / connectors: {_connectors(config)}")
    return "\n".join(lines)


def _connectors(config: Config) -> str:
    switches = {
        "matrix": config.matrix,
        "mail": config.mail,
        "caldav": config.caldav,
        "http": config.http,
    }
    return ", ".join(
        f"{name} {'aan/on' if section is not None else 'uit/off'}"
        for name, section in switches.items()
    )
