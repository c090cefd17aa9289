"""What the daemon and its SMTP sender process (``connectors/smtp_child.py``) exchange.

Kept apart from the sessions so that the daemon, which only hands messages over,
never imports aiosmtplib.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from daemon.config.schema import SmtpConfig

FRAME = struct.Struct(">I")  # a 4-byte big-endian length before each pickle
READY = b"R"


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """What the sender process needs to open sessions (the password stays a reference)."""

    smtp: SmtpConfig
    timeout: float  # seconds per SMTP step
    idle_seconds: float  # an open session unused this long is closed
    parallel: int  # sessions at once


@dataclass(frozen=True, slots=True)
class Sent:
    """A message the server took: the answers for the recipients it refused, how many
    recipients it had, and whether a new session was opened for it."""

    refused: tuple[str, ...]
    recipients: int  # in the envelope, refused ones included
    new_session: bool
