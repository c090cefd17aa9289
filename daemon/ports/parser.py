"""What the intake needs from a mail parser: a ``ParsedMail``, bounded in time and harm.

``connectors/mail/worker.py`` implements ``MailParser`` in a separate process
with a time limit, so a mail that makes Python's ``email`` package loop or
blow up can neither hang nor crash the daemon. Every failure (not a mail, a
timeout, a crashed worker) comes back as ``UnparseableMail`` with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from daemon.ports.mail import ParsedMail

__all__ = ["MailParser", "SenderHint"]


@dataclass(frozen=True, slots=True)
class SenderHint:
    """The little that the headers of an unreadable mail may still tell.

    Enough to say "we could not read your mail" to its sender, within RFC 3834:
    no answer to automatic, list or bounce mail.
    """

    address: str  # lowercased addr-spec of From (or Sender); "" when none
    message_id: str | None
    references: tuple[str, ...]
    subject: str
    is_auto: bool
    is_bulk_or_list: bool
    is_bounce: bool


class MailParser(Protocol):
    async def parse(self, raw: bytes) -> ParsedMail:
        """The mail understood, or ``UnparseableMail`` (its ``reason`` says why)."""
        ...

    async def ready(self) -> None:
        """Have a worker waiting (start one if none is): the time that takes is no mail's
        doing, so the intake waits for it before it charges a mail a parse attempt."""
        ...

    async def sender_hint(self, raw: bytes) -> SenderHint | None:
        """The sender of a mail ``parse`` refused, from its headers only; ``None`` if unreadable."""
        ...

    async def close(self) -> None:
        """Stop the worker; never raises."""
        ...
