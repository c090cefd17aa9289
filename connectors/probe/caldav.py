"""Probe the CalDAV server: reachable (and its clock), the login, and each configured
calendar by its display name. Nothing is made: a missing calendar Wijkbode writes
to is made at its first write, a missing planning calendar is an error."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
from caldav.aio import AsyncDAVClient
from caldav.lib import error as dav_error

from connectors.calendar.connection import resolved
from connectors.probe.errors import detail, network_kind
from connectors.probe.http import skew_from_date
from connectors.tls import client_context
from daemon.config.schema import CaldavConfig
from daemon.errors import ConfigError
from daemon.ports.probe import Finding, Kind, Severity, clock_finding

TIMEOUT_SECONDS = 15.0  # a server slower than this to answer a probe is as good as down
NAME = "caldav"


async def probe_caldav(config: CaldavConfig) -> list[Finding]:
    try:
        password = None if config.password is None else config.password.reveal()
    except ConfigError as error:
        return [Finding(NAME, Kind.SECRET_MISSING, Severity.ERROR, config.url, str(error))]
    found: list[Finding] = []
    try:
        skew = await _skew(config.url)
    except (aiohttp.ClientError, OSError, TimeoutError) as error:
        return [Finding(NAME, network_kind(error), Severity.ERROR, config.url, detail(error))]
    late = clock_finding(NAME, config.url, skew) if skew is not None else None
    if late is not None:
        found.append(late)
    client = AsyncDAVClient(
        url=config.url,
        username=config.username,
        password=password,
        timeout=int(TIMEOUT_SECONDS),
        enable_rfc6764=False,
        rate_limit_handle=False,
    )
    try:
        principal = await client.get_principal()
        calendars = await client.get_calendars(principal)
        names = {await resolved(c.get_display_name()) for c in calendars}
    except dav_error.DAVError as error:
        who = config.username or config.url
        if error.status in (401, 403):
            return [*found, Finding(NAME, Kind.LOGIN_REFUSED, Severity.ERROR, who, detail(error))]
        if error.status == 404:
            return [*found, Finding(NAME, Kind.CALENDAR_MISSING, Severity.ERROR, config.url)]
        return [*found, Finding(NAME, Kind.FAILED, Severity.ERROR, config.url, detail(error))]
    except OSError as error:
        return [
            *found,
            Finding(NAME, network_kind(error), Severity.ERROR, config.url, detail(error)),
        ]
    finally:
        await client.close()
    found.append(
        Finding(NAME, Kind.CONNECTED, Severity.OK, f"{config.username or '-'} @ {config.url}")
    )
    for name, made_later in _wanted(config):
        if name in names:
            found.append(Finding(NAME, Kind.CALENDAR_OK, Severity.OK, name))
        elif made_later:
            found.append(Finding(NAME, Kind.CALENDAR_CREATED_LATER, Severity.OK, name))
        else:
            found.append(Finding(NAME, Kind.CALENDAR_MISSING, Severity.ERROR, name))
    return found


def _wanted(config: CaldavConfig) -> list[tuple[str, bool]]:
    """Each configured calendar name, and whether Wijkbode makes it when missing."""
    wanted = [(config.calendar, True)]
    if config.planning_calendar is not None:
        wanted.append((config.planning_calendar, False))  # only read: never made
    deadline = config.deadline_calendar
    if deadline is not None and deadline not in (config.calendar, config.planning_calendar):
        wanted.append((deadline, True))
    return wanted


async def _skew(url: str) -> float | None:
    """The server's Date header against our clock; any answer (even 401) carries one."""
    ssl_context = client_context(None) if url.startswith("https:") else None
    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
    ) as session:
        before = datetime.now(UTC)
        async with session.request("OPTIONS", url, ssl=ssl_context or False) as response:
            after = datetime.now(UTC)
            return skew_from_date(response.headers.get("Date"), before + (after - before) / 2)
