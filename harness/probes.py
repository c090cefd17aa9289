"""Readiness probes: a server is ready when it speaks its protocol, not when a port opens."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

ReadyProbe = Callable[[], Awaitable[None]]
"""Returns when the server answers properly; raises ``NotReadyError`` or ``OSError`` if not."""


class NotReadyError(Exception):
    """The server answered, but not (yet) with the expected greeting or status."""


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    # The peer may already have gone; the probe's verdict is what counts.
    with contextlib.suppress(OSError, ssl.SSLError):
        await writer.wait_closed()


def greeting_probe(
    host: str, port: int, prefix: bytes, ssl_context: ssl.SSLContext | None = None
) -> ReadyProbe:
    """Probe that reads the first line a server sends and checks it starts with ``prefix``."""

    async def probe() -> None:
        reader, writer = await asyncio.open_connection(
            host, port, ssl=ssl_context, server_hostname=host if ssl_context else None
        )
        try:
            line = await reader.readline()
        finally:
            await _close(writer)
        if not line.startswith(prefix):
            raise NotReadyError(f"{host}:{port} greeted with {line[:80]!r}, wanted {prefix!r}")

    return probe


async def http_status(url: str, ssl_context: ssl.SSLContext | None = None) -> int:
    """Send one ``GET`` to ``url`` and return the HTTP status code."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = parts.path or "/"
    reader, writer = await asyncio.open_connection(host, port, ssl=ssl_context)
    try:
        request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
        writer.write(request.encode("ascii"))
        await writer.drain()
        status_line = await reader.readline()
    finally:
        await _close(writer)
    fields = status_line.split()
    if len(fields) < 2 or not fields[0].startswith(b"HTTP/1.") or not fields[1].isdigit():
        raise NotReadyError(f"{url} answered {status_line[:80]!r}, not an HTTP status line")
    return int(fields[1])


def http_probe(url: str, ok_statuses: range = range(200, 400)) -> ReadyProbe:
    """Probe that does a ``GET`` on ``url`` and wants a status in ``ok_statuses``."""

    async def probe() -> None:
        status = await http_status(url)
        if status not in ok_statuses:
            raise NotReadyError(f"{url} answered HTTP {status}")

    return probe


def all_of(*probes: ReadyProbe) -> ReadyProbe:
    """Probe that passes when every given probe passes, checked one after another."""

    async def probe() -> None:
        for each in probes:
            await each()

    return probe
