"""``Afspraak: <what> @owner voor <date>``: the owner, the due date and what remains.

Pure. The owner is the first mention: a pill of the formatted body (Element
shows the display name in the plain body), a Matrix id, or ``@name``. The due
date is the phrase after the last of "voor/tot/uiterlijk/op/by/before/until"
(or ``binnen/within N weken``, or a date ending the message) that
:mod:`daemon.chat.dates` can read. A part that is missing stays ``None``, so
the caller asks instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from html.parser import HTMLParser
from urllib.parse import unquote

from daemon.chat.dates import parse_due

MAX_AGREEMENT_CHARS = 300


@dataclass(frozen=True, slots=True)
class RecordAgreement:
    """An afspraak; a missing part (``None``/empty) means: ask, do not record.

    ``unclear_due`` is the date phrase that could not be read, for the question.
    """

    what: str
    owner: str | None
    due: date | None
    unclear_due: str | None = None


@dataclass(frozen=True, slots=True)
class Mention:
    """A mention pill of a formatted message: the text shown and the user it links to."""

    text: str
    user_id: str


_MXID = re.compile(r"@[a-z0-9._=/+\-]+:[a-z0-9.\-]+(?::\d{1,5})?", re.I)
_AT_NAME = re.compile(r"(?<![\w@])@(?P<name>[^\W\d_][\w.\-]{0,40})", re.UNICODE)
_LEAD_WORDS = r"voor|tot|uiterlijk|op|by|before|until|due|on"
_LEAD = re.compile(rf"(?<!\w)(?:{_LEAD_WORDS})(?!\w)", re.I)
_SPAN_START = re.compile(r"(?<!\w)(?:binnen|over|within|in)\s+\S+\s+\S+", re.I)
_DANGLING = re.compile(rf"(?:\s+(?:{_LEAD_WORDS}|en|and))+\s*$", re.I)
_SEPARATORS = " \t-–—:,;."
_DATE_WORDS = 5
_MAX_CANDIDATES = 12


def parse_agreement(
    rest: str, received_at: datetime, mentions: Sequence[Mention] = ()
) -> RecordAgreement:
    """``<what> @owner voor <date>``, in any order of owner and date."""
    text = " ".join(rest.split())
    owner, text = _owner(text, mentions)
    due, text, unclear = _due(text, received_at)
    what = _DANGLING.sub("", text).strip(_SEPARATORS)
    if len(what) > MAX_AGREEMENT_CHARS:
        what = what[: MAX_AGREEMENT_CHARS - 1].rstrip() + "…"
    return RecordAgreement(what, owner, due, unclear)


def _owner(text: str, mentions: Sequence[Mention]) -> tuple[str | None, str]:
    """The first mention (a pill, a Matrix id, or ``@name``) and the text without it."""
    for mention in mentions:
        for shown in (f"@{mention.text}", mention.text):
            at = text.find(shown) if shown.strip() else -1
            if at >= 0:
                return mention.user_id, _cut(text, at, at + len(shown))
    mxid = _MXID.search(text)
    if mxid is not None:
        return mxid[0], _cut(text, mxid.start(), mxid.end())
    name = _AT_NAME.search(text)
    if name is not None:
        return name["name"].rstrip(".-"), _cut(text, name.start(), name.end())
    return None, text


def _due(text: str, base: datetime) -> tuple[date | None, str, str | None]:
    """(due date, text without the date phrase, an unreadable date phrase)."""
    candidates: list[tuple[int, int]] = []  # (where the phrase starts, where it is cut)
    for lead in _LEAD.finditer(text):
        candidates.append((lead.end(), lead.start()))
    for span in _SPAN_START.finditer(text):
        candidates.append((span.start(), span.start()))
    # The last few candidates only: a date ends the sentence, and a huge message
    # must not cost thousands of parse attempts.
    for start, cut_from in sorted(candidates, reverse=True)[:_MAX_CANDIDATES]:
        words = text[start:].split()
        for count in range(min(len(words), _DATE_WORDS), 0, -1):
            phrase = " ".join(words[:count])
            found = parse_due(phrase, base)
            if found is not None:
                end = text.find(phrase, start) + len(phrase)
                return found, _cut(text, cut_from, end), None
    trailing = _trailing_date(text, base)
    if trailing is not None:
        return trailing
    leads = list(_LEAD.finditer(text))
    unclear = text[leads[-1].end() :].strip(_SEPARATORS) if leads else None
    return None, text, unclear or None


def _trailing_date(text: str, base: datetime) -> tuple[date | None, str, str | None] | None:
    """A date at the very end without a lead word ("... @jan vrijdag")."""
    words = text.split()
    for count in range(min(len(words) - 1, _DATE_WORDS), 0, -1):
        phrase = " ".join(words[-count:])
        found = parse_due(phrase, base)
        if found is not None:
            return found, " ".join(words[:-count]), None
    return None


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
    parser.feed(formatted_body)
    parser.close()
    return tuple(parser.found)
