"""One CalDAV login (caldav's async client) and the calendar Wijkbode writes to.

The calendar is found by its display name under the login's principal and
made when there is none, once; its URL is then kept until a failure, after
which the next use logs in and looks again (a restarted server, a calendar
someone removed).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Mapping
from inspect import isawaitable
from typing import TypeVar, cast

from caldav.aio import AsyncDAVClient, Calendar, Principal
from caldav.response import DAVResponse

from connectors.calendar.errors import translated
from daemon.config.reader import bilingual
from daemon.config.schema import CaldavConfig
from daemon.errors import ChannelError, PermanentError

log = logging.getLogger("wijkbode.caldav")

T = TypeVar("T")

DEFAULT_TIMEOUT_SECONDS = 30


async def resolved(value: T | Awaitable[T]) -> T:
    """The result of a caldav call that answers directly or, with the async client, awaitably."""
    if isawaitable(value):
        return cast(T, await value)
    return value


class CaldavConnection:
    """The client and the resolved calendar of one ``[caldav]`` section."""

    def __init__(
        self,
        config: CaldavConfig,
        *,
        timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS,
        create: bool = True,
    ) -> None:
        self._config = config
        self._timeout = timeout_seconds
        # False for a calendar only read (the planning calendar): a misspelt name must
        # be an error, not a new empty calendar that seems to cancel every meeting.
        self._create = create
        self._client: AsyncDAVClient | None = None
        self._calendar: Calendar | None = None

    @property
    def calendar_name(self) -> str:
        """The display name of the calendar (``[caldav] calendar``)."""
        return self._config.calendar

    async def calendar(self) -> Calendar:
        """The calendar named ``[caldav] calendar``, made under the principal if missing.

        Raises ``TransientError`` / ``PermanentError`` (see ``errors``).
        """
        if self._calendar is None:
            try:
                with translated(f"calendar {self.calendar_name!r}"):
                    self._calendar = await self._resolve()
            except ChannelError:
                await self.reset()
                raise
        return self._calendar

    async def calendar_url(self) -> str:
        """The calendar's URL; a plain GET on it returns the whole calendar as one ICS."""
        return str((await self.calendar()).url)

    def client(self) -> AsyncDAVClient:
        """The logged-in client, for requests caldav has no method for (sync-collection)."""
        return self._open()

    async def put(self, url: str, body: bytes, headers: Mapping[str, str]) -> DAVResponse:
        """A plain PUT of ``body`` with this login; the caller judges the status.

        For a conditional create: caldav's ``save(no_overwrite=True)`` searches
        the calendar by UID first on servers it has no profile of.
        """
        return await self._open().put(url, body.decode("utf-8"), headers)

    async def reset(self) -> None:
        """Forget the calendar and close the client; the next use starts afresh."""
        self._calendar = None
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    async def close(self) -> None:
        """Close the client (at shutdown)."""
        await self.reset()

    async def _resolve(self) -> Calendar:
        client = self._open()
        principal = await client.get_principal()
        found = await self._find(client, principal)
        if found is not None:
            return found
        if not self._create:
            raise PermanentError(
                bilingual(
                    f"er is geen kalender {self.calendar_name!r} voor deze CalDAV-gebruiker",
                    f"there is no calendar {self.calendar_name!r} for this CalDAV user",
                )
            )
        return await self._make(principal)

    def _open(self) -> AsyncDAVClient:
        if self._client is None:
            password = self._config.password
            self._client = AsyncDAVClient(
                url=self._config.url,
                username=self._config.username,
                password=None if password is None else password.reveal(),
                timeout=self._timeout,
                enable_rfc6764=False,  # the URL is given; no DNS discovery (it blocks)
                rate_limit_handle=False,  # a 429 becomes a TransientError; the outbox waits
            )
        return self._client

    async def _find(self, client: AsyncDAVClient, principal: Principal) -> Calendar | None:
        calendars = await client.get_calendars(principal)
        named = [c for c in calendars if await self._is_ours(c)]
        if len(named) > 1:
            log.warning(
                "%d calendars are named %r; using the first", len(named), self.calendar_name
            )
        return min(named, key=lambda c: str(c.url), default=None)

    async def _is_ours(self, calendar: Calendar) -> bool:
        # Read from the listing's cached properties; no request per calendar.
        return await resolved(calendar.get_display_name()) == self.calendar_name

    async def _make(self, principal: Principal) -> Calendar:
        log.info("making calendar %r under %s", self.calendar_name, principal.url)
        return await resolved(
            principal.make_calendar(
                name=self.calendar_name, supported_calendar_component_set=["VEVENT"]
            )
        )
