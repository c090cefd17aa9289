"""imaplib and imap-tools failures translated into TransientError / PermanentError.

Transient: the connection broke or timed out, the server said BYE or
answered a command with NO/BAD (a restart, a full disk). Permanent: the
operator must act (login refused, certificate not trusted, folder missing,
no STARTTLS); the intake keeps retrying those slowly, since a password may
just be rotating.
"""

from __future__ import annotations

import imaplib
import ssl
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from imap_tools.errors import (
    MailboxFolderSelectError,
    MailboxLoginError,
    MailboxStarttlsError,
    UnexpectedCommandStatusError,
)

from daemon.config.reader import bilingual
from daemon.errors import ConfigError, PermanentError, TransientError, WijkbodeError

# What imaplib and imap-tools raise; anything else is a bug of ours and propagates.
# IMAP4.abort (EOF, BYE) and IMAP4.error (NO/BAD) both derive from IMAP4.error.
LIBRARY_ERRORS = (OSError, imaplib.IMAP4.error, UnexpectedCommandStatusError)

P = ParamSpec("P")
T = TypeVar("T")


def translated_call(what: str, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``call``; any library failure comes out as our ``TransientError``/``PermanentError``."""
    try:
        return call(*args, **kwargs)
    except WijkbodeError as error:
        if isinstance(error, ConfigError):  # a secret file that vanished: the operator's job
            raise PermanentError(str(error)) from error
        raise
    except LIBRARY_ERRORS as error:
        raise translate(what, error) from error


def translate(what: str, error: BaseException) -> TransientError | PermanentError:
    """The Wijkbode error for a failure of the IMAP step ``what``."""
    detail = _detail(error)
    if isinstance(error, MailboxLoginError):
        return PermanentError(
            bilingual(
                f"IMAP-server weigert de login: {detail}",
                "IMAP login refused; check mail.imap.username and the password or token",
            )
        )
    if isinstance(error, ssl.SSLCertVerificationError):
        return PermanentError(
            bilingual(
                f"certificaat van de IMAP-server niet vertrouwd: {detail}",
                "server certificate not trusted; set mail.imap.ca_file for a private CA",
            )
        )
    if isinstance(error, MailboxStarttlsError):
        return PermanentError(
            bilingual(
                f"IMAP-server biedt geen STARTTLS: {detail}",
                "server refused STARTTLS; use security 'tls' on port 993",
            )
        )
    if isinstance(error, MailboxFolderSelectError):
        return PermanentError(
            bilingual(
                f"IMAP-map kan niet geopend worden: {detail}",
                "cannot select the folder; check mail.imap.folder",
            )
        )
    return TransientError(f"IMAP {what}: {detail}")


def _detail(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
