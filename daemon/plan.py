"""A series' yearly plan (jaarplanning) and its expansion into meetings.

The plan is explicit dates and/or an RFC 5545 RRULE, with exceptions: dates
dropped from the plan (never planned), cancelled meetings (planned, then
called off: they stay visible and are announced as cancelled) and moved
meetings (they keep the id of the date the plan first gave them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class MovedMeeting:
    planned_on: date  # the date the plan gave it; its id keeps this date
    start: datetime  # the new start, timezone-aware
    location: str | None = None


@dataclass(frozen=True, slots=True)
class PlanSpec:
    """What the configuration says about one series' meetings."""

    first_start: datetime | None  # DTSTART for ``rrule``, timezone-aware local time
    rrule: str | None  # an RRULE value such as "FREQ=MONTHLY;BYDAY=2TU;UNTIL=20271231"
    dates: tuple[datetime, ...]  # explicit meeting starts, timezone-aware
    exdates: tuple[date, ...]  # taken out of the plan: no meeting at all
    cancelled: tuple[date, ...]  # planned, then cancelled
    moved: tuple[MovedMeeting, ...]
