"""What a chat message asks for: a filing, an afspraak, a ``!command``, or nothing.

Pure parsing, no store and no clock: ``parse_request`` turns a message's text
into one typed request for :mod:`daemon.chat.actions`. Filing prefixes and
commands are Dutch with English aliases, case-insensitive:

- ``Agendapunt: <title>`` (``Agenda item:``), ``Ter kennisgeving:`` (``For
  information:``), ``Actualiteit:`` (``Current affair:``), ``Stuk:``
  (``Document:``); the title is the rest of the first line, the text the rest.
  ``Agendapunt (direct): ...`` puts a point straight on the next agenda
  without the deadline check (RULES.md: during the previous meeting).
  Tags as in mail subjects (``[kerngroep]``, ``[2027-05-18]``) pick the meeting.
- ``Afspraak: <what> @owner voor <date>`` (``Agreement: ... by <date>``).
- ``!command args``: see ``COMMANDS``.

A prefix is found through WhatsApp formatting and a leading emoji
(``*Agendapunt:* ...``, ``📌 Stuk: ...``); titles are stored without the markers.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from difflib import get_close_matches

from daemon.chat.afspraak import Mention, RecordAgreement, parse_agreement
from daemon.chat.decision_requests import DecisionRequest, Problem, parse_decision_command
from daemon.chat.markup import plain, without_leading_decoration
from daemon.chat.selection import Selection, parse_selection
from daemon.filing.tags import MAX_TITLE_CHARS, NO_SUBJECT, parse_subject
from daemon.i18n import mark
from daemon.model import AgreementId, ItemId, Kind, SeriesId
from daemon.rules.names import Names
from daemon.safe_text import is_blank

# --- requests -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FileItem:
    """File an item of ``kind``; ``series``/``on_date`` come from tags in the title."""

    kind: Kind
    title: str
    text: str
    series: SeriesId | None = None
    on_date: date | None = None
    direct: bool = False


@dataclass(frozen=True, slots=True)
class BadFiling:
    """A filing prefix whose message cannot be filed as written; ``problem`` is a msgid."""

    problem: str


@dataclass(frozen=True, slots=True)
class ShowHelp:
    pass


@dataclass(frozen=True, slots=True)
class ShowAgenda:
    meeting: str | None  # a meeting id, a date or a series; None: the next meeting


@dataclass(frozen=True, slots=True)
class ShowDeadlines:
    pass


@dataclass(frozen=True, slots=True)
class ShowAgreements:
    pass


@dataclass(frozen=True, slots=True)
class MarkDone:
    agreement: AgreementId


@dataclass(frozen=True, slots=True)
class CannotKeep:
    agreement: AgreementId
    motivation: str


@dataclass(frozen=True, slots=True)
class MoveItem:
    item: ItemId
    meeting: str


@dataclass(frozen=True, slots=True)
class WithdrawItem:
    item: ItemId


@dataclass(frozen=True, slots=True)
class AcceptItem:
    item: ItemId


@dataclass(frozen=True, slots=True)
class RejectItem:
    item: ItemId
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RejectItems:
    """Reject every item of ``items`` that awaits acceptance, in one go (a flood of mail)."""

    items: Selection
    reason: str = ""


@dataclass(frozen=True, slots=True)
class KeepForDiscussion:
    item: ItemId


@dataclass(frozen=True, slots=True)
class MarkConfidential:
    """Keep an item off every public surface (``confidential``), or let it back on."""

    item: ItemId
    confidential: bool = True


@dataclass(frozen=True, slots=True)
class BadCommand:
    """A known command with wrong arguments; the answer shows its usage and ``problem``."""

    spec: CommandSpec
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class UnknownCommand:
    word: str
    suggestion: str | None


Command = (
    ShowHelp
    | ShowAgenda
    | ShowDeadlines
    | ShowAgreements
    | MarkDone
    | CannotKeep
    | MoveItem
    | WithdrawItem
    | AcceptItem
    | RejectItem
    | RejectItems
    | KeepForDiscussion
    | MarkConfidential
)
Request = (
    FileItem | BadFiling | RecordAgreement | Command | DecisionRequest | BadCommand | UnknownCommand
)


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One command: its Dutch name, aliases, usage line, what it does, and who may use it."""

    name: str
    aliases: tuple[str, ...]
    usage: str
    summary: str  # msgid
    read_only: bool
    announce_rooms: bool = False  # also answered in the announce rooms


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("help", ("hulp",), "!help", mark("this list"), True, True),
    CommandSpec(
        "agenda", (), "!agenda [vergadering]", mark("the agenda of the next (or a) meeting"), True,
        True,
    ),
    CommandSpec(
        "deadlines", ("termijnen",), "!deadlines", mark("the coming deadlines"), True, True
    ),
    CommandSpec("afspraken", ("agreements",), "!afspraken", mark("the open agreements"), True),
    CommandSpec("klaar", ("done",), "!klaar A-ID", mark("an agreement is done"), False),
    CommandSpec(
        "kan-niet", ("kanniet", "cannot"), "!kan-niet A-ID <motivatie>",
        mark("an agreement cannot be kept (with a motivation)"), False,
    ),
    CommandSpec(
        "verplaats", ("move",), "!verplaats ID <vergadering>",
        mark("move an item to another meeting"), False,
    ),
    CommandSpec("intrekken", ("withdraw",), "!intrekken ID", mark("withdraw an item"), False),
    CommandSpec(
        "accepteer", ("accept",), "!accepteer ID", mark("accept an item awaiting acceptance"),
        False,
    ),
    CommandSpec(
        "weiger", ("reject",), "!weiger ID [ID …] [reden]",
        mark("reject items awaiting acceptance: one, several, or a range (20 t/m 80)"),
        False,
    ),
    CommandSpec(
        "besluitrijp", ("decision-ready",), "!besluitrijp ID ter-bespreking",
        mark("keep a late stuk on its meeting for discussion, no decision"), False,
    ),
    CommandSpec(
        "vertrouwelijk", ("confidential",), "!vertrouwelijk ID",
        mark("keep an item off every public surface (rooms, feed, page)"), False,
    ),
    CommandSpec(
        "openbaar", ("public",), "!openbaar ID",
        mark("undo !vertrouwelijk: the item is shown where its agenda is public"), False,
    ),
    # Decisions and date polls (daemon/chat/decision_requests.py).
    CommandSpec(
        "besluit", ("decide",), "!besluit ID [sluit <wanneer>]",
        mark("a poll on an item: voor / tegen / onthouding (closes in 72 hours, or when given)"),
        False,
    ),
    CommandSpec(
        "uitslag", ("result",), "!uitslag ID voor 5 tegen 2 onthouding 1",
        mark("record the votes counted at the meeting, optionally per party (bewoners voor 4 "
             "tegen 0, partners voor 1 tegen 2)"), False,
    ),
    CommandSpec(
        "advies", ("advice",), "!advies ID <partner>",
        mark("a partner will not carry out the decision: a non-binding advice it answers with a "
             "motivation"), False,
    ),
    CommandSpec(
        "datumpoll", ("datepoll",), "!datumpoll <vergadering> <datum> <datum> [sluit <wanneer>]",
        mark("a poll on other dates for a meeting; a date with more than half of the votes "
             "moves it"), False,
    ),
    CommandSpec(
        "sluit", ("close",), "!sluit ID|<vergadering>", mark("close a poll now"), False
    ),
    CommandSpec(
        "besluiten", ("decisions",), "!besluiten [vergadering]",
        mark("the decision list (of a meeting)"), True,
    ),
)  # fmt: skip
_BY_WORD = {word: spec for spec in COMMANDS for word in (spec.name, *spec.aliases)}

MOTIVATION_MISSING = mark("An agreement that cannot be kept needs a motivation.")
ONLY_FOR_DISCUSSION = mark(
    "A late stuk can only be kept “ter-bespreking” (for discussion, no decision)."
)
EMPTY_TITLE = mark("The title is missing: write it after the colon.")
DIRECT_ONLY_AGENDAPUNT = mark("Only an agendapunt can go on the agenda directly.")
UNKNOWN_FLAG = mark("Between the brackets only “direct” is known.")

# --- parsing ------------------------------------------------------------------------

_COMMAND = re.compile(r"^!(?P<word>[a-z][a-z-]{0,30})(?:\s+(?P<args>.*))?\Z", re.S | re.I)
_KINDS = {
    "agendapunt": Kind.AGENDAPUNT, "agenda item": Kind.AGENDAPUNT,
    "agenda-item": Kind.AGENDAPUNT, "agendaitem": Kind.AGENDAPUNT,
    "ter kennisgeving": Kind.TER_KENNISGEVING, "ter-kennisgeving": Kind.TER_KENNISGEVING,
    "for information": Kind.TER_KENNISGEVING,
    "actualiteit": Kind.ACTUALITEIT, "current affair": Kind.ACTUALITEIT,
    "stuk": Kind.STUK, "document": Kind.STUK,
}  # fmt: skip
_FILING = re.compile(
    r"^(?P<word>agendapunt|agenda[ -]?item|ter[ -]kennisgeving|for information|actualiteit"
    r"|current affair|stuk|document)\s*(?:\((?P<flag>[^()\n]{0,30})\))?\s*:(?P<rest>.*)\Z",
    re.S | re.I,
)
_AGREEMENT = re.compile(r"^(?:afspraak|agreement)\s*:(?P<rest>.*)\Z", re.S | re.I)
_DIRECT_FLAGS = frozenset({"direct", "direkt", "directly"})
# A reply's quoted fallback ("> <@jan:x> ...") that older clients put before the text.
_REPLY_FALLBACK = re.compile(r"\A(?:>[^\n]*\n)+\n")
_ITEM_ID = re.compile(r"^(?:#|wb-?)?(?P<n>\d{1,9})$", re.I)
_AGREEMENT_ID = re.compile(r"^(?:#|a-?)?(?P<n>\d{1,9})$", re.I)
_FOR_DISCUSSION = frozenset(
    {"ter-bespreking", "terbespreking", "ter bespreking", "for-discussion", "discussion"}
)


def parse_request(
    body: str,
    *,
    received_at: datetime,
    known_series: Collection[str] = (),
    mentions: Sequence[Mention] = (),
    members: Names | None = None,
) -> Request | None:
    """The request in a message, or ``None`` for ordinary conversation.

    ``received_at`` (aware, local time) is the base for relative due dates;
    ``mentions`` are the pills (mention links) of the formatted body; ``members``
    the core room's display names, for a typed ``@name``.
    """
    # WhatsApp's *bold*/_italic_ markers and a leading emoji are no part of what is
    # asked (daemon/chat/markup.py): "*Agendapunt:* Fietsen" files "Fietsen".
    text = without_leading_decoration(plain(_REPLY_FALLBACK.sub("", body))).strip()
    command = _COMMAND.match(text)
    if command is not None:
        return parse_command(command["word"].lower(), (command["args"] or "").strip())
    filing = _FILING.match(text)
    if filing is not None:
        return _filing(filing, known_series)
    agreement = _AGREEMENT.match(text)
    if agreement is not None:
        return parse_agreement(agreement["rest"], received_at, mentions, known_series, members)
    return None


def is_pin(key: str) -> bool:
    """A 📌 reaction, with or without the emoji variation selector (U+FE0F)."""
    return key.replace("\ufe0f", "").strip() == "📌"


# --- filing -------------------------------------------------------------------------


def _filing(match: re.Match[str], known_series: Collection[str]) -> FileItem | BadFiling:
    kind = _KINDS[" ".join(match["word"].lower().split())]
    flag = " ".join((match["flag"] or "").lower().split())
    if flag and flag not in _DIRECT_FLAGS:
        return BadFiling(UNKNOWN_FLAG)
    direct = bool(flag)
    if direct and kind is not Kind.AGENDAPUNT:
        return BadFiling(DIRECT_ONLY_AGENDAPUNT)
    title_line, text = _title_and_text(match["rest"])
    info = parse_subject(title_line, known_series)
    # A title of only tags or of characters that show as nothing (U+200B ...) is none.
    if is_blank(title_line) or info.title == NO_SUBJECT:
        return BadFiling(EMPTY_TITLE)
    if len(title_line) > MAX_TITLE_CHARS:
        # The whole first line stays readable in the text; the title is cut.
        text = f"{title_line}\n\n{text}".strip()
    return FileItem(kind, info.title, text, info.series, info.on_date, direct)


def _title_and_text(rest: str) -> tuple[str, str]:
    """The first non-empty line and everything after it."""
    lines = rest.replace("\r\n", "\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        return "", ""
    return " ".join(lines[0].split()), "\n".join(lines[1:]).strip()


# --- commands -----------------------------------------------------------------------


def parse_command(word: str, args: str) -> Request:
    """A ``!word args`` command; unknown words get the closest known one as a hint."""
    spec = _BY_WORD.get(word)
    if spec is None:
        close = get_close_matches(word, list(_BY_WORD), n=1, cutoff=0.6)
        return UnknownCommand(word, _BY_WORD[close[0]].name if close else None)
    parts = args.split(maxsplit=1)
    first, rest = (parts[0] if parts else ""), (parts[1].strip() if len(parts) > 1 else "")
    return _COMMAND_PARSERS[spec.name](spec, args, first, rest)


def _help(spec: CommandSpec, args: str, first: str, rest: str) -> Request:
    return ShowHelp()


def _agenda(spec: CommandSpec, args: str, first: str, rest: str) -> Request:
    return ShowAgenda(args or None)


def _deadlines(spec: CommandSpec, args: str, first: str, rest: str) -> Request:
    return ShowDeadlines()


def _agreements(spec: CommandSpec, args: str, first: str, rest: str) -> Request:
    return ShowAgreements()


def _done(spec: CommandSpec, args: str, first: str, rest: str) -> Request:
    agreement = agreement_id(first)
    if agreement is None or rest:
        return BadCommand(spec)
    return MarkDone(agreement)


def _cannot(spec: CommandSpec, args: str, first: str, rest: str) -> Request:
    agreement = agreement_id(first)
    if agreement is None:
        return BadCommand(spec)
    if not rest:
        return BadCommand(spec, MOTIVATION_MISSING)
    return CannotKeep(agreement, rest)


def _move(spec: CommandSpec, args: str, first: str, rest: str) -> Request:
    item = item_id(first)
    if item is None or not rest:
        return BadCommand(spec)
    return MoveItem(item, rest)


def _withdraw(spec: CommandSpec, args: str, first: str, rest: str) -> Request:
    item = item_id(first)
    return BadCommand(spec) if item is None or rest else WithdrawItem(item)


def _accept(spec: CommandSpec, args: str, first: str, rest: str) -> Request:
    item = item_id(first)
    return BadCommand(spec) if item is None or rest else AcceptItem(item)


def _reject(spec: CommandSpec, args: str, first: str, rest: str) -> Request:
    """One item (``!weiger 12 reden``, as always) or several: a list and/or ranges."""
    selection = parse_selection(args)
    if selection is None:
        return BadCommand(spec)
    if isinstance(selection, str):
        return BadCommand(spec, selection)
    if selection.single:
        return RejectItem(selection.ids()[0], selection.rest)
    return RejectItems(selection, selection.rest)


def _keep(spec: CommandSpec, args: str, first: str, rest: str) -> Request:
    item = item_id(first)
    if item is None:
        return BadCommand(spec)
    if " ".join(rest.lower().split()) not in _FOR_DISCUSSION:
        return BadCommand(spec, ONLY_FOR_DISCUSSION)
    return KeepForDiscussion(item)


def _confidential(spec: CommandSpec, args: str, first: str, rest: str) -> Request:
    item = item_id(first)
    if item is None or rest:
        return BadCommand(spec)
    return MarkConfidential(item, confidential=spec.name == "vertrouwelijk")


def _decision(spec: CommandSpec, args: str, first: str, rest: str) -> Request:
    parsed = parse_decision_command(spec.name, args)
    return BadCommand(spec, parsed.problem) if isinstance(parsed, Problem) else parsed


_COMMAND_PARSERS = {
    "help": _help,
    "agenda": _agenda,
    "deadlines": _deadlines,
    "afspraken": _agreements,
    "klaar": _done,
    "kan-niet": _cannot,
    "verplaats": _move,
    "intrekken": _withdraw,
    "accepteer": _accept,
    "weiger": _reject,
    "besluitrijp": _keep,
    "vertrouwelijk": _confidential,
    "openbaar": _confidential,
    "besluit": _decision,
    "uitslag": _decision,
    "advies": _decision,
    "datumpoll": _decision,
    "sluit": _decision,
    "besluiten": _decision,
}


def item_id(text: str) -> ItemId | None:
    """``12``, ``#12`` or ``WB-12`` (as mail receipts write it)."""
    match = _ITEM_ID.match(text.strip())
    return None if match is None else ItemId(int(match["n"]))


def agreement_id(text: str) -> AgreementId | None:
    """``3``, ``#3``, ``A3`` or ``A-3`` (as listings write it)."""
    match = _AGREEMENT_ID.match(text.strip())
    return None if match is None else AgreementId(int(match["n"]))
