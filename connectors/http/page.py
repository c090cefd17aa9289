"""``/`` (Dutch) and ``/en`` (English): the public page, and the 404 page in its style.

The HTML is composed in the core (``daemon.ports.page.PublicPages``); this module
serves it like the feed: one render per change reads the public view once and
makes both languages' bytes, gzip copies and ETags (``RenderCache``); a request
takes the current ``Representation``. The page's Content-Security-Policy allows
its one inline style by hash and nothing else: no script, no image, no frame.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from connectors.http.cache import RenderCache
from connectors.http.responses import Representation, representation, respond
from daemon.ports.page import PublicPages, page_path
from daemon.ports.public import PublicSource

CONTENT_TYPE = "text/html; charset=utf-8"
# Browsers ask again after a minute and revalidate with the ETag (a 304 is cheap).
CACHE_CONTROL = "public, max-age=60, must-revalidate"


def page_csp(style_source: str) -> str:
    return (
        f"default-src 'none'; style-src {style_source}; frame-ancestors 'none';"
        " base-uri 'none'; form-action 'self'"
    )


class PageService:
    def __init__(
        self, source: PublicSource, pages: PublicPages, now: Callable[[], datetime]
    ) -> None:
        self._source = source
        self._pages = pages
        self._now = now
        self._csp = page_csp(pages.style_source)
        self._cache: RenderCache[Mapping[str, Representation]] = RenderCache(
            self._render, "the public page"
        )
        self._last: dict[str, Representation] = {}
        self._missing = {
            language: _html(pages.not_found(language), self._csp) for language in pages.codes
        }

    def invalidate(self) -> None:
        self._cache.invalidate()

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(page_path(language), self._handler(language)) for language in self._pages.codes
        ]

    @property
    def csp(self) -> str:
        return self._csp

    @property
    def pages(self) -> PublicPages:
        return self._pages

    def not_found(self, request: web.BaseRequest) -> web.Response:
        """The 404 page, in English under ``/en/`` (so for each language), else in Dutch."""
        found = "nl"
        for language in self._pages.codes[1:]:
            prefix = page_path(language)
            if request.path == prefix or request.path.startswith(prefix + "/"):
                found = language
        page = self._missing[found]
        return web.Response(status=404, body=page.body, headers=page.plain_headers)

    def _handler(self, language: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def answer(request: web.Request) -> web.StreamResponse:
            pages = self._cache.fresh or await self._cache.get()
            return respond(request, pages[language])

        return answer

    async def _render(self) -> Mapping[str, Representation]:
        meetings = await self._source()
        now = self._now()
        found: dict[str, Representation] = {}
        for language in self._pages.codes:
            body = self._pages.page(meetings, language, now).encode()
            before = self._last.get(language)
            if before is not None and before.body == body:
                found[language] = before
                continue
            modified = (
                now if before is None else max(now, before.last_modified + timedelta(seconds=1))
            )
            found[language] = _html(body.decode(), self._csp, modified)
        self._last = found
        return found


def _html(text: str, csp: str, modified: datetime | None = None) -> Representation:
    rep = representation(
        text.encode(), CONTENT_TYPE, (modified or datetime.now(UTC)).astimezone(UTC), CACHE_CONTROL
    )
    return replace(
        rep,
        plain_headers=_with(rep.plain_headers, csp),
        gzip_headers=_with(rep.gzip_headers, csp),
        not_modified_headers=_with(rep.not_modified_headers, csp),
        not_modified_gzip_headers=_with(rep.not_modified_gzip_headers, csp),
    )


def _with(headers: CIMultiDictProxy[str], csp: str) -> CIMultiDictProxy[str]:
    changed = CIMultiDict(headers)
    changed["Content-Security-Policy"] = csp
    return CIMultiDictProxy(changed)
