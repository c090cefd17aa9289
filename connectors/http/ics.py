"""The public calendar feed as iCalendar bytes: every published event in one VCALENDAR. Pure.

Each VEVENT is built by :func:`connectors.ics.build_event`, exactly as the
CalDAV channel builds it: the same UID (``<meeting id>@<mail domain>``), the
same SUMMARY (``Afgelast / Cancelled: `` before a cancelled one), ``SEQUENCE``
as published and ``STATUS:CANCELLED`` kept, so a subscribed calendar updates
an entry instead of adding a second one. ``DTSTAMP`` is when that version was
published, so the bytes change only when what is published changes.

The calendar carries RFC 7986 ``NAME``, ``REFRESH-INTERVAL`` (and the older
``X-WR-CALNAME`` and ``X-PUBLISHED-TTL`` that Outlook and Google read), the
``VTIMEZONE`` of the deployment's zone and, with ``[http] public_url``, the
page as ``URL`` and the feed itself as ``SOURCE``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, vDuration, vText, vUri

from connectors.ics import PRODID, build_event, ical_text, vtimezone
from daemon.ports.outbox import CalendarWrite
from daemon.ports.public import PublicMeeting

# How often a subscribed calendar should look again (RFC 7986 REFRESH-INTERVAL).
REFRESH = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """What the VCALENDAR says about itself."""

    name: str  # NAME and X-WR-CALNAME
    tz: ZoneInfo
    page_url: str | None = None  # URL: the public page
    feed_url: str | None = None  # SOURCE: where this feed is fetched


def feed_ics(meetings: Sequence[PublicMeeting], info: FeedInfo) -> bytes:
    """The VCALENDAR of ``meetings`` (CRLF lines, folded at 75 octets)."""
    calendar = Calendar()  # not Calendar.new(): a random UID would change the bytes per render
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", "PUBLISH")
    name = ical_text(info.name)
    calendar.add("NAME", vText(name))
    calendar.add("X-WR-CALNAME", vText(name))
    calendar.add("X-WR-TIMEZONE", info.tz.key)
    calendar.add("REFRESH-INTERVAL", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
    calendar.add("X-PUBLISHED-TTL", vDuration(REFRESH))
    if info.page_url:
        calendar.add("URL", vUri(info.page_url), parameters={"VALUE": "URI"})
    if info.feed_url:
        calendar.add("SOURCE", vUri(info.feed_url), parameters={"VALUE": "URI"})
    calendar.add_component(vtimezone(info.tz))
    for meeting in meetings:
        if meeting.changed_at is None or not meeting.uid:
            continue  # not from the feed's publications (nothing to say the UID)
        write = CalendarWrite(
            uid=meeting.uid,
            action="cancel" if meeting.cancelled else "upsert",
            summary=meeting.title,
            start=meeting.start,
            end=meeting.end,
            location=meeting.location,
            description=meeting.description,
            sequence=meeting.sequence,
        )
        calendar.add_component(
            build_event(write, tz=info.tz, stamp=meeting.changed_at, sequence=meeting.sequence)
        )
    ics: bytes = calendar.to_ical()
    return ics
