"""Who may see a series' meetings, items and afspraken, on which surface: ONE rule. Pure.

RULES.md: "The kerngroep is private: nothing of it reaches a public channel."
Every place that shows a series' things to people asks :func:`may_show`, so
there is exactly one answer to "may this be shown here?":

- chat (:mod:`daemon.chat.commands`): ``!agenda`` (bare, by series, id or
  date), ``!deadlines``, ``!afspraken`` and the ``!help`` examples;
- publication (:mod:`daemon.publish.scheduled`): which audiences (announce
  rooms, residents' mail, the public calendar) hear of a series' meetings;
- later surfaces (the public calendar feed, the public page, mail to
  residents) are already named in :class:`Surface`: they call the same rule.

The rule today: the core room sees everything (its members are the core
group); every other surface sees only a public series. A series the caller
does not know, and an afspraak of no meeting (the core group's own), count
as private: unknown means no.

The asker is an input, but no surface widens by it today: a room's answer is
read by everyone in the room, so a core-group member asking in the announcement
room sees what that room may see. It is there so that a later surface answered
to one person only can decide here, not in a second rule.

How it grows (the residents issue) without a second rule: :class:`SeriesVisibility`
gains ``public_agenda`` (agenda titles public once the concept agenda is out,
RULES.md for the wijkalliantie) and :func:`may_show` gains the part shown
(dates, agenda titles, stukken) and an item's ``confidential`` flag; callers
that only ask about a meeting's dates keep their call unchanged.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from daemon.model import Series


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


@dataclass(frozen=True, slots=True)
class SeriesVisibility:
    """What the configuration says about showing one series (``[series.X] public``)."""

    public: bool

    @classmethod
    def of(cls, series: Series) -> SeriesVisibility:
        return cls(public=series.public)


# Unknown series, and afspraken tied to no meeting (the core group's own).
PRIVATE = SeriesVisibility(public=False)


def may_show(series: SeriesVisibility, surface: Surface, asker: Asker | None = None) -> bool:
    """Whether ``series``' meetings, items and afspraken may be shown on ``surface``.

    ``asker`` is who asked there, if anyone; it does not widen any surface yet
    (see the module's docstring).
    """
    if surface is Surface.CORE_ROOM:
        return True
    return series.public
