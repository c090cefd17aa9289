"""What a public surface shows of a meeting: the data the HTTP connector renders.

Composed by :mod:`daemon.publish.public_view` (which also exports these names),
rendered by ``connectors/http`` (the feed) and the page; a connector may not
import the publication layer, so the shapes live here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime

from daemon.model import Kind, MeetingId, SeriesId

# The name of the one public feed: the outbox destination of channel 'feed'.
FEED_NAME = "agenda"


@dataclass(frozen=True, slots=True)
class PublicItem:
    number: str  # "WB-12"
    kind: Kind
    title: str  # safe for display (made safe with daemon.safe_text)


@dataclass(frozen=True, slots=True)
class PublicDecision:
    """A decision on a public agenda item: the counts, the weights and the rule (issue 12)."""

    number: str  # "WB-12"
    title: str  # safe for display
    outcome: str  # daemon.rules.decisions.Outcome's value
    counts: tuple[tuple[str, int, int, int], ...]  # (party, voor, tegen, onthouding)
    weights: tuple[tuple[str, int], ...]  # (party, weight)
    advice_partner: str | None = None  # a non-binding advice: the partner (safe)
    advice_due: date | None = None
    motivation: str | None = None  # the partner's answer (safe), once it came


@dataclass(frozen=True, slots=True)
class PublicMeeting:
    id: MeetingId  # also the iCalendar UID base, as the CalDAV events use
    series: SeriesId
    series_title: str
    title: str
    start: datetime  # aware
    end: datetime
    location: str
    cancelled: bool
    moved_from: datetime | None  # when it was moved and the move was published
    sequence: int  # raised on every published change (as the CalDAV event's)
    agenda: tuple[PublicItem, ...] | None  # None: this series' agenda is not public
    stukken_at: datetime | None  # when the stukken package goes out
    deadlines: tuple[tuple[Kind, datetime], ...]  # submission deadlines still ahead
    submission_address: str | None  # where to send (the [mail] address)
    # For the calendar feed: the event as published (same UID and text as the CalDAV one).
    uid: str = ""
    description: str = ""
    changed_at: datetime | None = None  # when this version was published (DTSTAMP)
    decisions: tuple[PublicDecision, ...] = ()  # on the public agenda's items only


# The public meetings as of now (``public_view`` bound to the store, config and clock).
PublicSource = Callable[[], Awaitable[list[PublicMeeting]]]
