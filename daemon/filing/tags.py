"""Subject lines and filing words: tags to kind, series, date and item; a clean title.

Pure: used for mail subjects and for chat filings alike. A tag is a word in
square brackets anywhere in the subject, case-insensitive:

- kind: ``[agendapunt]``, ``[stuk]``, ``[tk]``/``[ter kennisgeving]``, ``[actualiteit]``
- target meeting: ``[kerngroep]``, ``[wijkalliantie 16-03-2027]``, ``[16-3-2027]``,
  ``[2027-03-16]`` (a known series, a date, or both)
- an existing item: ``[WB-42]`` (what our receipts put in the subject), ``[#42]``, ``[item 42]``

Tags we do not know stay in the title, except a mail gateway's ``[EXTERN]``.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from daemon.model import Kind, SeriesId
from daemon.safe_text import is_blank

NO_SUBJECT = "(geen onderwerp)"
MAX_TITLE_CHARS = 200

# Every bracketed run without nested brackets; bounded, so no backtracking blow-up.
_TAG = re.compile(r"\[([^\[\]]{1,80})\]")
# Reply and forward prefixes in Dutch, English, German, French and Nordic mail
# clients, optionally counted ("Re[2]:", "AW(3):").
_PREFIX = re.compile(
    r"^\s*(?:re|fwd?|antw|antwoord|doorst|aw|wg|tr|sv|vs)\s*(?:\[\d{1,3}\]|\(\d{1,3}\))?\s*:",
    re.IGNORECASE,
)
_ITEM_REF = re.compile(r"^(?:#|item\s*|wb\s*-?\s*)(\d{1,9})$")
_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
# Left behind when a tag is cut out of "[stuk] - Notitie" or "Notitie | [tk]".
_SEPARATORS = " -–—:|"

_KIND_WORDS: dict[str, Kind] = {
    "agendapunt": Kind.AGENDAPUNT,
    "stuk": Kind.STUK,
    "tk": Kind.TER_KENNISGEVING,
    "ter kennisgeving": Kind.TER_KENNISGEVING,
    "ter_kennisgeving": Kind.TER_KENNISGEVING,
    "ter-kennisgeving": Kind.TER_KENNISGEVING,
    "terkennisgeving": Kind.TER_KENNISGEVING,
    "actualiteit": Kind.ACTUALITEIT,
}
# Added by mail gateways of municipalities and corporations; noise in an agenda title.
_NOISE_TAGS = frozenset({"extern", "external", "externe afzender"})


@dataclass(frozen=True, slots=True)
class SubjectInfo:
    """What a subject says: a clean title and the tags found (``None`` where absent)."""

    title: str
    kind: Kind | None
    series: SeriesId | None
    on_date: date | None
    item_ref: int | None


@dataclass(slots=True)
class _Tags:
    kind: Kind | None = None
    series: SeriesId | None = None
    on_date: date | None = None
    item_ref: int | None = None


def kind_from_word(word: str) -> Kind | None:
    """The kind a tag or plus-address word names (``stuk``, ``tk``, ...), if any."""
    return _KIND_WORDS.get(" ".join(word.lower().split()))


def kind_for(subject_kind: Kind | None, plus_tag: str | None, has_attachments: bool) -> Kind:
    """The kind of a submission: subject tag, else plus address, else by attachments."""
    if subject_kind is not None:
        return subject_kind
    if plus_tag:
        plus_kind = kind_from_word(plus_tag)
        if plus_kind is not None:
            return plus_kind
    return Kind.STUK if has_attachments else Kind.AGENDAPUNT


def parse_subject(subject: str, known_series: Collection[str]) -> SubjectInfo:
    """Split a subject into its tags and a title without tags and reply prefixes."""
    series_by_key = {s.lower(): SeriesId(s) for s in known_series}
    tags = _Tags()

    def consume(match: re.Match[str]) -> str:
        content = " ".join(match[1].lower().split())
        return " " if _apply_tag(content, series_by_key, tags) else match[0]

    stripped = _TAG.sub(consume, subject)
    return SubjectInfo(_title(stripped), tags.kind, tags.series, tags.on_date, tags.item_ref)


def _apply_tag(content: str, series_by_key: dict[str, SeriesId], tags: _Tags) -> bool:
    """Record what one tag means in ``tags``; False when it is not one of ours."""
    if content in _NOISE_TAGS:
        return True
    kind = kind_from_word(content)
    if kind is not None:
        tags.kind = tags.kind or kind
        return True
    ref = _ITEM_REF.match(content)
    if ref is not None:
        tags.item_ref = tags.item_ref or int(ref[1])
        return True
    target = _meeting_target(content, series_by_key)
    if target is None:
        return False
    series, on_date = target
    tags.series = tags.series or series
    tags.on_date = tags.on_date or on_date
    return True


def _meeting_target(
    content: str, series_by_key: dict[str, SeriesId]
) -> tuple[SeriesId | None, date | None] | None:
    """``kerngroep``, ``wijkalliantie 16-03-2027`` or ``16-3-2027``; None if neither."""
    if content in series_by_key:
        return series_by_key[content], None
    head, _, last = content.rpartition(" ")
    on_date = parse_date(last)
    if on_date is None:
        return None
    if not head:
        return None, on_date
    if head in series_by_key:
        return series_by_key[head], on_date
    return None


def parse_date(text: str) -> date | None:
    """A Dutch ``16-03-2027``/``16-3-2027`` (also with / or .) or ISO ``2027-03-16``."""
    dmy = _DMY.match(text)
    ymd = _YMD.match(text)
    try:
        if dmy is not None:
            return date(int(dmy[3]), int(dmy[2]), int(dmy[1]))
        if ymd is not None:
            return date(int(ymd[1]), int(ymd[2]), int(ymd[3]))
    except ValueError:  # 31-02-2027 and friends
        return None
    return None


def _title(text: str) -> str:
    """Whitespace collapsed, reply prefixes and dangling separators removed, never empty."""
    title = " ".join(text.split()).lstrip(_SEPARATORS)
    while (prefix := _PREFIX.match(title)) is not None:
        title = title[prefix.end() :].lstrip(_SEPARATORS)
    title = title.rstrip(_SEPARATORS)
    if is_blank(title):  # "" or only zero-width characters: it would show as empty
        return NO_SUBJECT
    if len(title) > MAX_TITLE_CHARS:
        return title[: MAX_TITLE_CHARS - 1].rstrip() + "…"
    return title
