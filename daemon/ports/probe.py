"""Connection probes: ``check-config --connect`` and ``init`` ask each outside system
whether Wijkbode could work with it, without changing anything there.

A connector's probe (``connectors/probe/``) answers with ``Finding`` values: what
it found, as a kind the CLI words in Dutch and English, the thing it is about
(a room, a folder, host:port) and the library's own detail. The core never sees
the libraries, only these kinds.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = ["CLOCK_SKEW_LIMIT_SECONDS", "Finding", "Kind", "Probe", "Severity", "clock_finding"]

# More than this between our clock and a server's Date header is reported: deadlines
# are judged by the time a mail or message arrived.
CLOCK_SKEW_LIMIT_SECONDS = 30.0


class Severity(enum.Enum):
    OK = "ok"
    WARNING = "warning"  # works, but someone should look
    ERROR = "error"  # the daemon cannot work with this connection


class Kind(enum.Enum):
    """What a probe found; each has its own bilingual wording in the CLI."""

    CONNECTED = "connected"  # logged in / reachable
    UNREACHABLE = "unreachable"  # refused, timed out, no such host
    NOT_MATRIX = "not_matrix"  # a server answers there, but not the Matrix client API
    LOGIN_REFUSED = "login_refused"  # wrong user name, password or token
    CERTIFICATE = "certificate"  # the server's certificate is not trusted
    TLS_FAILED = "tls_failed"  # no STARTTLS, a handshake that failed otherwise
    SECRET_MISSING = "secret_missing"  # noqa: S105 (a kind, not a secret): the password file or variable is not there
    ROOM_NOT_FOUND = "room_not_found"  # the alias leads nowhere
    ROOM_NOT_JOINED = "room_not_joined"  # the bot is not a member
    ROOM_OK = "room_ok"
    NO_POWER_TO_POST = "no_power_to_post"  # member, but may not send messages
    ENCRYPTED_UNVERIFIED = "encrypted_unverified"  # encrypted room, device not cross-signed
    ENCRYPTED_NOT_CHECKED = "encrypted_not_checked"  # encrypted room, no device yet
    FOLDER_MISSING = "folder_missing"
    FOLDER_OK = "folder_ok"
    FOLDER_CREATED_LATER = "folder_created_later"  # Wijkbode makes it at first use
    CALENDAR_MISSING = "calendar_missing"
    CALENDAR_OK = "calendar_ok"
    CALENDAR_CREATED_LATER = "calendar_created_later"  # Wijkbode makes it at first write
    PORT_TAKEN = "port_taken"
    PORT_FREE = "port_free"
    CLOCK_SKEW = "clock_skew"
    CLOCK_OK = "clock_ok"  # the server's Date header agrees with our clock
    FAILED = "failed"  # anything else; the detail says what


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a probe found about one connection."""

    connector: str  # "matrix", "imap", "smtp", "caldav", "http"
    kind: Kind
    severity: Severity
    subject: str = ""  # the room, folder, calendar or host:port it is about
    detail: str = ""  # the server's or library's own words, untranslated


# A probe runs on its own: it opens, looks and closes, and never raises for a
# connection problem (that is a Finding); a bug of ours still raises.
Probe = Callable[[], Awaitable[list[Finding]]]


def clock_finding(connector: str, server: str, skew_seconds: float) -> Finding:
    """``CLOCK_SKEW`` when the server's clock is too far from ours, else ``CLOCK_OK``.

    ``skew_seconds``: the server's Date header minus our clock (positive: the
    server is ahead)."""
    if abs(skew_seconds) <= CLOCK_SKEW_LIMIT_SECONDS:
        return Finding(connector, Kind.CLOCK_OK, Severity.OK, server, f"{skew_seconds:+.0f}")
    return Finding(connector, Kind.CLOCK_SKEW, Severity.ERROR, server, f"{skew_seconds:+.0f}")
