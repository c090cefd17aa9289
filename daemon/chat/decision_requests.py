"""The decision commands as people write them (issue 12). Pure parsing, no store, no clock.

- ``!besluit WB-n [sluit <wanneer>]`` (``decide``): a poll on the item, voor / tegen /
  onthouding; ``sluit nu`` closes its open poll now.
- ``!uitslag WB-n voor 5 tegen 2 onthouding 1`` (``result``), optionally per party:
  ``bewoners voor 4 tegen 0, partners voor 1 tegen 2``.
- ``!advies WB-n <partner>`` (``advice``): the partner will not carry the decision out.
- ``!datumpoll <vergadering> <datum> <datum> [...] [sluit <wanneer>]`` (``datepoll``).
- ``!sluit WB-n`` or ``!sluit <vergadering>`` (``close``): close a poll now.
- ``!besluiten [vergadering]`` (``decisions``): the decision list.

``<wanneer>`` and the dates are read when the command is carried out (they need
the time it was asked); here they stay text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from daemon.i18n import mark
from daemon.model import ItemId
from daemon.rules.decisions import Counts, Party

__all__ = [
    "ClosePoll",
    "DecisionRequest",
    "MarkAdvice",
    "Problem",
    "RecordResult",
    "ShowDecisions",
    "StartDatePoll",
    "StartDecisionPoll",
    "is_close_now",
    "item_ref",
    "parse_decision_command",
]


@dataclass(frozen=True, slots=True)
class StartDecisionPoll:
    item: ItemId
    closes: str | None = None  # "<wanneer>" as written; "nu"/"now": close the open poll


@dataclass(frozen=True, slots=True)
class RecordResult:
    item: ItemId
    counts: tuple[tuple[Party, Counts], ...]


@dataclass(frozen=True, slots=True)
class MarkAdvice:
    item: ItemId
    partner: str


@dataclass(frozen=True, slots=True)
class StartDatePoll:
    meeting: str
    dates: tuple[str, ...]
    closes: str | None = None


@dataclass(frozen=True, slots=True)
class ClosePoll:
    ref: str  # WB-n, or a meeting


@dataclass(frozen=True, slots=True)
class ShowDecisions:
    meeting: str | None = None


DecisionRequest = (
    StartDecisionPoll | RecordResult | MarkAdvice | StartDatePoll | ClosePoll | ShowDecisions
)


@dataclass(frozen=True, slots=True)
class Problem:
    """The arguments do not fit; ``problem`` (a msgid) says why, or ``None``: show the usage."""

    problem: str | None = None


VOTES_UNREADABLE = mark(
    "Write the votes as: voor 5 tegen 2 onthouding 1, or per party: bewoners voor 4 tegen 0, "
    "partners voor 1 tegen 2."
)
PARTNER_MISSING = mark("Name the partner that will not carry out the decision.")
TWO_DATES = mark("A date poll needs at least two dates.")
TOO_MANY_DATES = mark("A date poll has at most 10 dates.")
MAX_DATES = 10  # a poll's buttons stay readable (and within MSC3381's 20 answers)

_ITEM = re.compile(r"^(?:#|wb-?)?(?P<n>\d{1,9})$", re.I)
_CLOSE_WORDS = frozenset({"sluit", "close", "closes", "sluiting"})
_NOW = frozenset({"nu", "now"})
_VOTE_WORDS = {
    "voor": "voor", "for": "voor", "vóór": "voor",
    "tegen": "tegen", "against": "tegen",
    "onthouding": "onthouding", "onthoudingen": "onthouding", "blanco": "onthouding",
    "abstain": "onthouding", "abstention": "onthouding", "abstentions": "onthouding",
}  # fmt: skip
_PARTY_WORDS = {
    "bewoners": Party.BEWONERS, "bewoner": Party.BEWONERS, "residents": Party.BEWONERS,
    "resident": Party.BEWONERS,
    "partners": Party.PARTNERS, "partner": Party.PARTNERS,
}  # fmt: skip
MAX_VOTES = 10_000


def item_ref(text: str) -> ItemId | None:
    """``12``, ``#12`` or ``WB-12``."""
    match = _ITEM.match(text.strip())
    return None if match is None else ItemId(int(match["n"]))


def _split_close(words: list[str]) -> tuple[list[str], str | None]:
    """The words before ``sluit``/``close``, and what follows it (``None``: not given)."""
    for index, word in enumerate(words):
        if word.lower() in _CLOSE_WORDS:
            return words[:index], " ".join(words[index + 1 :])
    return words, None


def parse_decision_command(name: str, args: str) -> DecisionRequest | Problem:
    """The request of the decision command ``name`` (its Dutch name) with ``args``."""
    words = args.split()
    if name == "besluiten":
        return ShowDecisions(" ".join(words) or None)
    if name == "datumpoll":
        return _date_poll(words)
    if name == "sluit":
        return ClosePoll(" ".join(words)) if words else Problem()
    item = item_ref(words[0]) if words else None
    if item is None:
        return Problem()
    rest = words[1:]
    if name == "besluit":
        before, closes = _split_close(rest)
        if before or closes == "":
            return Problem()
        return StartDecisionPoll(item, closes)
    if name == "uitslag":
        counts = parse_counts(" ".join(rest))
        return Problem(VOTES_UNREADABLE) if counts is None else RecordResult(item, counts)
    if name == "advies":
        partner = " ".join(rest)
        return MarkAdvice(item, partner) if partner else Problem(PARTNER_MISSING)
    return Problem()


def is_close_now(closes: str | None) -> bool:
    return closes is not None and closes.strip().lower() in _NOW


def _date_poll(words: list[str]) -> StartDatePoll | Problem:
    before, closes = _split_close(words)
    if closes == "" or not before:
        return Problem()
    meeting, dates = before[0], tuple(before[1:])
    if len(dates) < 2:
        return Problem(TWO_DATES)
    if len(dates) > MAX_DATES:
        return Problem(TOO_MANY_DATES)
    return StartDatePoll(meeting, dates, closes)


def parse_counts(text: str) -> tuple[tuple[Party, Counts], ...] | None:
    """``voor 5 tegen 2 onthouding 1``, or per party separated by commas; ``None`` when
    unreadable (a word that is no vote or party, a number missing, a party twice)."""
    segments = [s for s in re.split(r"[,;]|\s+en\s+|\s+and\s+", text.lower()) if s.strip()]
    if not segments:
        return None
    parsed: list[tuple[Party, Counts]] = []
    for segment in segments:
        words = segment.replace(":", " ").split()
        party = _PARTY_WORDS.get(words[0]) if words else None
        if party is not None:
            words = words[1:]
        numbers = _pairs(words)
        if numbers is None:
            return None
        parsed.append((party or Party.ALLEN, Counts(**numbers)))
    parties = [party for party, _ in parsed]
    if len(set(parties)) != len(parties):
        return None
    if Party.ALLEN in parties and len(parties) > 1:
        return None  # counts of nobody's party beside a party's: whose are they?
    return tuple(parsed)


def _pairs(words: list[str]) -> dict[str, int] | None:
    if not words or len(words) % 2:
        return None
    numbers: dict[str, int] = {}
    for word, number in zip(words[::2], words[1::2], strict=True):
        vote = _VOTE_WORDS.get(word)
        if vote is None or vote in numbers or not re.fullmatch(r"[0-9]{1,6}", number):
            return None
        if int(number) > MAX_VOTES:
            return None
        numbers[vote] = int(number)
    return numbers
