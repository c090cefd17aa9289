"""Who may see what of a series' meetings, items and afspraken, on which surface: ONE rule.

Pure. RULES.md: "The kerngroep is private: nothing of it reaches a public
channel", a wijkalliantie's "agenda titles are public once the concept agenda
is out; its stukken never are", a bewonersbijeenkomst is announced at T-28d.
Every place that shows something to people asks :func:`may_show`, so there is
exactly one answer to "may this be shown here?":

- chat (:mod:`daemon.chat.commands`): ``!agenda`` (bare, by series, id or
  date, and each item title in it), ``!deadlines``, ``!afspraken`` and the
  ``!help`` examples;
- publication (:mod:`daemon.publish.scheduled`): which audiences (announce
  rooms, residents' mail, the public calendar) hear of a series' meetings;
- the public calendar feed and page (:mod:`daemon.publish.public_view`): which
  meetings, and which agenda items in them.

The question has up to five parts: the series (:class:`SeriesVisibility`, from
``[series.X] public`` and ``public_agenda``), the surface, who asked, which
:class:`Part` of it (the dates, the agenda titles, the stukken, who submitted,
an address) and, where known, the meeting's and the item's state
(:class:`MeetingState`, :class:`ItemState`). The answer:

- the core room sees everything (its members are the core group);
- elsewhere nothing of a series that is not ``public``, and nothing of a meeting
  before its series' publication moment (the announcement, e.g. T-28d; a series
  without one is public from the moment it is in the plan);
- the dates of a published meeting of a public series are public;
- its agenda titles only where the series has ``public_agenda``, once the
  agenda is out (the concept agenda, else the announcement), and never a
  confidential item (``!vertrouwelijk``) or one awaiting acceptance;
- who submitted an item only when that is a partner (by its configured name);
- never the stukken (documents) and never an e-mail address.

A series the caller does not know, and an afspraak of no meeting (the core
group's own), count as private: unknown means no.

The asker is an input, but no surface widens by it: a room's answer is read by
everyone in the room, so a core-group member asking in the announcement room
sees what that room may see. It is there so that a later surface answered to
one person only can decide here, not in a second rule.

Callers that only ask about a meeting's dates keep the three-argument call.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from daemon.model import Item, ItemStatus, Meeting, Series, SeriesRules
from daemon.rules.moments import apply_offset, utc


class Surface(enum.Enum):
    """Where something is shown, and so who can read it."""

    CORE_ROOM = "core_room"  # the core group's room: its members are the core group
    ANNOUNCE_ROOM = "announce_room"  # a public announcement room
    OTHER_CHAT = "other_chat"  # any other room, or a direct chat
    PUBLIC_CALENDAR = "public_calendar"  # the CalDAV calendar residents subscribe to
    PUBLIC_FEED = "public_feed"  # the public calendar feed (iCal over HTTP)
    PUBLIC_PAGE = "public_page"  # the public web page
    RESIDENTS_MAIL = "residents_mail"  # mail to the residents' address


class Asker(enum.Enum):
    """Who asked, where someone asked (a chat command); broadcasts have no asker."""

    CORE_MEMBER = "core_member"
    OTHER = "other"  # anyone not known to be in the core group


class Part(enum.Enum):
    """Which part of a series' things is shown."""

    DATES = "dates"  # a meeting's date, time, place, cancellation, move
    AGENDA = "agenda"  # the titles (and decisions) of the items on its agenda
    STUKKEN = "stukken"  # the documents: never public (RULES.md)
    SUBMITTER = "submitter"  # who submitted an item: public only for a partner, by its name
    ADDRESS = "address"  # an e-mail address (a sender's, a partner's): never public


@dataclass(frozen=True, slots=True)
class SeriesVisibility:
    """What the configuration says about showing one series: ``[series.X] public`` (its
    dates) and ``public_agenda`` (its agenda titles; never without public dates)."""

    public: bool
    public_agenda: bool = False

    @classmethod
    def of(cls, series: Series) -> SeriesVisibility:
        return cls(public=series.public, public_agenda=series.public and series.public_agenda)


# Unknown series, and afspraken tied to no meeting (the core group's own).
PRIVATE = SeriesVisibility(public=False)


@dataclass(frozen=True, slots=True)
class MeetingState:
    """What of one meeting is out by time (:func:`meeting_state`); unknown: both out."""

    published: bool = True  # its series' publication moment has passed
    agenda_out: bool = True  # its agenda has gone out (concept agenda, else announcement)


@dataclass(frozen=True, slots=True)
class ItemState:
    """What about one item decides whether it is shown outside the core room."""

    confidential: bool = False  # kept off every public surface (``!vertrouwelijk``)
    awaiting_acceptance: bool = False  # from an unknown sender, not vetted yet
    closed: bool = False  # withdrawn or rejected: on no agenda
    from_partner: bool = False  # submitted by a configured partner

    @classmethod
    def of(cls, item: Item, *, from_partner: bool = False) -> ItemState:
        return cls(
            confidential=item.confidential,
            awaiting_acceptance=item.status is ItemStatus.AWAITING_ACCEPTANCE,
            closed=item.status in (ItemStatus.WITHDRAWN, ItemStatus.REJECTED),
            from_partner=from_partner,
        )

    @property
    def public(self) -> bool:
        return not (self.confidential or self.awaiting_acceptance or self.closed)


def may_show(
    series: SeriesVisibility,
    surface: Surface,
    asker: Asker | None = None,
    part: Part = Part.DATES,
    *,
    meeting: MeetingState | None = None,
    item: ItemState | None = None,
) -> bool:
    """Whether ``part`` of ``series``' things may be shown on ``surface``.

    ``meeting`` and ``item`` narrow the question to one meeting and one of its
    items where the caller knows them; left out, the answer is the series' own.
    ``asker`` is who asked there, if anyone; it widens no surface (see the
    module's docstring).
    """
    if surface is Surface.CORE_ROOM:
        return True
    if not series.public or (meeting is not None and not meeting.published):
        return False
    match part:
        case Part.DATES:
            return True
        case Part.AGENDA:
            return _agenda_public(series, meeting, item)
        case Part.SUBMITTER:
            # A partner's configured name, with its item; a resident's name never.
            return item is not None and item.from_partner and _agenda_public(series, meeting, item)
        case Part.STUKKEN | Part.ADDRESS:
            return False


def _agenda_public(
    series: SeriesVisibility, meeting: MeetingState | None, item: ItemState | None
) -> bool:
    if not series.public_agenda or (meeting is not None and not meeting.agenda_out):
        return False
    return item is None or item.public


def publication_moment(meeting: Meeting, rules: SeriesRules, tz: ZoneInfo) -> datetime | None:
    """When ``meeting`` becomes public: its series' announcement (bewonersbijeenkomst
    T-28d); ``None`` for a series without one, whose dates are public from the moment
    they are in the plan (RULES.md, the wijkalliantie)."""
    if rules.announce is None:
        return None
    return apply_offset(meeting.start, rules.announce, tz)


def agenda_moment(meeting: Meeting, rules: SeriesRules, tz: ZoneInfo) -> datetime | None:
    """When ``meeting``'s agenda titles go out: the concept agenda (wijkalliantie
    T-21d), else with the announcement; ``None``: with the dates."""
    if rules.concept_agenda is not None:
        return apply_offset(meeting.start, rules.concept_agenda, tz)
    return publication_moment(meeting, rules, tz)


def meeting_state(
    meeting: Meeting, rules: SeriesRules, tz: ZoneInfo, now: datetime
) -> MeetingState:
    """What of ``meeting`` is out at ``now``: a moment is reached at its instant."""
    published = publication_moment(meeting, rules, tz)
    agenda = agenda_moment(meeting, rules, tz)
    is_published = published is None or utc(now) >= utc(published)
    return MeetingState(
        published=is_published,
        agenda_out=is_published and (agenda is None or utc(now) >= utc(agenda)),
    )
