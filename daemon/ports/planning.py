"""The planning calendar we read: the core group's own shared calendar (Nextcloud or similar).

``connectors/calendar/planning.py`` implements ``PlanningCalendar`` on caldav.
Each read asks only for what changed since the state the caller kept: an RFC
6578 sync token when the server has one, else the collection's ctag and the
ETag of every event (so an unchanged calendar costs one small request, and a
changed one only the events whose ETag changed). Never a full download each
time.

The caller stores the returned ``SyncState`` in the same transaction as what
it made of the events, so a crash or an unreachable server between reading
and committing reads the same changes again: nothing lost, nothing twice.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from daemon.model import Meeting, MeetingId, SeriesId

__all__ = [
    "CalendarDelta",
    "PlanOverride",
    "PlanSource",
    "PlanState",
    "PlannedEvent",
    "PlanningCalendar",
    "SyncState",
]


@dataclass(frozen=True, slots=True)
class PlannedEvent:
    """One VEVENT of the planning calendar, as the server holds it under ``href``.

    ``start`` and ``end`` are aware; ``None`` for an all-day or unreadable
    event (it names no meeting time). ``recurring``: the event repeats
    (RRULE); Wijkbode plans single meetings from the calendar, the yearly
    plan's rules stay in the configuration.
    """

    href: str
    etag: str
    uid: str
    summary: str
    categories: tuple[str, ...]
    start: datetime | None
    end: datetime | None
    location: str
    cancelled: bool  # STATUS:CANCELLED
    recurring: bool = False


@dataclass(frozen=True, slots=True)
class SyncState:
    """What the last read left: its sync token, the ctag, and the ETag of each event by href."""

    token: str | None = None
    ctag: str | None = None
    etags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CalendarDelta:
    """What changed since a ``SyncState``.

    ``changed``: events new or changed (their whole content); ``removed``: the
    hrefs of events gone. ``state``: what to keep for the next read.
    ``full``: the server could not say what changed (no or an expired sync
    token, first read): ``changed`` is then every event, and every href known
    before and absent from it is in ``removed``.
    """

    changed: tuple[PlannedEvent, ...]
    removed: tuple[str, ...]
    state: SyncState
    full: bool = False

    @property
    def empty(self) -> bool:
        return not (self.changed or self.removed)


class PlanningCalendar(Protocol):
    """The ``[caldav] planning_calendar``, read-only.

    ``changes`` raises ``TransientError`` (server down, timeout, 5xx) or
    ``PermanentError`` (login refused, no such calendar); the caller keeps its
    state and tries again at the next interval.
    """

    @property
    def name(self) -> str:
        """The calendar's display name, for logs."""
        ...

    async def changes(self, since: SyncState) -> CalendarDelta:
        """What changed since ``since`` (an empty ``SyncState``: read everything)."""
        ...

    async def close(self) -> None:
        """Close the connection (at shutdown)."""
        ...


# --- what a planning source says about a meeting (kept in the store) -------------


class PlanSource(enum.StrEnum):
    """Where a meeting's current date comes from."""

    CONFIG = "config"
    CALENDAR = "calendar"
    POLL = "poll"  # a date poll (not yet)


@dataclass(frozen=True, slots=True)
class PlanState:
    """What a side says about a meeting: when it starts, and whether it is off."""

    start: datetime  # aware
    cancelled: bool

    def same(self, other: PlanState | None) -> bool:
        return (
            other is not None
            and self.cancelled == other.cancelled
            and self.start.astimezone(UTC) == other.start.astimezone(UTC)
        )

    @classmethod
    def of(cls, meeting: Meeting) -> PlanState:
        return cls(meeting.start, meeting.cancelled)


@dataclass(frozen=True, slots=True)
class PlanOverride:
    """What a source other than the configuration says about one meeting.

    ``base`` is the last state the configuration and this source agreed on;
    ``None`` when they never did. ``location`` empty: the meeting's own.
    """

    meeting: MeetingId
    series: SeriesId
    source: PlanSource
    external_id: str  # the calendar event's UID
    start: datetime
    end: datetime
    location: str
    cancelled: bool
    base: PlanState | None = None

    @property
    def state(self) -> PlanState:
        return PlanState(self.start, self.cancelled)
