"""``wijkbode quarantine [--json]`` and ``wijkbode quarantine retry ID``: unreadable mail.

The list reads the store as the daemon left it. ``retry`` only records the
wish; the running daemon's intake moves the mail back into its inbox folder
(where it arrives with a new UID and fresh attempts) within a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from daemon.cli.common import add_list_with_retry, config_from, local_iso, print_json
from daemon.store import Store
from daemon.store.mail import QuarantinedMail, QuarantineRetry

EXIT_USAGE = 2


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    add_list_with_retry(
        subparsers,
        "quarantine",
        summary="Toon mail die niet gelezen kon worden / Show mail that could not be read",
        show=show_quarantine,
        retry_summary=(
            "Probeer een mail opnieuw (na een oplossing) / Try a mail again (after a fix)"
        ),
        id_help="het quarantainenummer / the id",
        retry=retry_quarantined,
    )


def show_quarantine(args: argparse.Namespace) -> int:
    config = config_from(args)
    entries = asyncio.run(_quarantined(config.state_dir))
    if args.json:
        print_json([quarantine_json(entry, config.timezone) for entry in entries])
        return 0
    if not entries:
        print("Geen mail in quarantaine / No mail in quarantine")
    for entry in entries:
        when = local_iso(entry.at, config.timezone)[:16].replace("T", " ")
        print(
            f"{entry.id:>4}  {when}  {entry.status.value:<11} {entry.sender or '-'}"
            f"  “{entry.subject or '-'}”  {entry.reason}"
        )
    return 0


async def _quarantined(state_dir: Path) -> list[QuarantinedMail]:
    store = await Store.open(state_dir, create=False)
    try:
        async with store.reading() as tx:
            return await tx.quarantined()
    finally:
        await store.close()


def quarantine_json(entry: QuarantinedMail, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": local_iso(entry.at, tz),
        "status": entry.status.value,
        "sender": entry.sender,
        "subject": entry.subject,
        "message_id": entry.message_id,
        "reason": entry.reason,
        "folder": entry.folder,
        "uidvalidity": entry.uidvalidity,
        "uid": entry.uid,
        "content_sha256": entry.content_sha256,
        "retried_at": None if entry.retried_at is None else local_iso(entry.retried_at, tz),
    }


def retry_quarantined(args: argparse.Namespace) -> int:
    config = config_from(args)
    outcome = asyncio.run(_request_retry(config.state_dir, args.id))
    if outcome is QuarantineRetry.REQUESTED:
        print(
            f"Quarantaine {args.id}: de daemon zet de mail terug in de inbox voor een nieuwe "
            f"poging / the daemon puts the mail back in the inbox for another try"
        )
        return 0
    if outcome is QuarantineRetry.UNKNOWN:
        print(f"wijkbode: quarantaine {args.id} bestaat niet (no such id)", file=sys.stderr)
    else:
        print(
            f"wijkbode: quarantaine {args.id} is al teruggezet of aangevraagd "
            f"(already retried or requested)",
            file=sys.stderr,
        )
    return EXIT_USAGE


async def _request_retry(state_dir: Path, quarantine_id: int) -> QuarantineRetry:
    store = await Store.open(state_dir, create=False)
    try:
        async with store.transaction() as tx:
            return await tx.request_quarantine_retry(quarantine_id)
    finally:
        await store.close()
