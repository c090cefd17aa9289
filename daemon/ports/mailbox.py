"""The mailbox we read: raw mails by UID, IDLE as a wake-up, and moves to our folders.

``connectors/imap`` implements ``MailSource`` on imap-tools. The intake's truth
is always a UID search above the last handled UID (``fetch_after``);
``wait_for_change`` only says "look again now". A mail is never deleted and
never marked seen: when the intake has committed it, it is moved.

Folder names use ``/`` between levels (``Wijkbode/Verwerkt``); the connector
turns that into the server's own hierarchy delimiter and namespace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

__all__ = ["MailSource", "QuarantineReturn", "RawMail"]


@dataclass(frozen=True, slots=True)
class RawMail:
    """One mail exactly as the server stores it.

    ``internaldate`` is when OUR server received it (IMAP INTERNALDATE,
    timezone-aware): deadlines are judged by it, not by the sender's ``Date:``.
    ``(uidvalidity, uid)`` names the mail in its folder; ``size`` is the
    server's RFC822.SIZE, which equals ``len(raw)``.
    """

    uidvalidity: int
    uid: int
    internaldate: datetime
    raw: bytes = field(repr=False)
    size: int


class MailSource(Protocol):
    """The one folder the intake reads (``ImapConfig.folder``).

    Every method may raise ``TransientError`` (connection lost, server
    restarting: reconnect later) or ``PermanentError`` (login refused,
    certificate not trusted, folder missing: the operator must act).
    """

    async def connect(self) -> None:
        """Log in and select the folder."""
        ...

    async def close(self) -> None:
        """Log out; never raises."""
        ...

    async def uidvalidity(self) -> int:
        """The folder's UIDVALIDITY: when it changes, every UID means another mail."""
        ...

    async def fetch_after(
        self, uid: int, limit: int, max_bytes: int | None = None
    ) -> list[RawMail]:
        """Up to ``limit`` mails with a UID above ``uid``, oldest first; never marks them seen.

        With ``max_bytes`` the batch ends before the mail that would take it past that
        size, but always holds at least one mail.
        """
        ...

    async def move(
        self, uids: Sequence[int], folder: str, *, uidvalidity: int | None = None
    ) -> None:
        """Move the mails ``uids`` to ``folder`` (created when missing) in one go; nothing
        else changes.

        With ``uidvalidity`` the move is refused (``PermanentError``) when the
        folder was renumbered since, so a stale UID never moves another mail.
        Moving a mail that is already gone is not an error.
        """
        ...

    async def wait_for_change(self, timeout: float) -> None:  # noqa: ASYNC109 (IMAP IDLE's own)
        """Return when new mail may have arrived, or after at most ``timeout`` seconds."""
        ...

    async def ensure_folders(self) -> None:
        """Create the processed and quarantine folders when they are missing."""
        ...


@runtime_checkable
class QuarantineReturn(Protocol):
    """A ``MailSource`` that can put a quarantined mail back (``wijkbode quarantine retry``)."""

    async def move_back(self, folder: str, message_id: str | None, content_sha256: str) -> bool:
        """Move the mail with exactly these bytes (sha256) from our ``folder`` to the intake
        folder, where it gets a new UID; ``message_id`` narrows the search. False if absent."""
        ...
