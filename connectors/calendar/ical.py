"""A ``CalendarWrite`` as iCalendar text: one VEVENT with its VTIMEZONE (pure, no I/O).

Times are written as local wall-clock times with ``TZID`` of the deployment's
zone, so a calendar shows 19:30 for a meeting at 19:30 on both sides of a DST
change. Everything in the text comes from the effect (``DTSTAMP`` is when the
effect was written, not now), so writing the same effect twice gives the same
bytes. ``sequence_to_write`` decides, from what the server holds, whether a
write is needed and with which ``SEQUENCE``; ``object_name`` is the resource
name an event is kept under, made from its UID.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from icalendar import Calendar

from connectors.ics import (
    CANCELLED_PREFIX,
    PRODID,
    TIMEZONE_FIRST_DATE,
    TIMEZONE_LAST_DATE,
    EventFacts,
    build_event,
    local_time,
    utc_stamp,
    vtimezone,
)
from daemon.ports.outbox import CalendarWrite

# The pure event building moved to connectors.ics (the HTTP feed uses it too); its
# names stay importable from here.
__all__ = [
    "CANCELLED_PREFIX",
    "PRODID",
    "TIMEZONE_FIRST_DATE",
    "TIMEZONE_LAST_DATE",
    "EventFacts",
    "StoredEvent",
    "build_calendar",
    "build_event",
    "event_ics",
    "local_time",
    "object_name",
    "sequence_to_write",
    "stored_event",
    "utc_stamp",
    "vtimezone",
]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """The event with our UID as the server holds it."""

    facts: EventFacts | None  # None: unreadable times, so any write changes it
    sequence: int


def build_calendar(
    write: CalendarWrite, *, tz: ZoneInfo, stamp: datetime, sequence: int
) -> Calendar:
    """A VCALENDAR holding the VTIMEZONE of ``tz`` and the VEVENT of ``write``."""
    calendar = Calendar()  # not Calendar.new(): that adds a random UID, and a resend must match
    calendar.prodid = PRODID
    calendar.version = "2.0"
    calendar.add_component(vtimezone(tz))
    calendar.add_component(build_event(write, tz=tz, stamp=stamp, sequence=sequence))
    return calendar


def event_ics(write: CalendarWrite, *, tz: ZoneInfo, stamp: datetime, sequence: int) -> bytes:
    """``build_calendar`` as iCalendar bytes (CRLF lines, folded at 75 octets)."""
    ics: bytes = build_calendar(write, tz=tz, stamp=stamp, sequence=sequence).to_ical()
    return ics


def stored_event(ics: str | bytes, uid: str) -> StoredEvent | None:
    """The VEVENT with ``uid`` in a server's iCalendar text; ``None`` when it has none.

    An object with overrides holds several VEVENTs of one UID; the master (no
    RECURRENCE-ID) decides, and the highest SEQUENCE counts.
    """
    events = [e for e in Calendar.from_ical(ics).events if str(e.get("UID", "")) == uid]
    if not events:
        return None
    master = next((e for e in events if "RECURRENCE-ID" not in e), events[0])
    return StoredEvent(EventFacts.of_event(master), max(e.sequence for e in events))


def sequence_to_write(write: CalendarWrite, tz: ZoneInfo, stored: StoredEvent | None) -> int | None:
    """The SEQUENCE for writing ``write``, or ``None`` when the server already shows it.

    A new event gets the payload's sequence. A change gets at least one more
    than the server's, so subscribers take it as newer (RFC 5545 3.8.7.4); a
    repeat of what is there (a resend after a crash) writes nothing.
    """
    if stored is None:
        return write.sequence
    if stored.facts == EventFacts.of_write(write, tz):
        return None
    return max(write.sequence, stored.sequence + 1)


def object_name(uid: str) -> str:
    """The resource name (last path segment) of the event with ``uid``: ``<uid, %-encoded>.ics``.

    Every character but letters, digits and ``_.-~`` is %-encoded, so the name
    is one path segment whatever the UID holds, and two UIDs never share one.
    ``%`` and ``/`` are encoded twice (``/`` as ``%252F``): servers decode
    ``%2F`` back into a path separator. For a UID without ``%`` this is the
    name caldav minted for the events written before (``@`` as ``%40``), so
    those are found under it; Wijkbode's UIDs (``<meeting id>@<domain>``)
    hold no ``%``.
    """
    return quote(uid.replace("%", "%25").replace("/", "%2F"), safe="") + ".ics"
