"""caldav and network failures translated into Wijkbode's TransientError / PermanentError.

Transient: the server cannot be reached, timed out, answered 5xx, asked to
slow down (429), or the event changed between reading and writing it (412).
Permanent: the login or the calendar is refused or gone (401, 403, 404) and
any other 4xx: trying the same request again cannot help until someone acts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from caldav.lib import error as dav_error

from daemon.config.reader import bilingual
from daemon.errors import ConfigError, PermanentError, TransientError

# Statuses after which the operator must act (credentials, rights, URL, calendar name).
_ACCESS_HINTS = {
    401: bilingual(
        "CalDAV weigert de inlog; controleer [caldav] username en password",
        "login refused; check [caldav] username and password",
    ),
    403: bilingual(
        "CalDAV weigert de toegang; heeft deze gebruiker rechten op de kalender?",
        "access forbidden; may this user write to the calendar?",
    ),
    404: bilingual(
        "CalDAV-adres of kalender niet gevonden; controleer [caldav] url",
        "CalDAV URL or calendar not found; check [caldav] url",
    ),
}
_CONFLICT = 412  # If-Match failed: someone changed the event since we read it


def classify(failure: dav_error.DAVError, what: str) -> TransientError | PermanentError:
    """The Wijkbode error for a caldav ``DAVError`` raised while doing ``what``."""
    if isinstance(failure, dav_error.RateLimitError):
        return TransientError(f"{what}: rate limited: {failure}", failure.retry_after_seconds)
    status = failure.status
    if status in _ACCESS_HINTS:
        return PermanentError(f"{what}: HTTP {status}: {_ACCESS_HINTS[status]}")
    if status is None or status >= 500 or status == _CONFLICT:
        return TransientError(f"{what}: {_describe(failure)}")
    return PermanentError(f"{what}: {_describe(failure)}")


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Raise caldav, network and secret failures inside as TransientError / PermanentError."""
    try:
        yield
    except dav_error.DAVError as failure:
        raise classify(failure, what) from failure
    except OSError as failure:  # niquests' ConnectionError and Timeout are OSErrors too
        raise TransientError(f"{what}: {type(failure).__name__}: {failure}") from failure
    except ConfigError as failure:  # the password secret could not be read
        raise PermanentError(f"{what}: {failure}") from failure


def _describe(failure: dav_error.DAVError) -> str:
    status = f"HTTP {failure.status} " if failure.status is not None else ""
    return f"{status}{type(failure).__name__}: {failure.reason}"
