"""The planning calendar, read only what changed: RFC 6578 sync-collection, else ctag and ETags.

A read asks the server what changed since the kept ``SyncState``:

1. ``REPORT sync-collection`` with the kept sync token (RFC 6578): the hrefs
   changed (with their ETag) and removed since. An empty token, or one the
   server no longer knows (``valid-sync-token`` refused), lists every member
   with its ETag: a full read, still without bodies.
2. A server without sync-collection: ``PROPFIND`` of the calendar's ctag
   (``CS:getctag``); the same ctag means nothing changed (one small request).
   Else a ``PROPFIND Depth: 1`` of every member's ETag.

Either way only the members whose ETag differs from the kept one are fetched,
in one ``calendar-multiget``; never the whole calendar each time.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from urllib.parse import unquote, urlsplit
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from caldav.aio import AsyncDAVClient, DAVResponse
from caldav.lib import error as dav_error
from icalendar import Calendar, Event

from connectors.calendar.connection import DEFAULT_TIMEOUT_SECONDS, CaldavConnection
from connectors.calendar.errors import translated
from daemon.config.schema import CaldavConfig
from daemon.errors import ChannelError, PermanentError
from daemon.ports.planning import CalendarDelta, PlannedEvent, SyncState

log = logging.getLogger("wijkbode.caldav.planning")

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
CALSERVER = "http://calendarserver.org/ns/"
# Wijkbode's own events (deadline moments) may live in the planning calendar; they plan nothing.
OWN_UID_PREFIX = "wijkbode-"
_XML_HEADERS = {"Content-Type": 'application/xml; charset="utf-8"'}
_MULTIGET_BATCH = 100


@dataclass(frozen=True, slots=True)
class _Member:
    href: str
    etag: str


class CaldavPlanningCalendar:
    """``[caldav] planning_calendar`` under the ``[caldav]`` login, read-only."""

    def __init__(
        self,
        config: CaldavConfig,
        tz: ZoneInfo,
        *,
        timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS,
        use_sync_token: bool = True,
    ) -> None:
        if config.planning_calendar is None:
            raise ValueError("no [caldav] planning_calendar configured")
        self._tz = tz
        self._use_sync_token = use_sync_token  # False: the ctag/ETag way (tests, old servers)
        self.connection = CaldavConnection(
            replace(config, calendar=config.planning_calendar),
            timeout_seconds=timeout_seconds,
            create=False,
        )

    @property
    def name(self) -> str:
        return self.connection.calendar_name

    async def changes(self, since: SyncState) -> CalendarDelta:
        """What changed since ``since``; see the module docstring."""
        try:
            with translated(f"planning calendar {self.name!r}"):
                return await self._changes(since)
        except ChannelError:
            await self.connection.reset()
            raise

    async def close(self) -> None:
        await self.connection.close()

    async def _changes(self, since: SyncState) -> CalendarDelta:
        calendar = await self.connection.calendar()
        client = self.connection.client()
        if calendar.url is None:  # not for a calendar found by CaldavConnection
            raise PermanentError(f"planning calendar {self.name!r} has no URL")
        url = str(calendar.url)
        if self._use_sync_token:
            delta = await self._by_sync_token(client, url, since)
            if delta is not None:
                return delta
        return await self._by_etags(client, url, since)

    # --- RFC 6578 ------------------------------------------------------------------

    async def _by_sync_token(
        self, client: AsyncDAVClient, url: str, since: SyncState
    ) -> CalendarDelta | None:
        """The delta by sync-collection; ``None`` when the server has no such report."""
        token = since.token
        try:
            multistatus = await self._sync_report(client, url, token)
        except dav_error.DAVError as failure:
            if token and _invalid_token(failure):
                log.info("sync token of %r expired; reading every ETag once", self.name)
                token = None
                multistatus = await self._sync_report(client, url, None)
            elif failure.status in (400, 403, 405, 409, 415, 501):
                log.info("%r has no sync-collection (HTTP %s); using ctag/ETag", self.name,
                         failure.status)  # fmt: skip
                return None
            else:
                raise
        present: list[_Member] = []
        removed: list[str] = []
        for response in multistatus.findall(f"{{{DAV}}}response"):
            href = _href(response)
            if href is None or _same_path(href, url):
                continue
            if _status(response) == 404:
                removed.append(href)
                continue
            etag = _prop_text(response, f"{{{DAV}}}getetag")
            if etag is not None:
                present.append(_Member(href, etag))
        new_token = _text(multistatus.find(f"{{{DAV}}}sync-token"))
        full = token is None
        if full:
            removed = [href for href in since.etags if href not in {m.href for m in present}]
        changed = [m for m in present if since.etags.get(m.href) != m.etag]
        events = await self._fetch(client, url, changed)
        state = SyncState(token=new_token, ctag=since.ctag)
        return CalendarDelta(tuple(events), tuple(dict.fromkeys(removed)), state, full=full)

    async def _sync_report(self, client: AsyncDAVClient, url: str, token: str | None) -> ET.Element:
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<D:sync-collection xmlns:D="{DAV}">'
            f"<D:sync-token>{escape(token or '')}</D:sync-token>"
            "<D:sync-level>1</D:sync-level>"
            "<D:prop><D:getetag/></D:prop>"
            "</D:sync-collection>"
        )
        response = await client.report(url, body, depth=None, headers=_XML_HEADERS)
        return _multistatus(response, "sync-collection")

    # --- ctag and ETags --------------------------------------------------------------

    async def _by_etags(self, client: AsyncDAVClient, url: str, since: SyncState) -> CalendarDelta:
        ctag = await self._ctag(client, url)
        if ctag is not None and ctag == since.ctag:
            return CalendarDelta((), (), since)
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<D:propfind xmlns:D="{DAV}"><D:prop><D:getetag/></D:prop></D:propfind>'
        )
        response = await client.propfind(url, body, depth=1, headers=_XML_HEADERS)
        multistatus = _multistatus(response, "PROPFIND")
        present = [
            _Member(href, etag)
            for item in multistatus.findall(f"{{{DAV}}}response")
            if (href := _href(item)) is not None and not _same_path(href, url)
            if (etag := _prop_text(item, f"{{{DAV}}}getetag")) is not None
        ]
        hrefs = {m.href for m in present}
        removed = tuple(href for href in since.etags if href not in hrefs)
        changed = [m for m in present if since.etags.get(m.href) != m.etag]
        events = await self._fetch(client, url, changed)
        return CalendarDelta(tuple(events), removed, SyncState(since.token, ctag), full=True)

    async def _ctag(self, client: AsyncDAVClient, url: str) -> str | None:
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<D:propfind xmlns:D="{DAV}" xmlns:CS="{CALSERVER}">'
            "<D:prop><CS:getctag/></D:prop></D:propfind>"
        )
        response = await client.propfind(url, body, depth=0, headers=_XML_HEADERS)
        multistatus = _multistatus(response, "PROPFIND getctag")
        for item in multistatus.findall(f"{{{DAV}}}response"):
            found = _prop_text(item, f"{{{CALSERVER}}}getctag")
            if found is not None:
                return found
        return None

    # --- bodies ----------------------------------------------------------------------

    async def _fetch(
        self, client: AsyncDAVClient, url: str, members: Iterable[_Member]
    ) -> list[PlannedEvent]:
        """The events of ``members``, by ``calendar-multiget`` in batches."""
        wanted = list(members)
        events: list[PlannedEvent] = []
        for start in range(0, len(wanted), _MULTIGET_BATCH):
            batch = wanted[start : start + _MULTIGET_BATCH]
            hrefs = "".join(f"<D:href>{escape(m.href)}</D:href>" for m in batch)
            body = (
                '<?xml version="1.0" encoding="utf-8"?>'
                f'<C:calendar-multiget xmlns:D="{DAV}" xmlns:C="{CALDAV}">'
                f"<D:prop><D:getetag/><C:calendar-data/></D:prop>{hrefs}"
                "</C:calendar-multiget>"
            )
            response = await client.report(url, body, depth=1, headers=_XML_HEADERS)
            multistatus = _multistatus(response, "calendar-multiget")
            etags = {m.href: m.etag for m in batch}
            for item in multistatus.findall(f"{{{DAV}}}response"):
                href = _href(item)
                data = _prop_text(item, f"{{{CALDAV}}}calendar-data")
                if href is None or data is None:
                    continue  # gone between the listing and this read: the next read says so
                etag = _prop_text(item, f"{{{DAV}}}getetag") or etags.get(href, "")
                event = planned_event(href, etag, data, self._tz)
                if event is not None:
                    events.append(event)
        return events


def planned_event(href: str, etag: str, data: str, tz: ZoneInfo) -> PlannedEvent | None:
    """The master VEVENT of one calendar object; ``None`` for none, or for one of ours."""
    try:
        calendar = Calendar.from_ical(data)
    except ValueError as problem:
        log.warning("unreadable event %s in the planning calendar: %s", href, problem)
        return None
    events = list(calendar.events)
    master = next((e for e in events if "RECURRENCE-ID" not in e), None)
    if master is None:
        return None
    uid = str(master.get("UID", "")).strip() or href
    if uid.startswith(OWN_UID_PREFIX):
        return None
    start = _moment(master.get("DTSTART"), tz)
    end = _moment(master.get("DTEND"), tz)
    return PlannedEvent(
        href=href,
        etag=etag,
        uid=uid,
        summary=str(master.get("SUMMARY", "")),
        categories=tuple(str(c) for c in _categories(master)),
        start=start,
        end=end if end is not None and start is not None and end > start else None,
        location=str(master.get("LOCATION", "")),
        cancelled=str(master.get("STATUS", "")).upper() == "CANCELLED",
        recurring="RRULE" in master or "RDATE" in master,
    )


def _categories(event: Event) -> list[object]:
    try:
        return list(event.categories)
    except (AttributeError, ValueError, TypeError):
        return []


def _moment(prop: object, tz: ZoneInfo) -> datetime | None:
    """An aware start or end; a floating time is local; an all-day date names no time."""
    value = getattr(prop, "dt", None)
    if isinstance(value, datetime):
        return value.replace(tzinfo=tz) if value.tzinfo is None else value
    if isinstance(value, date):
        return None
    return None


def _multistatus(response: DAVResponse, what: str) -> ET.Element:
    if response.status != 207:
        raise dav_error.error_from_response(dav_error.ReportError, response, f"{what} refused")
    try:
        # The configured server's answer; expat (2.4.1+) caps entity amplification and
        # ElementTree resolves no external entities, so defusedxml adds nothing here.
        return ET.fromstring(response.raw)  # noqa: S314
    except ET.ParseError as problem:
        raise dav_error.ReportError(f"{what}: unreadable answer: {problem}") from problem


def _href(response: ET.Element) -> str | None:
    return _text(response.find(f"{{{DAV}}}href"))


def _status(response: ET.Element) -> int | None:
    """The status of a response without propstat (a removed member: 404)."""
    text = _text(response.find(f"{{{DAV}}}status"))
    if text is None:
        return None
    parts = text.split()
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def _prop_text(response: ET.Element, name: str) -> str | None:
    for propstat in response.findall(f"{{{DAV}}}propstat"):
        status = _text(propstat.find(f"{{{DAV}}}status")) or ""
        if " 200 " not in f"{status} ":
            continue
        found = propstat.find(f"{{{DAV}}}prop/{name}")
        if found is not None:
            return found.text or ""
    return None


def _text(element: ET.Element | None) -> str | None:
    return None if element is None or element.text is None else element.text.strip()


def _same_path(href: str, url: str) -> bool:
    """Whether ``href`` names the collection at ``url`` itself (not a member)."""
    return unquote(urlsplit(href).path).rstrip("/") == unquote(urlsplit(url).path).rstrip("/")


def _invalid_token(failure: dav_error.DAVError) -> bool:
    """The server no longer knows the token (RFC 6578 3.2: DAV:valid-sync-token)."""
    text = f"{failure.reason} {' '.join(getattr(failure, 'preconditions', ()) or ())}"
    return failure.status in (403, 409, 410) or "valid-sync-token" in text
