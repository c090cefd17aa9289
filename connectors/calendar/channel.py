"""The CalDAV outbox channel: a ``CalendarWrite`` becomes one event, found and kept by UID.

``upsert`` makes the event when the calendar has none with that UID, and
otherwise rewrites it in place (same resource, never a second event);
``cancel`` keeps the event with ``STATUS:CANCELLED`` so subscribers see the
cancellation. A resend of an effect the server already shows writes nothing,
so a crash between writing and marking the row delivered is harmless.
"""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

from caldav.aio import Calendar, CalendarObjectResource, Event
from caldav.lib import error as dav_error

from connectors.calendar.connection import DEFAULT_TIMEOUT_SECONDS, CaldavConnection, resolved
from connectors.calendar.errors import translated
from connectors.calendar.ical import event_ics, sequence_to_write, stored_event
from daemon.config.schema import CaldavConfig
from daemon.errors import ChannelError, PermanentError
from daemon.ports.outbox import CalendarWrite, ChannelName, Effect


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
        # One write at a time: finding a UID and writing it must not interleave.
        self._writing = asyncio.Lock()

    async def deliver(self, effect: Effect) -> str:
        """Write ``effect``'s event; return its UID. See the module docstring."""
        write = effect.payload
        if not isinstance(write, CalendarWrite):
            raise PermanentError(f"{effect.key}: not a calendar write ({type(write).__name__})")
        try:
            async with self._writing:
                with translated(f"calendar event {write.uid}"):
                    await self._write(write, effect)
        except ChannelError:
            await self.connection.reset()  # log in and look the calendar up again next time
            raise
        return write.uid

    async def close(self) -> None:
        """Close the connection (at shutdown)."""
        await self.connection.close()

    async def _write(self, write: CalendarWrite, effect: Effect) -> None:
        calendar = await self.connection.calendar()
        found = await find_by_uid(calendar, write.uid)
        stored = None if found is None else stored_event(found.data, write.uid)
        sequence = sequence_to_write(write, self._tz, stored)
        if sequence is None:
            return  # the calendar already shows exactly this
        try:
            ics = event_ics(write, tz=self._tz, stamp=effect.created_at, sequence=sequence)
        except ValueError as problem:
            raise PermanentError(f"{effect.key}: {problem}") from problem
        target = found if found is not None else Event(calendar.client, parent=calendar)
        # raw_data: the bytes go as they are (caldav neither "fixes" them nor bumps SEQUENCE);
        # an existing event is written with If-Match on the ETag the lookup saw.
        await resolved(target.save(raw_data=ics))


async def find_by_uid(calendar: Calendar, uid: str) -> CalendarObjectResource | None:
    """The calendar object holding ``uid``, loaded, or ``None`` when there is none."""
    try:
        return await resolved(calendar.get_object_by_uid(uid))
    except dav_error.NotFoundError as failure:
        if failure.status is not None:  # an HTTP 404: the calendar itself is gone
            raise
        return None
