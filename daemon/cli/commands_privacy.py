"""``wijkbode privacy``: what is held about a person, forgetting them, and the retention
purge of old documents (AVG/GDPR; docs/privacy.md says what is kept and why).

``show ADDRESS`` lists every stored row that names the address (a mail address or a
Matrix user id), in every table. ``forget ADDRESS`` removes their subscription and
chat name and writes one pseudonym (``verwijderd-<n>``) for their address and names
everywhere else, keeping the items themselves; a message still waiting to go to them
is not sent. The store overwrites what it replaces (``secure_delete``) and the WAL is
cut afterwards, so the address is gone from the files, not only from the tables.
``purge`` drops the documents of meetings older than ``[privacy] keep_documents_years``.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from daemon.cli.common import config_from, print_json
from daemon.config import Config
from daemon.errors import ConfigError
from daemon.i18n import Translator, mark
from daemon.model import DocumentHash
from daemon.rules.privacy import (
    MIN_NAME_LENGTH,
    PSEUDONYM_PREFIX,
    forget_in,
    names_address,
    names_beside,
    next_pseudonym,
    search_key,
)
from daemon.store import Store
from daemon.store.privacy import DELETED_WHOLE, Mention

# What each table's rows are, for a person reading ``show``.
TABLE_WORDS = {
    "items": mark("items submitted"),
    "item_events": mark("item history"),
    "outbox": mark("messages sent or waiting (receipts, notices)"),
    "room_feed": mark("posts in the core room"),
    "mail_handled": mark("mails handled"),
    "mail_quarantine": mark("mails in quarantine"),
    "mail_attempts": mark("mails being read"),
    "subscribers": mark("mail subscription"),
    "agreements": mark("agreements (afspraken) owned"),
    "member_names": mark("chat names"),
}
_OTHER = mark("other records in {table}")
_HELD = mark("Held about {address}:")
_NOTHING = mark("Nothing is held about {address}.")
_NAMES = mark("Names written with this address: {names}")
_FORGOTTEN = mark(
    "Forgotten: {address} is now {pseudonym} in {rewritten} rows; {deleted} rows removed; "
    "{parked} waiting messages will not be sent."
)
_WOULD_FORGET = mark("Would forget (nothing changed yet): {rewritten} rows, {deleted} removed.")
_PARKED = mark("forgotten on request (privacy forget)")
_PURGED = mark(
    "Documents of meetings before {day}: {files} files removed ({links} links on items)."
)
_NO_RETENTION = mark(
    "no retention set: add keep_documents_years to [privacy] in the configuration, or pass --years"
)
_NOT_AN_ADDRESS = mark("{address} is not a mail address or Matrix user id")
_SNIPPET = 100  # characters of a value shown around the match


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "privacy",
        help=("Gegevens van een persoon tonen of wissen / Show or erase a person's data"),
    )
    actions = parser.add_subparsers(dest="privacy_action", metavar="ACTION", required=True)
    show = actions.add_parser(
        "show",
        help="alles wat over dit adres bewaard is / everything held about this address",
    )
    show.add_argument(
        "address", metavar="ADDRESS", help="mailadres of Matrix-id / mail address or Matrix id"
    )
    _name_option(show)
    show.add_argument("--json", action="store_true", help="uitvoer als JSON / JSON output")
    show.set_defaults(handler=show_person)
    forget = actions.add_parser(
        "forget",
        help=(
            "vergeet dit adres: abonnement weg, adres en naam overal vervangen door een "
            "pseudoniem / forget this address: subscription removed, address and name "
            "replaced by a pseudonym everywhere"
        ),
    )
    forget.add_argument(
        "address", metavar="ADDRESS", help="mailadres of Matrix-id / mail address or Matrix id"
    )
    _name_option(forget)
    forget.add_argument(
        "--dry-run",
        action="store_true",
        help="alleen tonen wat er zou veranderen / only show what would change",
    )
    forget.set_defaults(handler=forget_person)
    purge = actions.add_parser(
        "purge",
        help=(
            "verwijder stukken van vergaderingen ouder dan de bewaartermijn / remove the "
            "documents of meetings older than the retention period"
        ),
    )
    purge.add_argument(
        "--years",
        type=int,
        default=None,
        help=(
            "bewaartermijn in jaren, anders [privacy] keep_documents_years / retention in "
            "years, else [privacy] keep_documents_years"
        ),
    )
    purge.set_defaults(handler=purge_documents)


def _name_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--name",
        action="append",
        default=[],
        metavar="NAME",
        help=(
            "ook deze naam (herhaalbaar), in rijen die het adres noemen; namen naast het "
            "adres (Naam <adres>) en chatnamen worden vanzelf gevonden / also this name "
            "(repeatable), in rows naming the address; names beside the address and chat "
            "names are found by themselves"
        ),
    )


def _both(message: str, **fields: object) -> str:
    return f"{Translator('nl')(message, **fields)} ({Translator('en')(message, **fields)})"


def _checked(address: str) -> str:
    cleaned = address.strip()
    # Too short or without @ would match ordinary words all over the database.
    if len(cleaned) < 5 or "@" not in cleaned:
        raise ConfigError(_both(_NOT_AN_ADDRESS, address=address))
    return cleaned


# -- show --------------------------------------------------------------------------


def show_person(args: argparse.Namespace) -> int:
    config = config_from(args)
    address = _checked(args.address)
    mentions = asyncio.run(_mentions(config, address))
    names = sorted(_names(address, mentions, args.name))
    if args.json:
        print_json(
            {
                "address": address,
                "names": names,
                "records": [
                    {"table": m.table, "row": m.rowid, "values": _matching(m, address, names)}
                    for m in mentions
                ],
            }
        )
        return 0
    if not mentions:
        print(_both(_NOTHING, address=address))
        return 0
    print(_both(_HELD, address=address))
    if names:
        print("  " + _both(_NAMES, names=", ".join(names)))
    for table, rows in _by_table(mentions).items():
        words = TABLE_WORDS.get(table)
        title = _both(words) if words else _both(_OTHER, table=table)
        print(f"  {title}: {len(rows)}")
        for mention in rows:
            shown = "; ".join(f"{c}={v}" for c, v in _matching(mention, address, names).items())
            print(f"    #{mention.rowid}  {shown}")
    return 0


async def _mentions(config: Config, address: str) -> list[Mention]:
    store = await Store.open(config.state_dir, create=False)
    try:
        async with store.reading() as tx:
            return naming(await tx.mentions(search_key(address)), address)
    finally:
        await store.close()


def naming(candidates: Iterable[Mention], address: str) -> list[Mention]:
    """The rows (found by a piece of the address) that name the whole address."""
    return [m for m in candidates if any(names_address(v, address) for v in m.values.values())]


def _names(address: str, mentions: Iterable[Mention], given: Iterable[str] = ()) -> set[str]:
    """The names ``given``, display names written beside the address, and a chat
    member's remembered name."""
    names = {n.strip() for n in given if len(n.strip()) >= MIN_NAME_LENGTH}
    for mention in mentions:
        for value in mention.values.values():
            names |= names_beside(address, value)
        if mention.table == "member_names" and mention.values.get("name"):
            names.add(mention.values["name"])
    return names


def _by_table(mentions: Iterable[Mention]) -> dict[str, list[Mention]]:
    grouped: dict[str, list[Mention]] = {}
    for mention in mentions:
        grouped.setdefault(mention.table, []).append(mention)
    return grouped


def _matching(mention: Mention, address: str, names: Iterable[str]) -> dict[str, str]:
    """The columns that name the person, each cut to the part around the first match."""
    needles = [search_key(address).lower(), *(n.lower() for n in names)]
    found: dict[str, str] = {}
    for column, value in mention.values.items():
        lowered = value.lower()
        at = min((lowered.find(n) for n in needles if n in lowered), default=-1)
        if at < 0:
            continue
        start = max(0, at - _SNIPPET // 2)
        snippet = value[start : start + _SNIPPET].replace("\n", " ")
        found[column] = (
            ("…" if start else "") + snippet + ("…" if start + _SNIPPET < len(value) else "")
        )
    return found


# -- forget ------------------------------------------------------------------------


@dataclass
class Forgotten:
    pseudonym: str
    rewritten: int = 0
    deleted: int = 0
    parked: int = 0
    tables: dict[str, int] = field(default_factory=dict)


def forget_person(args: argparse.Namespace) -> int:
    config = config_from(args)
    address = _checked(args.address)
    done = asyncio.run(forget(config, address, args.name, dry_run=args.dry_run))
    if args.dry_run:
        print(_both(_WOULD_FORGET, rewritten=done.rewritten, deleted=done.deleted))
    else:
        print(
            _both(
                _FORGOTTEN,
                address=address,
                pseudonym=done.pseudonym,
                rewritten=done.rewritten,
                deleted=done.deleted,
                parked=done.parked,
            )
        )
    return 0


class _DryRunError(Exception):
    """Raised inside the transaction to roll a dry run back."""


async def forget(
    config: Config, address: str, given_names: Iterable[str] = (), *, dry_run: bool = False
) -> Forgotten:
    """Pseudonymise ``address`` and the person's names in one transaction."""
    store = await Store.open(config.state_dir, create=False)
    done = Forgotten("")
    try:
        try:
            async with store.transaction() as tx:
                mentions = naming(await tx.mentions(search_key(address)), address)
                names = _names(address, mentions, given_names)
                given = [
                    text
                    for table, column in _PSEUDONYM_COLUMNS
                    for text in await tx.texts_of(table, column, f"{PSEUDONYM_PREFIX}%")
                ]
                done.pseudonym = next_pseudonym(given)
                reason = _both(_PARKED)
                for mention in mentions:
                    done.tables[mention.table] = done.tables.get(mention.table, 0) + 1
                    if mention.table in DELETED_WHOLE:
                        await tx.delete_row(mention.table, mention.rowid)
                        done.deleted += 1
                        continue
                    changed = {
                        column: new
                        for column, value in mention.values.items()
                        if (new := forget_in(value, address, names, done.pseudonym)) != value
                    }
                    await tx.rewrite(mention, changed)
                    done.rewritten += 1
                    if mention.table == "outbox" and await tx.park_pending_outbox(
                        mention.rowid, reason
                    ):
                        done.parked += 1
                if dry_run:
                    raise _DryRunError
        except _DryRunError:
            return done
        # Older copies of the rewritten pages may still sit in the WAL: cut it.
        await store.truncate_wal()
    finally:
        await store.close()
    return done


# Where earlier pseudonyms are found, so each forgotten person gets a new number.
_PSEUDONYM_COLUMNS = (
    ("items", "submitter"),
    ("mail_handled", "sender"),
    ("mail_quarantine", "sender"),
    ("agreements", "owner"),
    ("outbox", "destination"),
)


# -- purge -------------------------------------------------------------------------


def purge_documents(args: argparse.Namespace) -> int:
    config = config_from(args)
    years = args.years if args.years is not None else config.privacy.keep_documents_years
    if years is None or years < 1:
        raise ConfigError(_both(_NO_RETENTION))
    now = datetime.now(UTC)
    cutoff = years_before(now, years)
    links, files = asyncio.run(purge(config, cutoff))
    day = cutoff.astimezone(config.timezone).date()
    print(_both(_PURGED, day=day.isoformat(), files=files, links=links))
    return 0


def years_before(moment: datetime, years: int) -> datetime:
    """The same calendar day ``years`` earlier (29 February: the 28th)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


async def purge(config: Config, cutoff: datetime) -> tuple[int, int]:
    """Documents of meetings that started before ``cutoff``; (links removed, files removed)."""
    store = await Store.open(config.state_dir, create=False)
    try:
        async with store.transaction() as tx:
            purged = await tx.purge_documents_before(cutoff)
        # After the commit: a crash in between leaves a file nobody names, never a
        # name without its file.
        removed = 0
        for sha256 in purged.hashes:
            path = store.documents.path_of(DocumentHash(sha256))
            try:
                path.unlink()
                removed += 1
            except FileNotFoundError:
                pass
        await store.truncate_wal()
    finally:
        await store.close()
    return purged.links, removed
