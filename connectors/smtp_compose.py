"""A ``MailOut`` as SMTP sends it: the envelope and the message's bytes.

Runs in the SMTP sender process (``connectors/smtp_child.py``) with the sending:
building a message is CPU work that, once per receipt, held up the daemon's event
loop in a backlog.

International addresses: a domain outside ASCII is sent in its IDNA form
(``xn--...``), which every server takes. A local part outside ASCII
(``jdöe@...``) needs the server's SMTPUTF8 (RFC 6531).
"""

from __future__ import annotations

import email.errors
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import getaddresses

from connectors.smtp_message import build_bytes, build_utf8
from daemon.config.reader import bilingual
from daemon.errors import PermanentError
from daemon.ports.outbox import MailOut


@dataclass(frozen=True, slots=True)
class Composed:
    raw: bytes
    sender: str  # the envelope sender
    recipients: list[str]  # the envelope recipients
    utf8: bool  # needs the server's SMTPUTF8


def smtp_address(address: str) -> tuple[str, bool]:
    """``address`` as SMTP carries it, and whether that needs SMTPUTF8.

    Only a local part outside ASCII does: a domain has an ASCII (IDNA) form.
    """
    if address.isascii():
        return address, False
    local, at, domain = address.rpartition("@")
    if at and local.isascii():
        try:
            return f"{local}@{domain.encode('idna').decode('ascii')}", False
        except UnicodeError:  # not a valid IDNA name; the server may still take it as UTF-8
            pass
    return address, True


def envelope_recipients(addresses: tuple[str, ...]) -> list[str]:
    """The bare addresses of ``To`` entries that may carry display names."""
    return [addr for _, addr in getaddresses(list(addresses)) if addr]


def compose(
    mail: MailOut,
    destination: str,
    our_address: str,
    documents: Mapping[str, bytes],
    now: datetime,
) -> Composed:
    """The envelope and bytes of ``mail``; ``PermanentError`` when no retry can help."""
    found = envelope_recipients(mail.to or (destination,))
    if not found:
        raise PermanentError(bilingual("geen ontvanger", "no recipient") + f": {mail.to!r}")
    sender, sender_utf8 = smtp_address(our_address)
    recipients = [smtp_address(address) for address in found]
    utf8 = sender_utf8 or any(needs for _, needs in recipients)
    envelope = [address for address, _ in recipients]
    try:
        build = build_utf8 if utf8 else build_bytes
        raw = build(mail, sender, documents, now, to=envelope)
    except (ValueError, TypeError, email.errors.MessageError) as error:
        # A header the email package refuses (UnicodeError is a ValueError): no
        # retry builds it differently.
        raise PermanentError(
            bilingual("de mail kon niet worden opgebouwd", "the mail could not be built")
            + f": {type(error).__name__}: {error}"
        ) from error
    return Composed(raw, sender, envelope, utf8)
