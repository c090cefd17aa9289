"""``Afspraak: <what> @owner voor <date>``: the owner, the due date and what remains.

Pure. The owner is the first mention: a pill of the formatted body (Element
shows the display name in the plain body), a Matrix id, a mail address written
after the ``@`` (``@piet@partner.test``: someone outside the room, whose
reminders go by mail), or a typed ``@name``. A typed name is matched against the
core room's display names (``members``; "@Bob" finds "Bob (WA)", "@Bob van Dijk"
the whole name); a name that fits several members or none is left as a
question, in every room: a typed name that is nobody's would be an owner no
reminder can reach, and a guess could name the wrong person. The due
date ends the message: it is the rest of the message after one of
"voor/tot/uiterlijk/op/by/before/until", after ``binnen/within N weken``, or
after the owner, read WHOLE by :mod:`daemon.chat.dates` (so "eind januari" is
never read as "januari", nor "volgende week vrijdag" as "volgende week"). A
part that is missing stays ``None``, with the reason a date could not be
read, so the caller asks instead of guessing.

An owner named by Matrix id (a pill, a typed id, a matched name) must be a member
of the room the afspraak is recorded in: :func:`owner_in_room` turns anyone else
into a question (``NotInRoom``), as reminders go to the owner in a direct chat
and a pill can link to any account (security finding 5). The members are the
room's joined members as the homeserver lists them when the afspraak is carried
out (:mod:`daemon.chat.intake`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from html.parser import HTMLParser
from urllib.parse import unquote

from daemon.chat.dates import DueProblem, NextMeeting, read_due
from daemon.rules.names import Ambiguous, Match, Names, Unknown

MAX_AGREEMENT_CHARS = 300


@dataclass(frozen=True, slots=True)
class NotInRoom:
    """An owner named by Matrix id (``user_id``) who is no member of the room."""

    user_id: str


@dataclass(frozen=True, slots=True)
class RecordAgreement:
    """An afspraak; a missing part (``None``/empty) means: ask, do not record.

    ``unclear_due`` is the date phrase that could not be read and ``problem`` why,
    for the question; ``next_meeting`` asks the caller for the next meeting's date.
    """

    what: str
    owner: str | None
    due: date | None
    unclear_due: str | None = None
    problem: DueProblem | None = None
    next_meeting: NextMeeting | None = None
    # A typed @name that fits several members or none, or a Matrix id of someone
    # outside the room (then ``owner`` is None).
    owner_problem: Ambiguous | Unknown | NotInRoom | None = None


@dataclass(frozen=True, slots=True)
class Mention:
    """A mention pill of a formatted message: the text shown and the user it links to."""

    text: str
    user_id: str


_MXID = re.compile(r"@[a-z0-9._=/+\-]+:[a-z0-9.\-]+(?::\d{1,5})?", re.I)
# "@piet@partner.test": the @ that names an owner, then a mail address.
_AT_ADDRESS = re.compile(
    r"(?<![\w@])@(?P<address>[\w.+\-]{1,64}@[a-z0-9\-]+(?:\.[a-z0-9\-]+)+)(?![\w@])", re.I
)
_LEAD_WORDS = r"voor|tot|uiterlijk|op|by|before|until|due|on"
_LEAD = re.compile(rf"(?<!\w)(?:{_LEAD_WORDS})(?!\w)", re.I)
_SPAN_START = re.compile(r"(?<!\w)(?:binnen|over|within|in)\s+\S+\s+\S+", re.I)
_DANGLING = re.compile(rf"(?:\s+(?:{_LEAD_WORDS}|en|and))+\s*$", re.I)
_SEPARATORS = " \t-–—:,;."
_DATE_WORDS = 7  # "de volgende vergadering van de kerngroep"; a longer rest is no date
_MAX_CANDIDATES = 12


def parse_agreement(
    rest: str,
    received_at: datetime,
    mentions: Sequence[Mention] = (),
    known_series: Collection[str] = (),
    members: Names | None = None,
) -> RecordAgreement:
    """``<what> @owner voor <date>``, in any order of owner and date."""
    text = " ".join(rest.split())
    owner, text, after_owner = _owner(text, mentions)
    problem: Ambiguous | Unknown | None = None
    if owner is None:
        # No names known (outside the core room): every typed name is unknown.
        owner, problem, text, after_owner = _typed_owner(text, members or Names())
    due, text, unclear = _due(text, after_owner, received_at, known_series)
    what = _DANGLING.sub("", text).strip(_SEPARATORS)
    if len(what) > MAX_AGREEMENT_CHARS:
        what = what[: MAX_AGREEMENT_CHARS - 1].rstrip() + "…"
    if isinstance(due, NextMeeting):
        return RecordAgreement(what, owner, None, unclear, next_meeting=due, owner_problem=problem)
    if isinstance(due, DueProblem):
        return RecordAgreement(what, owner, None, unclear, due, owner_problem=problem)
    return RecordAgreement(what, owner, due, unclear, owner_problem=problem)


def owner_is_matrix_id(agreement: RecordAgreement) -> bool:
    """Whether the owner is named by Matrix id (a mail address owner is someone outside
    Matrix, and needs no room)."""
    return agreement.owner is not None and agreement.owner.startswith("@")


def owner_in_room(agreement: RecordAgreement, members: Collection[str]) -> RecordAgreement:
    """``agreement`` as it may be recorded in a room whose members are ``members`` (user
    ids): an owner named by Matrix id who is none of them is no owner but a question.

    A typed id differing only in case from one member's id ("@Bob:example.org" for
    "@bob:example.org") is that member: people type ids so, and new ids are lower case.
    """
    owner = agreement.owner
    if owner is None or not owner_is_matrix_id(agreement) or owner in members:
        return agreement
    same = [member for member in members if member.casefold() == owner.casefold()]
    if len(same) == 1:
        return replace(agreement, owner=same[0])
    return replace(agreement, owner=None, owner_problem=NotInRoom(owner))


_TYPED_AT = re.compile(r"(?<![\w@])@(?=\S)")


def _typed_owner(
    text: str, members: Names
) -> tuple[str | None, Ambiguous | Unknown | None, str, int | None]:
    """The member a typed ``@name`` names: (user id or None, why not, the text without
    the name, where the text after it starts)."""
    for at in _TYPED_AT.finditer(text):
        found = members.match(text[at.end() :])
        if isinstance(found, Match):
            return (found.user_id, None, *_cut_at(text, at.start(), at.end() + found.length))
        if found is not None:
            end = at.end() + len(found.typed)
            return (None, found, *_cut_at(text, at.start(), end))
    return None, None, text, None


def _owner(text: str, mentions: Sequence[Mention]) -> tuple[str | None, str, int | None]:
    """The first mention (a pill or a Matrix id), the text without it, and where the
    text after it starts (``None``: no owner, or nothing after it); or a mail
    address after an ``@``. A bare address is no owner ("mail info@gemeente.nl")."""
    for mention in mentions:
        for shown in (f"@{mention.text}", mention.text):
            at = text.find(shown) if shown.strip() else -1
            if at >= 0:
                return (mention.user_id, *_cut_at(text, at, at + len(shown)))
    mxid = _MXID.search(text)
    if mxid is not None:
        return (mxid[0], *_cut_at(text, mxid.start(), mxid.end()))
    address = _AT_ADDRESS.search(text)
    if address is not None:
        owner = address["address"].lower()
        return (owner, *_cut_at(text, address.start(), address.end()))
    return None, text, None


def _cut_at(text: str, start: int, end: int) -> tuple[str, int | None]:
    """``text`` without ``[start:end]``, and where what followed it starts now."""
    before, after = " ".join(text[:start].split()), " ".join(text[end:].split())
    if not after:
        return before, None
    return (f"{before} {after}", len(before) + 1) if before else (after, 0)


Due = date | DueProblem | NextMeeting


def _due(
    text: str, after_owner: int | None, base: datetime, known_series: Collection[str]
) -> tuple[Due | None, str, str | None]:
    """(the due date or why there is none, text without the date phrase, the unread phrase).

    Each candidate phrase runs from its start to the end of the message and is
    read whole; the latest start is tried first. When none is a date, the
    question names the phrase of the latest candidate whose problem is more
    than "unreadable" (a date that does not exist, is past, is not one day).
    """
    candidates: set[tuple[int, int]] = set()  # (where the phrase starts, where it is cut)
    for lead in _LEAD.finditer(text):
        candidates.add((lead.end(), lead.start()))
    for span in _SPAN_START.finditer(text):
        candidates.add((span.start(), span.start()))
    if after_owner is not None:
        candidates.add((after_owner, after_owner))
    # The last few candidates only: a date ends the sentence, and a huge message
    # must not cost thousands of parse attempts.
    unread: tuple[DueProblem, str, int] | None = None
    for start, cut_from in sorted(candidates, reverse=True)[:_MAX_CANDIDATES]:
        phrase = text[start:].strip(_SEPARATORS)
        if not phrase or len(phrase.split()) > _DATE_WORDS:
            continue
        found = read_due(phrase, base, known_series)
        if not isinstance(found, DueProblem):
            return found, _cut(text, cut_from, len(text)), None
        if unread is None or (
            unread[0] is DueProblem.UNREADABLE and found is not DueProblem.UNREADABLE
        ):
            unread = (found, phrase, cut_from)
    if unread is None:
        return None, text, None
    problem, phrase, cut_from = unread
    # A date that is past or does not exist is still a date: the title loses it.
    # An unreadable phrase may be part of what was agreed, so it stays.
    rest = text if problem is DueProblem.UNREADABLE else _cut(text, cut_from, len(text))
    return problem, rest, phrase


def _cut(text: str, start: int, end: int) -> str:
    return " ".join(f"{text[:start]} {text[end:]}".split())


class _PillParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[Mention] = []
        self._user: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = unquote(dict(attrs).get("href") or "")
        if tag == "a" and href.startswith("https://matrix.to/#/@"):
            self._user = href.removeprefix("https://matrix.to/#/").split("?")[0]
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._user is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._user is not None:
            if _MXID.fullmatch(self._user):
                self.found.append(Mention("".join(self._text).strip(), self._user))
            self._user = None


def pills(formatted_body: str | None) -> tuple[Mention, ...]:
    """The user mentions (``https://matrix.to/#/@user:server`` links) of a formatted body."""
    if not formatted_body:
        return ()
    parser = _PillParser()
    try:
        parser.feed(formatted_body)
        parser.close()
    except AssertionError:  # 3.11's markup base asserts on "<![0" and the like: sender's HTML
        pass  # the pills before the broken markup still count
    return tuple(parser.found)
