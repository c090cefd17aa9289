"""``wijkbode file`` and ``wijkbode agenda``: file an item by hand, read an agenda."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
from typing import Any

from daemon.cli.agenda_view import agenda_text, find_meeting
from daemon.cli.common import (
    config_from,
    for_people,
    local_iso,
    parse_instant,
    print_json,
    synced_store,
)
from daemon.config import Config
from daemon.config.checks import address
from daemon.errors import ConfigError
from daemon.filing.submission import Filed, FilingRules, Submission, file_submission
from daemon.filing.tags import MAX_TITLE_CHARS
from daemon.i18n import Translator
from daemon.mail.senders import is_partner
from daemon.model import Item, ItemStatus, Kind, Meeting
from daemon.publish.item_posts import Sender, item_post_key, new_item_post
from daemon.publish.receipts import item_number
from daemon.publish.room_feed import queue_item_post
from daemon.rules.names import Names
from daemon.safe_text import untrusted

KIND_CHOICES = {kind.value: kind for kind in Kind} | {"tk": Kind.TER_KENNISGEVING}


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    filing = subparsers.add_parser(
        "file",
        help="Dien een agendapunt of stuk in / File an agenda item",
        description=(
            "Dient een item in alsof het op --at binnenkwam en zegt naar welke vergadering "
            "het gaat en of het te laat is. / Files an item as if received at --at and says "
            "which meeting it went to and whether it is late."
        ),
    )
    filing.add_argument("--kind", required=True, choices=sorted(KIND_CHOICES), help="soort / kind")
    filing.add_argument("--title", required=True, help="titel / title")
    filing.add_argument(
        "--from",
        dest="sender",
        metavar="ADDRESS",
        help=(
            "indiener; geen partner: wacht op acceptatie "
            "/ submitter; not a partner: awaits acceptance"
        ),
    )
    filing.add_argument(
        "--at", metavar="ISO-8601", help="ontvangen op (standaard nu) / received at (default now)"
    )
    filing.add_argument("--series", help="reeks (standaard uit de configuratie) / series")
    filing.add_argument("--json", action="store_true", help="uitvoer als JSON / JSON output")
    filing.set_defaults(handler=file_item)

    agenda = subparsers.add_parser(
        "agenda",
        help="Toon de agenda van een vergadering / Show a meeting's agenda",
    )
    agenda.add_argument(
        "meeting",
        nargs="?",
        metavar="MEETING",
        help=(
            "vergadering: id, reeks of datum (standaard de volgende) "
            "/ meeting: id, series or date (default the next one)"
        ),
    )
    agenda.add_argument("--json", action="store_true", help="uitvoer als JSON / JSON output")
    agenda.set_defaults(handler=show_agenda)


def file_item(args: argparse.Namespace) -> int:
    config = config_from(args)
    now = datetime.now(UTC)
    received = parse_instant(args.at, config.timezone, "--at") if args.at else now
    series = args.series or config.default_series
    if series not in config.series:
        raise ConfigError(f"--series: onbekende reeks {series!r} (unknown series)")
    title = _checked_title(args.title)
    submitter = "cli" if args.sender is None else _checked_sender(args.sender)
    submission = Submission(
        kind=KIND_CHOICES[args.kind],
        title=title,
        submitter=submitter,
        received_at=received,
        source="cli",
        series=series,
        awaiting_acceptance=args.sender is not None and not is_partner(submitter, config.partners),
    )
    filed = asyncio.run(_file(config, submission, now))
    if args.json:
        print_json(
            {
                "item": filed.item.id,
                "meeting": filed.item.meeting,
                "late": filed.item.late,
                "decision_ready": filed.item.decision_ready,
                "status": filed.item.status.value,
            }
        )
        return 0
    print(for_people(config, lambda _: describe_filed(filed, _)))
    return 0


async def _file(config: Config, submission: Submission, now: datetime) -> Filed:
    rules = FilingRules.from_config(config)
    async with synced_store(config, now, create=True) as store, store.transaction() as tx:
        filed = await file_submission(tx, submission, rules)
        # The core group hears of it like of any other filing (the daemon posts it).
        partner = config.partner_for(submission.submitter)
        sender = Sender("", submission.submitter, partner.name if partner else None)
        post = new_item_post(filed, sender, rules)
        await queue_item_post(tx, item_post_key(filed.item.id), filed.item.id, post, now)
        return filed


def _checked_title(title: str) -> str:
    """The title as given, refused when it shows as empty or is longer than chat allows."""
    # Zero-width and other invisible characters alone show as an empty title.
    if not untrusted(title, len(title) + 1):
        raise ConfigError("--title: titel ontbreekt (title missing)")
    stripped = " ".join(title.split())
    if len(stripped) > MAX_TITLE_CHARS:
        raise ConfigError(
            f"--title: titel is te lang, {len(stripped)} tekens, hooguit {MAX_TITLE_CHARS} "
            f"(title too long, {len(stripped)} characters, at most {MAX_TITLE_CHARS})"
        )
    return stripped


def _checked_sender(sender: str) -> str:
    """``--from`` must be a mail address: it decides whether the item awaits acceptance."""
    try:
        return address(sender)
    except ValueError as error:
        raise ConfigError(f"--from: {error}") from None


def describe_filed(filed: Filed, _: Translator) -> str:
    item, meeting = filed.item, filed.assignment.meeting
    lines = [_("Filed as item {id}: {title}", id=item_number(item.id), title=item.title)]
    if item.status is ItemStatus.AWAITING_ACCEPTANCE:
        # Not on any agenda yet: "on time" and "ready for decision" would promise too much.
        lines.append(_("Status: awaiting acceptance by the core group."))
        if meeting is not None:
            lines.append(
                _(
                    "Once accepted: {title}, {when}",
                    title=meeting.title,
                    when=_.when(meeting.start),
                )
            )
        return "\n".join(lines)
    if meeting is None:
        lines.append(_("Meeting: not planned yet"))
    else:
        lines.append(_("Meeting: {title}, {when}", title=meeting.title, when=_.when(meeting.start)))
    if item.late and filed.intended is not None:
        lines.append(
            _(
                "Late for the meeting of {when}; moved to the next one.",
                when=_.when(filed.intended.start),
            )
        )
    else:
        lines.append(_("On time."))
    lines.append(_("Ready for decision.") if item.decision_ready else _("Not ready for decision."))
    return "\n".join(lines)


def show_agenda(args: argparse.Namespace) -> int:
    config = config_from(args)
    meeting, items, names = asyncio.run(_agenda(config, args.meeting, datetime.now(UTC)))
    if args.json:
        print_json(
            {
                "meeting": meeting.id,
                "cancelled": meeting.cancelled,
                "items": [item_json(i, config, names) for i in items],
            }
        )
        return 0
    print(agenda_text(meeting, items, config, names))
    return 0


async def _agenda(
    config: Config, meeting_id: str | None, now: datetime
) -> tuple[Meeting, list[Item], Names]:
    async with synced_store(config, now) as store, store.reading() as tx:
        meeting = await find_meeting(tx, config, meeting_id, now)
        names = Names(await tx.member_names())
        return meeting, await tx.items_for_meeting(meeting.id), names


def item_json(item: Item, config: Config, names: Names | None = None) -> dict[str, Any]:
    return {
        "id": item.id,
        "kind": item.kind.value,
        "title": item.title,
        # As the room names them, through the one resolver: a WhatsApp member's Matrix
        # id is a phone number, which nothing Wijkbode writes may show (a mail
        # address stays as it is: the admin needs it to answer).
        "submitter": (names or Names()).of(item.submitter),
        "received_at": local_iso(item.received_at, config.timezone),
        "late": item.late,
        "decision_ready": item.decision_ready,
        "status": item.status.value,
        # Every name a document arrived under, as the receipt and the room post list them.
        "documents": [d.filename for d in item.documents],
        # Our mail server's failing SPF/DKIM/DMARC result; null when nothing failed.
        "possibly_forged": item.auth_failure,
    }
