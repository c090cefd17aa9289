"""Our answer on every path out of aiohttp's connection handler, also where our code never ran.

aiohttp answers two kinds of request itself, before any middleware sees them: one its
parser cannot read (a bad request line or method, a NUL or bare CR in a header, a line
over the limit, bad chunked framing, Content-Length beside Transfer-Encoding) gets a
``text/plain`` 400 that quotes the offending bytes, and an unknown ``Expect`` header a
417 that repeats it; both with aiohttp's own ``Server`` header and none of ours, and
the 417 keeps the connection open. aiohttp offers no hook for either (aio-libs/aiohttp
issue 3287, open since 2018): its connection handler, ``web.RequestHandler``, builds
them. So this subclasses it and overrides ``finish_response``, the one method every
answer of a connection passes through on its way out: an answer that did not come
through our middleware (it lacks our security headers) is replaced by ``fixed``, our
own page for its status that names nothing the client sent, and the connection is
closed after it.

That leans on two things aiohttp does not promise: the handler's constructor and
``finish_response``. pyproject.toml therefore pins aiohttp to the minor version this
was checked with, and ``tests/integration/test_http_malformed.py`` sends malformed
requests to the real daemon and checks our answer: an aiohttp that stops calling this
fails it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

# The header our middleware puts on every answer (the feed's and page's come with it).
OURS = "X-Content-Type-Options"

FixedAnswer = Callable[[int], web.Response]


class Connection(web.RequestHandler):
    """aiohttp's connection handler, every answer ours (see the module docstring)."""

    __slots__ = ("_fixed",)

    def __init__(self, manager: web.Server, *, fixed: FixedAnswer, **options: Any) -> None:
        super().__init__(manager, **options)
        self._fixed = fixed

    async def finish_response(
        self, request: web.BaseRequest, resp: web.StreamResponse, start_time: float | None
    ) -> tuple[web.StreamResponse, bool]:
        if OURS in resp.headers or resp.prepared:  # through our middleware (or streamed)
            return await super().finish_response(request, resp, start_time)
        answer = self._fixed(resp.status)
        answer.force_close()  # nothing more is read from a client that sent this
        return await super().finish_response(request, answer, start_time)
