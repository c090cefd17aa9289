"""matrix-nio failures translated into Wijkbode's TransientError / PermanentError."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import aiohttp
import nio

from daemon.errors import PermanentError, TransientError

# Error codes after which retrying the same request cannot help.
PERMANENT_CODES = frozenset(
    {
        "M_FORBIDDEN",  # kicked, banned, or not allowed to post
        "M_UNKNOWN_TOKEN",  # the device was logged out elsewhere
        "M_NOT_FOUND",
        "M_BAD_JSON",
        "M_NOT_JSON",
        "M_TOO_LARGE",
        "M_INVALID_PARAM",
        "M_USER_DEACTIVATED",
    }
)

# Synapse's words when a member-only request comes from someone not (or no longer) in
# the room: "User @wijkbode:x not in room !r:x (None)" / "... is not in room ...".
_NOT_IN_ROOM = ("not in room", "not a member")

T = TypeVar("T")


class NotInRoomError(TransientError):
    """We are not (yet) in the room: an invite not accepted yet, or a join not synced yet.

    Transient, because at a first start the outbox may be quicker than the invite's
    acceptance; the client joins before the next attempt. A room we were kicked or
    banned from stays refused: the Matrix channel parks the row after
    ``NOT_IN_ROOM_ATTEMPTS`` (connectors/matrix/channel.py).
    """


def check(response: T, what: str) -> T:
    """Return ``response`` unless it is an nio error response, which is raised translated."""
    if isinstance(response, nio.ErrorResponse):
        raise error_from_response(response, what)
    return response


def error_from_response(response: Any, what: str) -> TransientError | PermanentError:
    """The Wijkbode error for an nio ``ErrorResponse``."""
    code = getattr(response, "status_code", None)
    message = f"{what}: {code or 'error'} {getattr(response, 'message', '')}".strip()
    if code == "M_LIMIT_EXCEEDED":
        retry_ms = getattr(response, "retry_after_ms", None)
        return TransientError(message, retry_after=(retry_ms or 5000) / 1000)
    if code == "M_FORBIDDEN" and is_not_in_room(str(getattr(response, "message", ""))):
        return NotInRoomError(message)
    if code in PERMANENT_CODES:
        return PermanentError(message)
    return TransientError(message)


def is_not_in_room(message: str) -> bool:
    """Whether an M_FORBIDDEN's message says we are not a member (not "not allowed")."""
    lowered = message.lower()
    return any(words in lowered for words in _NOT_IN_ROOM)


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Turn network-level exceptions from nio/aiohttp into ``TransientError``."""
    try:
        yield
    except (aiohttp.ClientError, TimeoutError, ConnectionError) as error:
        raise TransientError(f"{what}: {type(error).__name__}: {error}") from error
    except nio.LocalProtocolError as error:
        raise PermanentError(f"{what}: {error}") from error
