"""``wijkbode meetings`` and ``wijkbode deadlines``: the plan and its moments."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from daemon.cli.common import config_from, local_iso, parse_instant, print_json, synced_store
from daemon.config import Config
from daemon.i18n import Translator
from daemon.model import Meeting, MeetingId, SeriesId
from daemon.ports.planning import PlanSource
from daemon.rules.assignment import Moment, upcoming_moments
from daemon.store import has_state


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    meetings = subparsers.add_parser(
        "meetings",
        help="Toon de geplande vergaderingen / Show the planned meetings",
    )
    meetings.add_argument("--json", action="store_true", help="uitvoer als JSON / JSON output")
    meetings.set_defaults(handler=show_meetings)

    deadlines = subparsers.add_parser(
        "deadlines",
        help="Toon alle komende momenten en termijnen / Show every upcoming moment and deadline",
    )
    deadlines.add_argument(
        "--now",
        metavar="ISO-8601",
        help="doe alsof het nu dit tijdstip is / pretend it is this time now",
    )
    deadlines.add_argument("--json", action="store_true", help="uitvoer als JSON / JSON output")
    deadlines.set_defaults(handler=show_deadlines)


def show_meetings(args: argparse.Namespace) -> int:
    config = config_from(args)
    if args.json:
        meetings, sources = asyncio.run(_meetings_and_sources(config, datetime.now(UTC)))
        print_json([meeting_json(m, config, sources) for m in meetings])
        return 0
    meetings = asyncio.run(_stored_meetings(config, datetime.now(UTC)))
    _ = Translator(config.language, config.timezone)
    for meeting in meetings:
        status = "" if meeting.status.value == "planned" else f"  [{_('cancelled')}]"
        print(f"{meeting.id:<34} {_.when(meeting.start)}  {meeting.title}{status}")
    return 0


def show_deadlines(args: argparse.Namespace) -> int:
    config = config_from(args)
    now = parse_instant(args.now, config.timezone, "--now") if args.now else datetime.now(UTC)
    moments = asyncio.run(_upcoming(config, now))
    if args.json:
        print_json([moment_json(m, config) for m in moments])
        return 0
    _ = Translator(config.language, config.timezone)
    for moment in moments:
        print(f"{_.when(moment.at):<34} {moment.name:<26} {moment.meeting}")
    return 0


async def _stored_meetings(config: Config, now: datetime) -> list[Meeting]:
    if not has_state(config.state_dir):
        # Before the first run the plan is all there is; reading makes no database.
        return config.meetings()
    async with synced_store(config, now) as store, store.reading() as tx:
        return await tx.meetings()


async def _meetings_and_sources(
    config: Config, now: datetime
) -> tuple[list[Meeting], Mapping[MeetingId, PlanSource]]:
    """The stored meetings and, for those whose date another source set, that source."""
    if not has_state(config.state_dir):
        return config.meetings(), {}
    async with synced_store(config, now) as store, store.reading() as tx:
        return await tx.meetings(), await tx.meeting_sources()


async def _upcoming(config: Config, now: datetime) -> list[Moment]:
    meetings = await _stored_meetings(config, now)
    by_series: dict[SeriesId, list[Meeting]] = {}
    for meeting in meetings:
        by_series.setdefault(meeting.series, []).append(meeting)
    rules = {sid: entry.series.rules for sid, entry in config.series.items()}
    return upcoming_moments(by_series, rules, config.timezone, now)


def meeting_json(
    meeting: Meeting, config: Config, sources: Mapping[MeetingId, PlanSource] | None = None
) -> dict[str, Any]:
    """A meeting for ``--json``; ``source``: where its date comes from (config, calendar)."""
    source = (sources or {}).get(meeting.id, PlanSource.CONFIG)
    return {
        "id": meeting.id,
        "series": meeting.series,
        "title": meeting.title,
        "start": local_iso(meeting.start, config.timezone),
        "end": local_iso(meeting.end, config.timezone),
        "location": meeting.location,
        "status": meeting.status.value,
        "source": source.value,
    }


def moment_json(moment: Moment, config: Config) -> dict[str, Any]:
    return {
        "meeting": moment.meeting,
        "series": moment.series,
        "moment": moment.name,
        "at": local_iso(moment.at, config.timezone),
    }
