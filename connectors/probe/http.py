"""Probe the HTTP listen address: can Wijkbode bind it? And a server's Date header."""

from __future__ import annotations

import errno
import socket
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from daemon.config.schema import HttpConfig
from daemon.ports.probe import Finding, Kind, Severity

NAME = "http"


async def probe_http(config: HttpConfig) -> list[Finding]:
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # As aiohttp binds: SO_REUSEADDR, so a port in TIME_WAIT counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((config.host, config.port))
        except OSError as error:
            kind = Kind.PORT_TAKEN if error.errno == errno.EADDRINUSE else Kind.FAILED
            detail = error.strerror or str(error)
            return [Finding(NAME, kind, Severity.ERROR, config.listen, detail)]
    return [Finding(NAME, Kind.PORT_FREE, Severity.OK, config.listen)]


def skew_from_date(header: str | None, now: datetime) -> float | None:
    """Seconds the server's ``Date`` header is ahead of ``now`` (None: no usable header).

    The header has whole seconds, so up to a second of skew is its rounding."""
    if not header:
        return None
    try:
        server = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if server.tzinfo is None:
        server = server.replace(tzinfo=UTC)
    return (server - now).total_seconds()
