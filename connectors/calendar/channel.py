"""The CalDAV outbox channel: a ``CalendarWrite`` becomes one event, at a URL made from its UID.

``upsert`` makes the event when the calendar has none with that UID, and
otherwise rewrites it in place (same resource, never a second event);
``cancel`` keeps the event with ``STATUS:CANCELLED`` so subscribers see the
cancellation. A resend of an effect the server already shows writes nothing,
so a crash between writing and marking the row delivered is harmless.

Each event lives at ``<calendar URL>/<object_name(uid)>``, so a write is one
GET of that URL and at most one PUT, whatever the calendar holds: a create
carries ``If-None-Match: *`` and a rewrite ``If-Match`` with the ETag the GET
saw, so a concurrent writer is never overwritten unseen (its 412 is a
TransientError: the outbox retries, and the retry reads again).

Events stored under another name (imported, or written by another client)
are found by a search by UID, but only when the server refuses the create
because the UID is already taken (``CALDAV:no-uid-conflict``, RFC 4791
5.3.2.1; Radicale answers 409) or answers 409 without a reason (Radicale:
the calendar is gone; the search then reports the 404). A search costs one
REPORT over the whole calendar (seconds with a year of events), so it is
never made on the ordinary path. Events written before this change need no
search: caldav minted their URL from the UID with the same rule. A server
that ignores ``no-uid-conflict`` would get a second event for a UID stored
under another name; none of Wijkbode's own events is.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from zoneinfo import ZoneInfo

from caldav.aio import Calendar, CalendarObjectResource, Event
from caldav.lib import error as dav_error

from connectors.calendar.connection import DEFAULT_TIMEOUT_SECONDS, CaldavConnection, resolved
from connectors.calendar.errors import translated
from connectors.calendar.ical import event_ics, object_name, sequence_to_write, stored_event
from daemon.config.schema import CaldavConfig
from daemon.errors import ChannelError, PermanentError
from daemon.ports.outbox import CalendarWrite, ChannelName, Effect

ICS_HEADERS = {"Content-Type": "text/calendar; charset=utf-8"}
# A create may only make the object, never replace one (RFC 9110 13.1.2, RFC 4791 5.3.2).
CREATE_HEADERS = ICS_HEADERS | {"If-None-Match": "*"}


class CaldavChannel:
    """Delivers ``CalendarWrite`` effects to the ``[caldav]`` calendar; times in ``tz``."""

    name = ChannelName.CALDAV

    def __init__(
        self,
        config: CaldavConfig,
        tz: ZoneInfo,
        *,
        timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._tz = tz
        self.connection = CaldavConnection(config, timeout_seconds=timeout_seconds)
        # ``[caldav] deadline_calendar``: the core group's calendar, under the same login.
        self._deadlines: CaldavConnection | None = None
        if config.deadline_calendar is not None and config.deadline_calendar != config.calendar:
            self._deadlines = CaldavConnection(
                replace(config, calendar=config.deadline_calendar), timeout_seconds=timeout_seconds
            )
        # One write at a time: reading an event and writing it must not interleave.
        self._writing = asyncio.Lock()

    async def deliver(self, effect: Effect) -> str:
        """Write ``effect``'s event; return its UID. See the module docstring."""
        write = effect.payload
        if not isinstance(write, CalendarWrite):
            raise PermanentError(f"{effect.key}: not a calendar write ({type(write).__name__})")
        connection = self.connection_for(effect.destination)
        try:
            async with self._writing:
                with translated(f"calendar event {write.uid}"):
                    await self._write(connection, write, effect)
        except ChannelError:
            await connection.reset()  # log in and look the calendar up again next time
            raise
        return write.uid

    def connection_for(self, destination: str) -> CaldavConnection:
        """The calendar an effect goes to: the deadline calendar by its name, else ``calendar``."""
        if self._deadlines is not None and destination == self._deadlines.calendar_name:
            return self._deadlines
        return self.connection

    async def close(self) -> None:
        """Close the connections (at shutdown)."""
        await self.connection.close()
        if self._deadlines is not None:
            await self._deadlines.close()

    async def _write(
        self, connection: CaldavConnection, write: CalendarWrite, effect: Effect
    ) -> None:
        calendar = await connection.calendar()
        found = await load_object(calendar, object_name(write.uid))
        if found is not None:
            await self._rewrite(found, write, effect)
            return
        try:
            await self._create(connection, calendar, write, effect)
        except dav_error.DAVError as refusal:
            if not may_be_stored_elsewhere(refusal):
                raise
            elsewhere = await find_by_uid(calendar, write.uid)  # 404 here: the calendar is gone
            if elsewhere is None:
                raise
            await self._rewrite(elsewhere, write, effect)

    async def _create(
        self, connection: CaldavConnection, calendar: Calendar, write: CalendarWrite, effect: Effect
    ) -> None:
        """PUT the new event at its own URL, only if nothing is there yet."""
        ics = self._ics(write, effect, write.sequence)  # a new event: the payload's SEQUENCE
        url = object_url(calendar, object_name(write.uid))
        response = await connection.put(url, ics, CREATE_HEADERS)
        if response.status not in (200, 201, 204):
            raise dav_error.error_from_response(dav_error.PutError, response)

    async def _rewrite(
        self, found: CalendarObjectResource, write: CalendarWrite, effect: Effect
    ) -> None:
        """Write ``write`` over the loaded ``found`` unless it already shows exactly this."""
        stored = stored_event(found.data, write.uid)
        sequence = sequence_to_write(write, self._tz, stored)
        if sequence is None:
            return  # the calendar already shows exactly this
        # raw_data: the bytes go as they are (caldav neither "fixes" them nor bumps SEQUENCE),
        # with If-Match on the ETag the read saw.
        await resolved(found.save(raw_data=self._ics(write, effect, sequence)))

    def _ics(self, write: CalendarWrite, effect: Effect, sequence: int) -> bytes:
        try:
            return event_ics(write, tz=self._tz, stamp=effect.created_at, sequence=sequence)
        except ValueError as problem:
            raise PermanentError(f"{effect.key}: {problem}") from problem


async def load_object(calendar: Calendar, name: str) -> Event | None:
    """The object ``name`` in ``calendar``, loaded with its ETag, or ``None`` when absent (404)."""
    event = Event(calendar.client, url=object_url(calendar, name), parent=calendar)
    try:
        # No multiget fallback: a 404 means "not there yet", not "try another way".
        await resolved(event.load(multiget_fallback=False))
    except dav_error.NotFoundError:
        return None
    return event


def object_url(calendar: Calendar, name: str) -> str:
    """The URL of the object ``name`` inside ``calendar``."""
    if calendar.url is None:  # not for a calendar found or made by CaldavConnection
        raise PermanentError(f"calendar {calendar.name!r} has no URL")
    return str(calendar.url.join(name))


def may_be_stored_elsewhere(refusal: dav_error.DAVError) -> bool:
    """Whether a refused create may mean the UID lives under another name (see the docstring)."""
    taken = dav_error.UID_CONFLICT_PRECONDITIONS.intersection(refusal.preconditions)
    return bool(taken) or refusal.status == 409


async def find_by_uid(calendar: Calendar, uid: str) -> CalendarObjectResource | None:
    """The calendar object holding ``uid``, found by a search, or ``None`` when there is none."""
    try:
        return await resolved(calendar.get_object_by_uid(uid))
    except dav_error.NotFoundError as failure:
        if failure.status is not None:  # an HTTP 404: the calendar itself is gone
            raise
        return None
