"""The outbox's mail ``Channel`` on aiosmtplib: one ``MailOut`` becomes one message.

The message carries the payload's fixed Message-ID, so a resend after a crash
or an unconfirmed attempt is recognisably the same mail. Each delivery opens
a fresh connection (simple, and nothing goes stale between the few mails an
hour Wijkbode sends). A refusal of the mail or of its recipients (5xx) parks
the effect (``PermanentError``); everything that may heal by itself (4xx, a
server that is down or slow, our own login or TLS setup awaiting a fix) is a
``TransientError`` and retried with backoff.
"""

from __future__ import annotations

import asyncio
import email.policy
import logging
import ssl
from collections.abc import Mapping
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses

import aiosmtplib

from connectors.tls import client_context
from daemon.clock import Clock, SystemClock
from daemon.config.reader import bilingual
from daemon.config.schema import MailConfig
from daemon.errors import ConfigError, PermanentError, TransientError
from daemon.model import DocumentHash
from daemon.ports.outbox import ChannelName, Effect, MailOut
from daemon.store.documents import DocumentStore

log = logging.getLogger(__name__)

SENDER_NAME = "Wijkbode"
DEFAULT_TIMEOUT = 60.0  # seconds per SMTP step

# CRLF line ends, and 8-bit text encoded (quoted-printable or base64), so the
# mail needs no 8BITMIME from any server on its way.
POLICY = email.policy.SMTP.clone(cte_type="7bit")


def build_message(
    mail: MailOut, sender: str, documents: Mapping[str, bytes], now: datetime
) -> EmailMessage:
    """The message for ``mail`` from ``sender``; ``documents`` holds each attachment by sha256."""
    message = EmailMessage(policy=POLICY)
    message["From"] = Address(display_name=SENDER_NAME, addr_spec=sender)
    message["To"] = ", ".join(mail.to)
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = mail.message_id
    if mail.in_reply_to:
        message["In-Reply-To"] = mail.in_reply_to
    if mail.references:
        message["References"] = " ".join(mail.references)
    if mail.auto_submitted:
        message["Auto-Submitted"] = mail.auto_submitted  # RFC 3834
        message["X-Auto-Response-Suppress"] = "All"  # no out-of-office replies to it
    message.set_content(mail.text)
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
    for document in mail.attachments:
        maintype, _, subtype = document.content_type.partition("/")
        if not (maintype and subtype) or maintype == "multipart":
            maintype, subtype = "application", "octet-stream"
        message.add_attachment(
            documents[document.sha256], maintype=maintype, subtype=subtype,
            filename=document.filename,
        )  # fmt: skip
    return message


def envelope_recipients(addresses: tuple[str, ...]) -> list[str]:
    """The bare addresses of ``To`` entries that may carry display names."""
    return [addr for _, addr in getaddresses(list(addresses)) if addr]


class SmtpChannel:
    """Delivers ``MailOut`` effects through the configured submission server."""

    def __init__(
        self,
        config: MailConfig,
        documents: DocumentStore,
        *,
        clock: Clock | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._config = config
        self._documents = documents
        self._clock = clock or SystemClock()
        self._timeout = timeout

    @property
    def name(self) -> ChannelName:
        return ChannelName.MAIL

    async def deliver(self, effect: Effect) -> str:
        """Send the effect's mail; its Message-ID is the remote id."""
        mail = effect.payload
        if not isinstance(mail, MailOut):
            raise PermanentError(f"mail channel got a {type(mail).__name__}, not a MailOut")
        recipients = envelope_recipients(mail.to or (effect.destination,))
        if not recipients:
            raise PermanentError(bilingual("geen ontvanger", "no recipient") + f": {mail.to!r}")
        documents = {d.sha256: await self._document(d.sha256) for d in mail.attachments}
        message = build_message(mail, self._config.address, documents, self._clock.now())
        await self._send(message.as_bytes(policy=POLICY), recipients)
        return mail.message_id

    async def _document(self, sha256: str) -> bytes:
        try:
            return await self._documents.get(DocumentHash(sha256))
        except (OSError, ValueError) as error:
            raise PermanentError(
                bilingual(
                    f"bijlage {sha256} ontbreekt in de opslag",
                    f"attachment missing from the document store: {error}",
                )
            ) from error

    async def _send(self, raw: bytes, recipients: list[str]) -> None:
        smtp = self._config.smtp
        try:
            password = await asyncio.to_thread(smtp.password.reveal) if smtp.password else None
        except ConfigError as error:
            raise TransientError(str(error)) from error  # delivery resumes once the file is back
        try:
            refused, _ = await aiosmtplib.send(
                raw,
                sender=self._config.address,
                recipients=recipients,
                hostname=smtp.host,
                port=smtp.port,
                username=smtp.username,
                password=password if smtp.username else None,
                use_tls=smtp.security == "tls",
                start_tls=smtp.security == "starttls",  # False, not None: never opportunistic
                tls_context=None if smtp.security == "none" else client_context(smtp.ca_file),
                timeout=self._timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as error:
            raise translate(error) from error
        if refused:
            # The others have it: a retry would send it to them twice.
            log.warning("mail deels geweigerd / partly refused: %s", _refusals(refused))


def translate(error: aiosmtplib.SMTPException | OSError) -> TransientError | PermanentError:
    """The Wijkbode error for a failed SMTP delivery."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        text = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in error.recipients)
        if all(r.code >= 500 for r in error.recipients):
            return PermanentError(bilingual("adres geweigerd", "address rejected") + f": {text}")
        return TransientError(f"SMTP recipients deferred: {text}")
    if isinstance(error, aiosmtplib.SMTPAuthenticationError):
        return TransientError(
            bilingual(
                f"SMTP-login geweigerd: {error.code} {error.message}",
                "SMTP login refused; check mail.smtp.username and the password",
            )
        )
    if isinstance(error, aiosmtplib.SMTPResponseException) and error.code >= 500:
        detail = f"{error.code} {error.message}"
        return PermanentError(bilingual("mail geweigerd", "mail rejected") + f": {detail}")
    if isinstance(error, ssl.SSLCertVerificationError):
        return TransientError(
            bilingual(
                f"certificaat van de SMTP-server niet vertrouwd: {error}",
                "server certificate not trusted; set mail.smtp.ca_file for a private CA",
            )
        )
    return TransientError(f"SMTP: {type(error).__name__}: {error}")


def _refusals(refused: Mapping[str, object]) -> str:
    return "; ".join(f"{address}: {response}" for address, response in refused.items())
