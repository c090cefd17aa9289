"""``/agenda.ics`` (every public series) and ``/agenda/<series>.ics``, from one cached render.

One render reads the public view once and makes every feed's bytes, its gzip
copy and its ETag; it runs again only after ``invalidate()`` (a feed delivery,
a plan reload, a filing, a time-based change). A request takes the current
``Representation`` and answers from it: a full response, or a ``304`` that
touches neither the body nor the store.

``Last-Modified`` is the newest ``DTSTAMP`` in the feed, and never goes back:
when the bytes change without a newer event (a series made private), it moves
to the render's time, so a client asking by date alone sees the change too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from aiohttp import web

from connectors.http.cache import RenderCache
from connectors.http.ics import FeedInfo, feed_ics
from connectors.http.responses import Representation, representation, respond
from daemon.ports.public import PublicMeeting, PublicSource

FEED_PATH = "/agenda.ics"
SERIES_FEED_PATH = "/agenda/{series}.ics"
CONTENT_TYPE = "text/calendar; charset=utf-8"
# Calendar apps poll on their own schedule; five minutes spares a busy page of fetches
# without holding a move back long (every client revalidates with the ETag after it).
CACHE_CONTROL = "public, max-age=300, must-revalidate"
_SERIES_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


@dataclass(frozen=True, slots=True)
class FeedSettings:
    name: str  # the calendar's name (NAME, X-WR-CALNAME); a series feed adds its title
    tz: ZoneInfo
    base_url: str | None  # ``[http] public_url``, no trailing slash


@dataclass(slots=True)
class FeedStats:
    """Counters for /metrics: feed requests and how many were answered 304."""

    requests: int = 0
    not_modified: int = 0
    renders: int = 0


@dataclass(frozen=True, slots=True)
class Feeds:
    """Every feed of one render: ``None`` is /agenda.ics, a series id its own feed."""

    by_series: Mapping[str | None, Representation] = field(default_factory=dict)


class FeedService:
    def __init__(
        self,
        source: PublicSource,
        public_series: Callable[[], Mapping[str, str]],
        settings: FeedSettings,
        now: Callable[[], datetime],
    ) -> None:
        self._source = source
        self._public_series = public_series
        self._settings = settings
        self._now = now
        self._cache: RenderCache[Feeds] = RenderCache(self._render, "the calendar feed")
        self._last: dict[str | None, Representation] = {}
        self.stats = FeedStats()

    def invalidate(self) -> None:
        self._cache.invalidate()

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(FEED_PATH, self.all_series),
            web.get(SERIES_FEED_PATH, self.one_series),
        ]

    async def all_series(self, request: web.Request) -> web.StreamResponse:
        return await self._answer(request, None)

    async def one_series(self, request: web.Request) -> web.StreamResponse:
        series = request.match_info["series"]
        if not _SERIES_ID.match(series):
            raise web.HTTPNotFound()
        return await self._answer(request, series)

    async def _answer(self, request: web.Request, series: str | None) -> web.StreamResponse:
        self.stats.requests += 1
        feeds = self._cache.fresh or await self._cache.get()
        rep = feeds.by_series.get(series)
        if rep is None:
            raise web.HTTPNotFound()  # an unknown or non-public series: nothing to say
        response = respond(request, rep)
        if response.status == 304:
            self.stats.not_modified += 1
        return response

    async def _render(self) -> Feeds:
        meetings = await self._source()
        titles = dict(self._public_series())
        found: dict[str | None, Representation] = {None: self._one(None, meetings, None)}
        for series, title in titles.items():
            mine = [m for m in meetings if m.series == series]
            found[series] = self._one(series, mine, title)
        self._last = found
        self.stats.renders += 1
        return Feeds(found)

    def _one(
        self, series: str | None, meetings: list[PublicMeeting], title: str | None
    ) -> Representation:
        settings = self._settings
        path = FEED_PATH if series is None else SERIES_FEED_PATH.format(series=series)
        base = settings.base_url
        info = FeedInfo(
            name=settings.name if title is None else f"{settings.name}: {title}",
            tz=settings.tz,
            page_url=None if base is None else f"{base}/",
            feed_url=None if base is None else f"{base}{path}",
        )
        body = feed_ics(meetings, info)
        before = self._last.get(series)
        if before is not None and before.body == body:
            return before
        stamps = [m.changed_at for m in meetings if m.changed_at is not None]
        modified = max(stamps, default=self._now())
        if before is not None:
            # The bytes changed: Last-Modified must move on, even if no event is newer.
            # (HTTP dates have whole seconds: a change within the same second moves it by one.)
            modified = max(modified, self._now(), before.last_modified + timedelta(seconds=1))
        return representation(body, CONTENT_TYPE, modified.astimezone(UTC), CACHE_CONTROL)
