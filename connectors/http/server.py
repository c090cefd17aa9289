"""The HTTP service on aiohttp: one listener on ``[http] listen``, route tables, hard limits.

What is served is a list of route tables (``RouteTable``): the calendar feed
(:mod:`connectors.http.feed`) adds its routes, the page, ``/healthz`` and
``/metrics`` add theirs; nothing else exists, so there is no directory listing
and no file path to traverse to. Every answer passes one middleware that:

- answers ``OPTIONS`` for a known path with ``204`` and ``Allow``, and any other
  method than GET/HEAD with ``405`` (a bilingual line, never a traceback), except a
  POST to a route made for one (the subscription forms, ``subscribe``);
- turns an unknown path into the bilingual 404 page and any unforeseen error
  into a plain ``500`` page (the traceback goes to the log only);
- adds the security headers (``X-Content-Type-Options``, ``Referrer-Policy``,
  a ``Content-Security-Policy`` unless the handler set its own, ...).

What aiohttp answers itself, before the middleware runs (a request its parser cannot
read, an unknown ``Expect``), is replaced by ``fixed_answer`` for its status: our
bilingual page with our headers, never quoting the request, and the connection closes
(:mod:`connectors.http.protocol`, the listener's connection handler).

Limits against slow or hostile clients: a request line and each header field
at most 8 KiB, at most 64 header fields, no request body over 64 KiB (none is
read anyway), and ``header_timeout`` seconds for a connection to send a whole
request (aiohttp's keep-alive timer runs from the connection's start, so a
client that trickles its headers, slowloris, is cut off; the same time closes
an idle keep-alive connection).

The listener is bound in ``start()`` (at build time, so an address in use is a
clear error before the daemon runs), served by ``serve()`` in the daemon's
intake phase, and closed when that is cancelled: stopping the daemon stops
new requests first.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler

from connectors.http.protocol import Connection
from connectors.http.responses import SECURITY_HEADERS

log = logging.getLogger("wijkbode.http")

RouteTable = Sequence[web.RouteDef]
ALLOWED = "GET, HEAD, OPTIONS"


@dataclass(frozen=True, slots=True)
class Limits:
    header_timeout: float = 10.0  # seconds for a whole request (and an idle keep-alive)
    max_line_size: int = 8190
    max_field_size: int = 8190
    max_headers: int = 64
    max_body: int = 64 * 1024


def error_page(status: int, dutch: str, english: str) -> web.Response:
    """A small bilingual HTML page (Dutch first) for an error status."""
    body = (
        '<!doctype html>\n<html lang="nl"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{status} {html.escape(dutch)}</title></head>"
        '<body><main><h1>{d}</h1><p lang="en">{e}</p>'
        '<p><a href="/">Naar de agenda</a> · <a href="/en" lang="en">To the agenda</a></p>'
        "</main></body></html>\n"
    ).format(d=html.escape(dutch), e=html.escape(english))
    return web.Response(
        status=status, body=body.encode(), content_type="text/html", charset="utf-8"
    )


def fixed_answer(status: int) -> web.Response:
    """Our answer in place of one aiohttp made itself: a fixed text for its status, never
    the request's bytes (aiohttp's quotes them), with our security headers."""
    if status >= 500:
        response = error_page(
            status, "Er ging iets mis aan onze kant", "Something went wrong on our side"
        )
    elif status == 400:
        response = error_page(
            400, "Dit verzoek kunnen we niet lezen", "This request could not be read"
        )
    else:
        response = error_page(status, f"Fout {status}", f"Error {status}")
    response.headers.update(SECURITY_HEADERS)
    return response


def not_found() -> web.Response:
    return error_page(404, "Deze pagina bestaat niet", "This page does not exist")


# The 404 page in the public page's style, when the page is served (connectors.http.page).
NotFoundPage = Callable[[web.BaseRequest], web.Response]
NOT_FOUND_PAGE: web.AppKey[NotFoundPage] = web.AppKey("not_found_page")


def _not_found(request: web.Request) -> web.Response:
    page = request.app.get(NOT_FOUND_PAGE)
    return not_found() if page is None else page(request)


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Methods, errors and security headers for every request (see the module docstring)."""
    try:
        if request.method == "OPTIONS":
            response: web.StreamResponse = _options(request)
        elif request.method not in ("GET", "HEAD") and not _posts_here(request):
            response = _not_allowed(request)
        else:
            response = await handler(request)
    except web.HTTPNotFound:
        response = _not_found(request)
    except web.HTTPMethodNotAllowed:
        response = _not_allowed(request)
    except web.HTTPException as error:
        response = error_page(
            error.status, f"Fout {error.status}", f"Error {error.status}: {error.reason}"
        )
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("%s %s failed", request.method, request.rel_url.path)
        response = error_page(
            500, "Er ging iets mis aan onze kant", "Something went wrong on our side"
        )
    if "X-Content-Type-Options" not in response.headers:  # the feed's come ready-made
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
    return response


def _posts_here(request: web.Request) -> bool:
    """A POST to a route that takes one (the subscription forms); every other route reads."""
    return request.method == "POST" and request.match_info.http_exception is None


def _options(request: web.Request) -> web.StreamResponse:
    if request.path != "*" and isinstance(request.match_info.http_exception, web.HTTPNotFound):
        return _not_found(request)
    return web.Response(status=204, headers={"Allow": ALLOWED})


def _not_allowed(request: web.Request) -> web.Response:
    if isinstance(request.match_info.http_exception, web.HTTPNotFound):
        return _not_found(request)
    response = error_page(
        405,
        f"{request.method} kan hier niet; alleen lezen (GET)",
        f"{request.method} is not allowed here; only reading (GET)",
    )
    response.headers["Allow"] = ALLOWED
    return response


class _ClientErrorLog(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's server log, with a malformed request (too long a line, too many headers,
    bad syntax: anyone on the internet can send one) as one warning line instead of an
    error with a traceback; a fault of ours still logs its traceback."""

    def exception(self, msg: object, *args: object, **kwargs: Any) -> None:
        error = kwargs.get("exc_info")
        if isinstance(error, HttpProcessingError):
            said = str(msg) % args if args else str(msg)
            self.warning("%s: %s", said, " ".join(str(error.message).split())[:200])
            return
        super().exception(msg, *args, **kwargs)


class HttpService:
    """The listener and its routes; see the module docstring."""

    def __init__(
        self,
        host: str,
        port: int,
        routes: Sequence[RouteTable],
        limits: Limits = Limits(),
        not_found_page: NotFoundPage | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self._routes = [route for table in routes for route in table]
        self._limits = limits
        self._not_found_page = not_found_page
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None

    def app(self) -> web.Application:
        app = web.Application(middlewares=[guard], client_max_size=self._limits.max_body)
        app.add_routes(self._routes)
        if self._not_found_page is not None:
            app[NOT_FOUND_PAGE] = self._not_found_page
        return app

    async def start(self) -> None:
        """Bind the listener; ``OSError`` (address in use, no permission) as it comes."""
        limits = self._limits
        options: dict[str, Any] = {
            "access_log": None,  # thousands of feed requests a second must not each log a line
            "logger": _ClientErrorLog(logging.getLogger("wijkbode.http.server"), {}),
            "keepalive_timeout": limits.header_timeout,
            "max_line_size": limits.max_line_size,
            "max_field_size": limits.max_field_size,
            "max_headers": limits.max_headers,
        }
        runner = web.AppRunner(self.app(), shutdown_timeout=5.0, **options)
        await runner.setup()
        server = runner.server
        assert server is not None  # set by setup()
        loop = asyncio.get_running_loop()

        # Each connection gets our handler, not aiohttp's (so no TCPSite, which would make
        # aiohttp's); it still reports to the runner's server, which closes it at cleanup.
        def connection() -> Connection:
            return Connection(server, loop=loop, fixed=fixed_answer, **options)

        try:
            listener = await loop.create_server(
                connection, self.host, self.port, reuse_address=True, backlog=512
            )
        except BaseException:
            await runner.cleanup()
            raise
        self._runner, self._listener = runner, listener
        if self.port == 0:  # an ephemeral port (tests): the one the kernel gave
            self.port = _bound_port(listener) or 0
        log.info("HTTP op / on http://%s:%d", self.host, self.port)

    async def serve(self) -> None:
        """Serve until cancelled, then stop listening and close the connections."""
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()

    async def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()  # no new connections; the runner's cleanup closes the open ones
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
            log.info("HTTP gestopt / stopped")


def _bound_port(listener: asyncio.Server) -> int | None:
    for sock in listener.sockets:
        address = sock.getsockname()
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return None
