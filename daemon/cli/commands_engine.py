"""``wijkbode schedule`` and ``wijkbode outbox [retry ID]``: what the engine will do and did.

These read the store as the daemon left it (they do not sync the plan), so
they show exactly the jobs and rows the running daemon works from. ``outbox
retry`` puts a parked row back in line; a running daemon picks it up within
its dispatcher's poll interval.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from daemon.cli.common import add_list_with_retry, config_from, local_iso, print_json
from daemon.config import Config
from daemon.engine.scheduler import EngineSettings, planned_specs
from daemon.errors import ConfigError
from daemon.ports.outbox import Effect
from daemon.store import Store, has_state
from daemon.store.engine import Job, JobSpec, RetryOutcome

EXIT_USAGE = 2
RECENT_DAYS = 14
MAX_DAYS = 36_500  # a century back is everything; more would overflow a datetime
NOT_STORED = "nog niet opgeslagen / not yet stored"


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    schedule = subparsers.add_parser(
        "schedule",
        help=(
            "Toon komende en recent afgehandelde taken / "
            "Show upcoming and recently handled scheduled jobs"
        ),
    )
    schedule.add_argument(
        "--days",
        type=int,
        default=RECENT_DAYS,
        help=(
            f"afgehandelde taken van zoveel dagen terug (standaard {RECENT_DAYS}) / "
            f"handled jobs from this many days back (default {RECENT_DAYS})"
        ),
    )
    schedule.add_argument("--json", action="store_true", help="uitvoer als JSON / JSON output")
    schedule.set_defaults(handler=show_schedule)

    add_list_with_retry(
        subparsers,
        "outbox",
        summary="Toon wat nog niet bezorgd is / Show what has not been delivered yet",
        show=show_outbox,
        retry_summary=(
            "Zet een geparkeerde rij terug in de wachtrij / Put a parked row back in the queue"
        ),
        id_help="het nummer van de rij / the row's id",
        retry=retry_row,
    )


# --- schedule ------------------------------------------------------------------


def show_schedule(args: argparse.Namespace) -> int:
    config = config_from(args)
    if not 0 <= args.days <= MAX_DAYS:
        raise ConfigError(
            f"--days: {args.days} ligt niet tussen 0 en {MAX_DAYS} "
            f"(must be between 0 and {MAX_DAYS})"
        )
    now = datetime.now(UTC)
    if not has_state(config.state_dir):
        return _show_planned(config, now, as_json=args.json)
    jobs = asyncio.run(_recent_jobs(config.state_dir, now - timedelta(days=args.days)))
    if args.json:
        print_json([job_json(job, config.timezone) for job in jobs])
        return 0
    if not jobs:
        print("Geen taken / No jobs")
    for job in jobs:
        due = local_iso(job.due_at, config.timezone)[:16].replace("T", " ")
        note = f"  ({job.note})" if job.note else ""
        print(
            f"{due}  {job.status.value:<9} {job.moment:<26} {job.channel.value:<7}"
            f" {job.subject_id}{note}"
        )
    return 0


def _show_planned(config: Config, now: datetime, *, as_json: bool) -> int:
    """Before the daemon's first run: the jobs the configured plan will give, marked unstored.

    Nothing is created: a command that only reads leaves no database behind.
    """
    specs = planned_specs(config.meetings(), EngineSettings.from_config(config), now)
    if as_json:
        print_json([spec_json(spec, config.timezone) for spec in specs])
        return 0
    print(
        f"Nog niets opgeslagen in {config.state_dir}; dit zijn de taken uit het plan "
        f"(nothing stored yet; these are the jobs from the plan):"
    )
    if not specs:
        print("Geen taken / No jobs")
    for spec in specs:
        due = local_iso(spec.due_at, config.timezone)[:16].replace("T", " ")
        print(
            f"{due}  {'pending':<9} {spec.moment:<26} {spec.channel.value:<7}"
            f" {spec.subject_id}  ({NOT_STORED})"
        )
    return 0


def spec_json(spec: JobSpec, tz: ZoneInfo) -> dict[str, Any]:
    """A planned job in the shape of ``job_json``, with ``stored`` false."""
    return {
        "key": spec.key,
        "subject_type": spec.subject_type.value,
        "subject": spec.subject_id,
        "moment": spec.moment,
        "channel": spec.channel.value,
        "due_at": local_iso(spec.due_at, tz),
        "status": "pending",
        "fired_at": None,
        "note": spec.note,
        "stored": False,
    }


async def _recent_jobs(state_dir: Path, since: datetime) -> list[Job]:
    store = await Store.open(state_dir, create=False)
    try:
        async with store.reading() as tx:
            return await tx.recent_jobs(since)
    finally:
        await store.close()


def job_json(job: Job, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "key": job.key,
        "subject_type": job.subject_type.value,
        "subject": job.subject_id,
        "moment": job.moment,
        "channel": job.channel.value,
        "due_at": local_iso(job.due_at, tz),
        "status": job.status.value,
        "fired_at": None if job.fired_at is None else local_iso(job.fired_at, tz),
        "note": job.note,
        "stored": True,
    }


# --- outbox --------------------------------------------------------------------


def show_outbox(args: argparse.Namespace) -> int:
    config = config_from(args)
    now = datetime.now(UTC)
    rows = asyncio.run(_undelivered(config.state_dir))
    if args.json:
        print_json([effect_json(row, config.timezone, now) for row in rows])
        return 0
    if not rows:
        print("Alles is bezorgd / Everything has been delivered")
    for row in rows:
        error = f"  {row.last_error}" if row.last_error else ""
        print(
            f"{row.id:>6}  {row.status.value:<8} {row.channel.value:<7} {row.destination:<32}"
            f" {_age(now - row.created_at):>8}  {row.attempts:>3}x{error}"
        )
    return 0


async def _undelivered(state_dir: Path) -> list[Effect]:
    store = await Store.open(state_dir, create=False)
    try:
        async with store.reading() as tx:
            return await tx.undelivered()
    finally:
        await store.close()


def effect_json(effect: Effect, tz: ZoneInfo, now: datetime) -> dict[str, Any]:
    next_at = effect.next_attempt_at
    return {
        "id": effect.id,
        "channel": effect.channel.value,
        "destination": effect.destination,
        "key": effect.key,
        "status": effect.status.value,
        "created_at": local_iso(effect.created_at, tz),
        "age_seconds": int((now - effect.created_at).total_seconds()),
        "attempts": effect.attempts,
        "next_attempt_at": None if next_at is None else local_iso(next_at, tz),
        "last_error": effect.last_error,
    }


def _age(age: timedelta) -> str:
    """'3d 4h', '2h 5m', '40s': the age of a row at a glance."""
    seconds = max(int(age.total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {seconds}s" if minutes else f"{seconds}s"


def retry_row(args: argparse.Namespace) -> int:
    config = config_from(args)
    outcome = asyncio.run(_retry(config.state_dir, args.id))
    if outcome is RetryOutcome.RETRIED:
        print(f"Rij {args.id} staat weer in de wachtrij / Row {args.id} is queued again")
        return 0
    if outcome is RetryOutcome.UNKNOWN:
        message = f"rij {args.id} bestaat niet (no outbox row {args.id})"
    else:
        message = (
            f"rij {args.id} is niet geparkeerd, er is niets opnieuw te proberen "
            f"(outbox row {args.id} is not parked, nothing to retry)"
        )
    print(f"wijkbode: {message}", file=sys.stderr)
    return EXIT_USAGE


async def _retry(state_dir: Path, effect_id: int) -> RetryOutcome:
    store = await Store.open(state_dir, create=False)
    try:
        async with store.transaction() as tx:
            return await tx.retry_parked(effect_id)
    finally:
        await store.close()
