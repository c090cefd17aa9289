"""The read-only answers: ``!help``, ``!agenda``, ``!deadlines``, ``!afspraken``.

Listings are shown once, each phrase "Dutch / English", with sender text made
safe. What a listing may show at all (which series and meetings, which item
titles, whether submitters) is decided before, by :mod:`daemon.rules.visibility`:
in an announcement room (public) an agenda hides who submitted what, items
still awaiting acceptance and confidential ones. A public listing says that it
shows only public meetings, and ``!help`` names only the series shown there.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from daemon.chat.parsing import COMMANDS
from daemon.chat.replies import (
    NAME_CHARS,
    Reply,
    Say,
    Untrusted,
    agreement_label,
    item_label,
    listing_reply,
)
from daemon.i18n import mark
from daemon.model import Agreement, Item, ItemStatus, Kind, Meeting
from daemon.rules.names import Names

MAX_ROWS = 50
_NOT_LISTED = frozenset({ItemStatus.WITHDRAWN, ItemStatus.REJECTED})
ONLY_PUBLIC = mark("Here I only show public meetings and what belongs to them.")
EXAMPLE_DATE = "2027-05-18"  # a fixed example: a real date could name a private meeting


@dataclass(frozen=True, slots=True)
class _HelpRow:
    form: str
    what: str  # msgid
    form_is_msgid: bool = False


_FILING_HELP = (
    _HelpRow(
        "Agendapunt: … · Ter kennisgeving: … · Actualiteit: … · Stuk: …",
        mark("file an item (English: Agenda item:, For information:, Current affair:, Document:)"),
    ),
    _HelpRow("Agendapunt (direct): …", mark("straight onto the next agenda, during a meeting")),
    _HelpRow(mark("a file with such a caption"), mark("files a document with the file"), True),
    _HelpRow("📌", mark("react with it on a message to file that message as an agenda point")),
    _HelpRow(
        "Afspraak: … @naam voor <datum>",
        mark("record an agreement (English: Agreement: … @name by <date>)"),
    ),
)


def help_reply(tz: ZoneInfo, series: Collection[str] = ()) -> Reply:
    """Every command; the ``!agenda`` examples name only ``series``, the ones shown where
    ``!help`` was asked (a private series is not named outside the core room)."""
    examples = " · ".join([*(f"!agenda {name}" for name in series), f"!agenda {EXAMPLE_DATE}"])

    def rows(_: Say) -> list[str]:
        found = [
            f"{_(row.form) if row.form_is_msgid else _.field(row.form)} — {_(row.what)}"
            for row in _FILING_HELP
        ]
        for spec in COMMANDS:
            aliases = " ".join(f"!{alias}" for alias in spec.aliases)
            shown = f"{spec.usage} ({aliases})" if aliases else spec.usage
            found.append(f"{_.field(shown)} — {_(spec.summary)}")
            if spec.name == "agenda":
                what = _("the next meeting of a series, or the meeting on a date")
                found.append(f"{_.field(examples)} — {what}")
        return [*found, _("In the announcement rooms: only !agenda, !deadlines and !help.")]

    return listing_reply(
        lambda _: _("What Wijkbode understands in the core group's room"), rows, tz
    )


def agenda_reply(
    meeting: Meeting,
    items: Sequence[Item],
    *,
    public: bool,
    tz: ZoneInfo,
    note: tuple[str, datetime | None] | None = None,
    names: Names | None = None,
) -> Reply:
    """``items`` are the ones the visibility rule lets out here; ``public`` hides who
    submitted them; ``note`` (a msgid, with a moment for ``{when}``) says why an agenda
    lists nothing here."""
    shown = [item for item in items if item.status not in _NOT_LISTED]

    def head(_: Say) -> str:
        return _(
            "Agenda of {title}, {when} ({id})",
            title=meeting.title,
            when=_.when(meeting.start),
            id=meeting.id,
        )

    def rows(_: Say) -> list[str]:
        found = [_item_row(_, item, public=public, names=names) for item in shown[:MAX_ROWS]]
        if len(shown) > MAX_ROWS:
            found.append(_("… and {count} more.", count=len(shown) - MAX_ROWS))
        if note is not None:
            msgid, at = note
            return [*found, _(msgid, when=_.when(at)) if at is not None else _(msgid)]
        return found or [_("No items yet.")]

    return listing_reply(head, rows, tz)


def _item_row(_: Say, item: Item, *, public: bool, names: Names | None = None) -> str:
    row = f"{item_label(item.id)} [{_.kind(item.kind)}] {_.field(Untrusted(item.title))}"
    if not public:
        who = (names or Names()).of(item.submitter)
        row += f" — {_.field(Untrusted(who, NAME_CHARS))}"
    flags = [_(flag) for flag in _flags(item)]
    return row + (f" ({'; '.join(flags)})" if flags else "")


def _flags(item: Item) -> list[str]:
    flags: list[str] = []
    if item.confidential:
        flags.append(mark("confidential"))
    if item.status is ItemStatus.AWAITING_ACCEPTANCE:
        flags.append(mark("awaiting acceptance"))
    if item.status is ItemStatus.TER_BESPREKING:
        flags.append(mark("for discussion, no decision"))
    if item.late:
        flags.append(mark("late"))
    if not item.decision_ready and item.kind is not Kind.TER_KENNISGEVING:
        flags.append(mark("not ready for decision"))
    return flags


@dataclass(frozen=True, slots=True)
class DeadlineRow:
    meeting: Meeting
    kind: Kind
    at: datetime


def deadlines_reply(rows: Sequence[DeadlineRow], tz: ZoneInfo, *, public: bool = False) -> Reply:
    def lines(_: Say) -> list[str]:
        found = [
            f"{_.when(row.at)} — {_.kind(row.kind)} — "
            f"{_.field(row.meeting.title)}, {_.when(row.meeting.start)}"
            for row in rows[:MAX_ROWS]
        ]
        return (found or [_("No deadlines coming up.")]) + ([_(ONLY_PUBLIC)] if public else [])

    return listing_reply(lambda _: _("Coming deadlines"), lines, tz)


def agreements_reply(
    agreements: Sequence[Agreement],
    today: date,
    tz: ZoneInfo,
    *,
    public: bool = False,
    names: Names | None = None,
) -> Reply:
    shown = names or Names()

    def rows(_: Say) -> list[str]:
        found = []
        for agreement in agreements[:MAX_ROWS]:
            row = (
                f"{agreement_label(agreement.id)} “{_.field(Untrusted(agreement.what))}” — "
                f"{_.field(Untrusted(shown.of(agreement.owner), NAME_CHARS))}"
                f" — {_.day(agreement.due)}"
            )
            overdue = _("overdue") if agreement.due < today else ""
            found.append(f"{row} ({overdue})" if overdue else row)
        if len(agreements) > MAX_ROWS:
            found.append(_("… and {count} more.", count=len(agreements) - MAX_ROWS))
        return (found or [_("No open agreements.")]) + ([_(ONLY_PUBLIC)] if public else [])

    return listing_reply(lambda _: _("Open agreements"), rows, tz)
