"""``/stukken/<token>``: one document of a meeting's stukken package, by its token.

A partner whose package was too large to attach got one link per document
(:mod:`daemon.publish.package`); the token was stored with the mail that carries
it (``daemon.store.downloads``). This route serves exactly that document, and
only until the meeting is over: an unknown, malformed or expired token is the
same 404 as any unknown path, so nothing can be listed or guessed, and nothing
tells a stranger whether a token ever existed. There is no other path under
``/stukken/``.

Each download is logged and counted (``download_tokens.downloads``) without
personal data: the meeting, the first characters of the document's hash, never
the client's address, agent or the token itself.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote

from aiohttp import web

from daemon.model import DocumentHash
from daemon.store import Store

log = logging.getLogger("wijkbode.http.downloads")

PATH = "/stukken/{token}"
# secrets.token_urlsafe(32) gives 43 characters of [A-Za-z0-9_-]; nothing else is looked up.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,128}$")


class DownloadService:
    def __init__(self, store: Store, now: Callable[[], datetime]) -> None:
        self._store = store
        self._now = now

    def routes(self) -> list[web.RouteDef]:
        return [web.get(PATH, self._download)]

    async def _download(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        if not _TOKEN.match(token):
            raise web.HTTPNotFound()
        async with self._store.reading() as tx:
            link = await tx.usable_download(token, self._now())
        if link is None:
            raise web.HTTPNotFound()
        try:
            body = await self._store.documents.get(DocumentHash(link.sha256))
        except FileNotFoundError:
            log.error("download: document %s… of %s is missing", link.sha256[:12], link.meeting)
            raise web.HTTPNotFound() from None
        if request.method == "GET":
            async with self._store.transaction() as tx:
                await tx.count_download(token)
            log.info("download: document %s… of %s", link.sha256[:12], link.meeting)
        return web.Response(
            body=body,
            headers={
                "Content-Type": _served_type(link.content_type),
                "Content-Disposition": _disposition(link.filename),
                # Only for the one who has the link: no shared cache keeps a copy.
                "Cache-Control": "private, no-store",
                "X-Robots-Tag": "noindex, nofollow",
            },
        )


# The type came with the sender's mail: anything a browser might run or render as a
# page on our origin (HTML, SVG, XML, scripts, any text) is served as plain bytes.
_ACTIVE = re.compile(
    r"^(text/|image/svg|application/(xhtml|xml|javascript|ecmascript))|xml$|script"
)


def _served_type(content_type: str) -> str:
    kind = content_type.split(";", 1)[0].strip().lower()
    if not re.fullmatch(r"[a-z0-9.+-]+/[a-z0-9.+-]+", kind) or _ACTIVE.search(kind):
        return "application/octet-stream"
    return kind


def _disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the real one (RFC 6266, 5987)."""
    ascii_name = (
        "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
        or "document"
    )
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
