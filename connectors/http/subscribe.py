"""The routes of the residents' mail subscriptions: the page's form and the mails' links.

- ``POST /subscribe``: the form (``email``, ``lang``, and ``website``, a
  honeypot people never see: a sign-up with it filled in is answered as if it
  worked and dropped). Rate-limited per client address and for everyone
  together; a refusal is ``429`` with ``Retry-After``.
- ``GET /subscribe/confirm?t=...``: a page with a confirm button;
  ``POST`` to the same address confirms.
- ``GET /unsubscribe?t=...``: a page with an unsubscribe button; ``POST`` to the
  same address (the button, or a mail program's RFC 8058 one-click
  ``List-Unsubscribe=One-Click``) deletes the subscriber at once.

No sessions and no CSRF tokens are needed: a forged sign-up can do no more than
a real one (one confirmation mail, rate-limited, nothing stored for long), and
confirming or unsubscribing needs the unguessable token from the mail. Nothing
here logs an address; the core words every answer (``SubscriptionDesk``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from connectors.http.ratelimit import RateLimit
from daemon.ports.subscriptions import Answer, SubscriptionDesk

_Form = MultiDictProxy[str | bytes | bytearray | web.FileField]
HONEYPOT = "website"
MAX_FORM_BYTES = 4096  # an address and two short fields
# The listener's timer ends with the headers; a body trickled a byte at a time would hold
# its connection (and handler) for as long as the client likes.
FORM_SECONDS = 10.0
_NO_STORE = "no-store"  # a page about one person's subscription is never cached


class SubscribeService:
    def __init__(
        self,
        desk: SubscriptionDesk,
        limit: RateLimit,
        csp: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._desk = desk
        self._limit = limit
        self._csp = csp
        self._clock = clock

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/subscribe", self._subscribe),
            web.get("/subscribe/confirm", self._token_page(self._desk.confirm_page)),
            web.post("/subscribe/confirm", self._token_page(self._desk.confirm)),
            web.get("/unsubscribe", self._token_page(self._desk.unsubscribe_page)),
            web.post("/unsubscribe", self._token_page(self._desk.unsubscribe)),
        ]

    async def _subscribe(self, request: web.Request) -> web.StreamResponse:
        form = await _form(request)
        language = self._language(form.get("lang", ""))
        if _text(form, HONEYPOT):
            return self._respond(self._desk.accepted(language))
        if not self._limit.allow(request.remote or "?", self._clock()):
            response = self._respond(self._desk.too_many(language))
            response.headers["Retry-After"] = str(int(self._limit.window))
            return response
        return self._respond(await self._desk.subscribe(_text(form, "email"), language))

    def _token_page(
        self, answer: Callable[[str, str], Awaitable[Answer]]
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            if request.method == "POST":
                await _form(request)  # read (and bound) the body; the token is in the URL
            token = request.query.get("t", "")
            language = self._language(request.query.get("lang", ""))
            return self._respond(await answer(token, language))

        return handle

    def _language(self, asked: object) -> str:
        languages = self._desk.languages
        return asked if isinstance(asked, str) and asked in languages else languages[0]

    def _respond(self, answer: Answer) -> web.Response:
        return web.Response(
            status=answer.status,
            body=answer.html.encode(),
            content_type="text/html",
            charset="utf-8",
            headers={"Cache-Control": _NO_STORE, "Content-Security-Policy": self._csp},
        )


async def _form(request: web.Request) -> _Form:
    if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
        raise web.HTTPRequestEntityTooLarge(MAX_FORM_BYTES, request.content_length)
    try:
        async with asyncio.timeout(FORM_SECONDS):
            return await request.post()
    except ValueError:  # a body that is no form at all
        return MultiDictProxy(MultiDict())
    except TimeoutError:
        raise web.HTTPRequestTimeout() from None


def _text(form: _Form, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""
