"""``wijkbode decisions [MEETING-ID] [--json]``: the besluitenlijst, and the polls still open.

Read only: the decisions with their counts, the weights used, the rule that decided
them and any non-binding advice (who owes a motivated answer by when, or the answer),
as the core room's ``!besluiten`` shows them.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from daemon.cli.common import config_from, local_iso, print_json
from daemon.config import Config
from daemon.model import MeetingId
from daemon.publish.decisions import DecisionRow, decision_list, decision_rows
from daemon.rules.decisions import Outcome
from daemon.rules.names import Names
from daemon.store import Store, has_state
from daemon.store.decisions import StoredPoll


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "decisions",
        help="Toon de besluitenlijst en de open polls / Show the decision list and the open polls",
    )
    parser.add_argument(
        "meeting",
        metavar="MEETING-ID",
        nargs="?",
        help="alleen de besluiten van deze vergadering / only this meeting's decisions",
    )
    parser.add_argument("--json", action="store_true", help="uitvoer als JSON / JSON output")
    parser.set_defaults(handler=show_decisions)


def show_decisions(args: argparse.Namespace) -> int:
    config = config_from(args)
    meeting = MeetingId(args.meeting) if args.meeting else None
    rows, polls, names = asyncio.run(_read(config, meeting))
    if args.json:
        print_json(
            {
                "decisions": [_row_json(row, config, names) for row in rows],
                "open_polls": [_poll_json(poll, config) for poll in polls],
            }
        )
        return 0
    stored = None
    if meeting is not None:
        found = [m for m in config.meetings() if m.id == meeting]
        stored = found[0] if found else None
    print(decision_list(rows, stored, config.timezone).body)
    return 0


async def _read(
    config: Config, meeting: MeetingId | None
) -> tuple[list[DecisionRow], list[StoredPoll], Names]:
    if not config.state_dir.exists() or not has_state(config.state_dir):
        return [], [], Names()
    store = await Store.open(config.state_dir, create=False)
    try:
        async with store.reading() as tx:
            shown = await tx.meeting(meeting) if meeting is not None else None
            rows = await decision_rows(tx, shown)
            if meeting is not None and shown is None:
                rows = []
            polls = [p for p in await tx.open_polls() if meeting is None or p.meeting == meeting]
            return rows, polls, Names(await tx.member_names())
    finally:
        await store.close()


def _row_json(row: DecisionRow, config: Config, names: Names | None = None) -> dict[str, Any]:
    decision, advice = row.decision, row.advice
    outcome = Outcome(decision.outcome)
    return {
        "item": row.item.id,
        "title": row.item.title,
        "meeting": decision.meeting,
        "method": decision.method,
        "outcome": outcome.value,
        "adopted": outcome.adopted,
        "rule": outcome.rule,
        "counts": decision.counts,
        "weights": decision.weights,
        # Voters by name, as the poll's end named them: a WhatsApp id is a phone number.
        "not_counted": [(names or Names()).of(voter) for voter in decision.not_counted],
        "decided_at": local_iso(decision.decided_at, config.timezone),
        "advice": None
        if advice is None
        else {
            "partner": advice.partner,
            "due": advice.due.isoformat(),
            "motivation": advice.motivation,
            "answered_at": None
            if advice.answered_at is None
            else local_iso(advice.answered_at, config.timezone),
        },
    }


def _poll_json(poll: StoredPoll, config: Config) -> dict[str, Any]:
    return {
        "kind": poll.kind,
        "item": poll.item,
        "meeting": poll.meeting,
        "question": poll.question,
        "answers": [answer for answer, _ in poll.answers],
        "closes_at": local_iso(poll.closes_at, config.timezone),
    }
