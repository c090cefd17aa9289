"""RULES.md "Decisions (besluiten) and date polls" as pure functions.

- :func:`outcome`: consensus (at least one voor, no tegen), else the 50% + 1
  rule on the weighted votes cast (voor + tegen; abstentions don't count); a
  tie is *staking van stemmen* and not adopted. Nobody voting voor or tegen is
  a tie too (0 against 0): nothing is adopted without a vote for it.
- :func:`may_decide`: only an item that is besluitrijp may be decided; one kept
  "ter bespreking, geen besluit" or late gets the reason.
- :func:`advice_due`: a non-binding advice is answered within 28 days and
  before the next meeting of the series.
- :func:`poll_votes` and :func:`date_poll_winner`: a poll's votes, the latest
  per member before its end, only members when it started counting.

No I/O here; the store keeps what these functions decide.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from daemon.model import Item, ItemStatus, Meeting

__all__ = [
    "ADVICE_DAYS",
    "DATE_POLL_HOURS",
    "Counts",
    "Outcome",
    "Party",
    "PollResponse",
    "PollVotes",
    "Readiness",
    "Tally",
    "Vote",
    "advice_due",
    "date_poll_winner",
    "may_decide",
    "outcome",
    "poll_votes",
    "tally",
]

ADVICE_DAYS = 28  # RULES.md: a motivated answer within 28 days (and before the next meeting)
DATE_POLL_HOURS = 72  # RULES.md: a date poll closes after 72 hours by default
DECISION_POLL_HOURS = 72  # a decision poll without "sluit <wanneer>" too


class Vote(enum.StrEnum):
    VOOR = "voor"
    TEGEN = "tegen"
    ONTHOUDING = "onthouding"


class Party(enum.StrEnum):
    """Who a voter votes for: residents (core group, residents at the table) or partners.

    ``ALLEN``: counts entered without a party (``!uitslag WB-n voor 5 tegen 2``); they
    weigh 1, since nobody said whose they are."""

    BEWONERS = "bewoners"
    PARTNERS = "partners"
    ALLEN = "allen"


class Outcome(enum.StrEnum):
    """The result and, by it, the rule that decided it."""

    CONSENSUS = "consensus"  # adopted by consensus
    ADOPTED = "adopted"  # adopted by 50% + 1
    REJECTED = "rejected"  # rejected by 50% + 1
    TIE = "staking"  # staking van stemmen: not adopted

    @property
    def adopted(self) -> bool:
        return self in (Outcome.CONSENSUS, Outcome.ADOPTED)

    @property
    def rule(self) -> str:
        """The rule that decided: consensus, 50%+1, or staking van stemmen."""
        if self is Outcome.CONSENSUS:
            return "consensus"
        if self is Outcome.TIE:
            return "staking van stemmen"
        return "50%+1"


@dataclass(frozen=True, slots=True)
class Counts:
    """Votes of one party: how many voor, tegen and onthouding."""

    voor: int = 0
    tegen: int = 0
    onthouding: int = 0

    def __post_init__(self) -> None:
        if min(self.voor, self.tegen, self.onthouding) < 0:
            raise ValueError("een aantal stemmen is negatief (a vote count is negative)")

    @property
    def total(self) -> int:
        return self.voor + self.tegen + self.onthouding

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.voor + other.voor, self.tegen + other.tegen, self.onthouding + other.onthouding
        )

    @classmethod
    def of(cls, votes: Iterable[Vote]) -> Counts:
        listed = list(votes)
        return cls(listed.count(Vote.VOOR), listed.count(Vote.TEGEN), listed.count(Vote.ONTHOUDING))


@dataclass(frozen=True, slots=True)
class Tally:
    """Counts per party, the weights used, and what they decided."""

    counts: Mapping[Party, Counts]
    weights: Mapping[Party, int]
    outcome: Outcome
    weighted_voor: int
    weighted_tegen: int


def outcome(counts: Mapping[Party, Counts], weights: Mapping[Party, int]) -> Outcome:
    """What the votes decide (see the module docstring). A party without a weight weighs 1."""
    return tally(counts, weights).outcome


def tally(counts: Mapping[Party, Counts], weights: Mapping[Party, int]) -> Tally:
    """The outcome with the weighted sums it came from."""
    for party, weight in weights.items():
        if weight < 1:
            raise ValueError(f"gewicht van {party} is kleiner dan 1 (weight of {party} below 1)")
    total = sum(counts.values(), Counts())
    voor = sum(c.voor * weights.get(p, 1) for p, c in counts.items())
    tegen = sum(c.tegen * weights.get(p, 1) for p, c in counts.items())
    if total.voor > 0 and total.tegen == 0:
        result = Outcome.CONSENSUS
    elif voor == tegen:
        result = Outcome.TIE
    elif 2 * voor > voor + tegen:
        result = Outcome.ADOPTED
    else:
        result = Outcome.REJECTED
    used = {party: weights.get(party, 1) for party in counts}
    return Tally(dict(counts), used, result, voor, tegen)


# --- may the item be decided --------------------------------------------------------


class Readiness(enum.Enum):
    READY = "ready"
    FOR_DISCUSSION = "for_discussion"  # "ter bespreking, geen besluit"
    NOT_READY = "not_ready"  # not besluitrijp: late for the two-week rule
    NOT_ON_AGENDA = "not_on_agenda"  # withdrawn, rejected, unplanned, awaiting acceptance


def may_decide(item: Item) -> Readiness:
    """Whether a decision may be taken on ``item`` now, and if not, why."""
    if item.status is ItemStatus.TER_BESPREKING:
        return Readiness.FOR_DISCUSSION
    if item.meeting is None or item.status is not ItemStatus.FILED:
        return Readiness.NOT_ON_AGENDA
    if not item.decision_ready or item.late:
        return Readiness.NOT_READY
    return Readiness.READY


# --- when a non-binding advice's answer is due ----------------------------------------


def advice_due(
    decided_on: date,
    next_meetings: Sequence[Meeting],
    tz: ZoneInfo,
    days: int = ADVICE_DAYS,
) -> date:
    """``days`` after ``decided_on``, or the day before the series' next meeting if sooner.

    ``next_meetings``: the series' meetings; cancelled ones and those on or before
    ``decided_on`` do not count. The answer is due before the next meeting, so the
    day before it; never before ``decided_on`` itself.
    """
    due = decided_on + timedelta(days=days)
    coming = sorted(
        m.start.astimezone(tz).date()
        for m in next_meetings
        if not m.cancelled and m.start.astimezone(tz).date() > decided_on
    )
    if coming:
        due = min(due, max(decided_on, coming[0] - timedelta(days=1)))
    return due


# --- polls ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PollResponse:
    """One response event: who, when (server time), which answer, in arrival order."""

    sender: str
    at: datetime
    answer: str
    order: int = 0  # arrival order, for two responses with the same timestamp


@dataclass(frozen=True, slots=True)
class PollVotes:
    """The counted vote per member, and who answered without being counted."""

    votes: Mapping[str, str]
    not_counted: frozenset[str] = field(default_factory=frozenset)


def poll_votes(
    responses: Iterable[PollResponse],
    members: Iterable[str],
    closes_at: datetime,
    answers: Iterable[str],
) -> PollVotes:
    """The latest response before (or at) the end per member of the room when the poll
    started. A latest response that names no option (MSC3381: "spoiled", e.g. a vote
    taken back) leaves that member without a vote. Others who answered are
    ``not_counted``."""
    eligible = frozenset(members)
    known = frozenset(answers)
    latest: dict[str, PollResponse] = {}
    outsiders: set[str] = set()
    for response in responses:
        if response.at > closes_at:
            continue
        if response.sender not in eligible:
            outsiders.add(response.sender)
            continue
        before = latest.get(response.sender)
        if before is None or (response.at, response.order) >= (before.at, before.order):
            latest[response.sender] = response
    votes = {s: r.answer for s, r in latest.items() if r.answer in known}
    return PollVotes(votes, frozenset(outsiders))


def date_poll_winner(votes: Mapping[str, str]) -> str | None:
    """The option with more than half of the votes cast, or ``None`` (no majority)."""
    cast = len(votes)
    for option in set(votes.values()):
        if 2 * sum(1 for v in votes.values() if v == option) > cast:
            return option
    return None
