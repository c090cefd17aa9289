"""iCalendar text of a ``CalendarWrite``: its VEVENT and the zone's VTIMEZONE (pure, no I/O).

Shared by the CalDAV channel (``connectors.calendar.ical``: one event per
object) and the HTTP feed (``connectors.http.ics``: every published event in
one calendar), so an event reads the same and has the same UID, SEQUENCE and
STATUS on both. Kept outside ``connectors.calendar`` so the feed does not load
caldav (and lxml) to build a VEVENT.

Times are written as local wall-clock times with ``TZID`` of the deployment's
zone, so a calendar shows 19:30 for a meeting at 19:30 on both sides of a DST
change. Everything in the text comes from the effect (``DTSTAMP`` is when the
effect was written, not now), so writing the same effect twice gives the same
bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Event, Timezone, vDDDLists
from icalendar.enums import STATUS

from daemon.ports.outbox import CalendarWrite

PRODID = "-//Wijkbode//Wijkbode//NL"
# A cancelled event keeps its place in the calendar; many subscribed calendars
# ignore STATUS, so the title says it as well (Dutch first).
CANCELLED_PREFIX = "Afgelast / Cancelled: "
# One fixed span for every VTIMEZONE: a server merging events into one feed
# keeps a single VTIMEZONE per TZID, so all events must carry the same one.
TIMEZONE_FIRST_DATE = date(2000, 1, 1)
TIMEZONE_LAST_DATE = date(2100, 1, 1)
# RFC 5545 TEXT allows no control character but HTAB; icalendar escapes line breaks
# (as \n) but passes the others, which strict parsers then refuse for the whole feed.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def ical_text(text: str) -> str:
    """``text`` as an iCalendar TEXT value may hold it: line breaks as LF, no other control."""
    return _CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


@dataclass(frozen=True, slots=True)
class EventFacts:
    """What a subscriber sees of an event; equal facts mean nothing needs writing."""

    summary: str
    start: datetime
    end: datetime
    location: str
    description: str
    status: str

    @classmethod
    def of_write(cls, write: CalendarWrite, tz: ZoneInfo) -> EventFacts:
        """The facts ``write`` puts on the calendar, times in ``tz``."""
        cancelled = write.action == "cancel"
        return cls(
            summary=ical_text(f"{CANCELLED_PREFIX}{write.summary}" if cancelled else write.summary),
            start=local_time(write.start, tz),
            end=local_time(write.end, tz),
            location=ical_text(write.location),
            description=ical_text(write.description),
            status=STATUS.CANCELLED if cancelled else STATUS.CONFIRMED,
        )

    @classmethod
    def of_event(cls, event: Event) -> EventFacts | None:
        """The facts of a VEVENT read back from a server; ``None`` without usable times."""
        start, end = event.get("DTSTART"), event.get("DTEND")
        if start is None or end is None:
            return None
        return cls(
            summary=str(event.get("SUMMARY", "")),
            start=start.dt,
            end=end.dt,
            location=str(event.get("LOCATION", "")),
            description=str(event.get("DESCRIPTION", "")),
            status=str(event.get("STATUS", "")).upper(),
        )


def local_time(moment: datetime, tz: ZoneInfo) -> datetime:
    """``moment`` as wall-clock time in ``tz``, whole seconds; a naive time is refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"calendar time without a time zone: {moment.isoformat()}")
    return moment.astimezone(tz).replace(microsecond=0)


def utc_stamp(moment: datetime) -> datetime:
    """``moment`` in UTC, whole seconds, for DTSTAMP."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"DTSTAMP without a time zone: {moment.isoformat()}")
    return moment.astimezone(UTC).replace(microsecond=0)


@lru_cache(maxsize=8)
def vtimezone(tz: ZoneInfo) -> Timezone:
    """The VTIMEZONE of ``tz`` over the fixed span (computed once per zone).

    icalendar lists an observance's onsets in one comma-separated RDATE;
    Radicale (vobject) keeps only the first value of such a list, which
    would leave later years without DST. One RDATE per onset survives.
    """
    timezone = Timezone.from_tzinfo(
        tz, tzid=tz.key, first_date=TIMEZONE_FIRST_DATE, last_date=TIMEZONE_LAST_DATE
    )
    for observance in timezone.subcomponents:
        for onset in _onsets(observance.pop("RDATE", [])):
            observance.add("RDATE", onset)
    return timezone


def _onsets(rdate: vDDDLists | list[vDDDLists]) -> list[date]:
    """The dates of an RDATE property that icalendar gave as one list or several."""
    lists = rdate if isinstance(rdate, list) else [rdate]
    found = [value.dt for values in lists for value in values.dts]
    return [onset for onset in found if isinstance(onset, date)]


def build_event(write: CalendarWrite, *, tz: ZoneInfo, stamp: datetime, sequence: int) -> Event:
    """The VEVENT of ``write``: local times in ``tz``, ``DTSTAMP`` = ``stamp``."""
    facts = EventFacts.of_write(write, tz)
    if facts.end <= facts.start:
        raise ValueError(f"event {write.uid} ends before it starts")
    return Event.new(
        uid=write.uid,
        stamp=utc_stamp(stamp),
        start=facts.start,
        end=facts.end,
        summary=facts.summary,
        location=facts.location or None,
        description=facts.description or None,
        sequence=sequence,
        status=STATUS(facts.status),
    )
