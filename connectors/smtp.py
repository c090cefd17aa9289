"""The outbox's mail ``Channel`` on aiosmtplib: one ``MailOut`` becomes one message.

The message carries the payload's fixed Message-ID, so a resend after a crash
or an unconfirmed attempt is recognisably the same mail. A session (TCP,
STARTTLS, AUTH) carries a run of messages and is closed after ``idle_seconds``
without one, or after any error (the next delivery connects afresh); the TLS
context, which loads the CA bundle, is built once per channel. Up to
``parallel`` sessions send at once (the dispatcher delivers that many
destinations side by side), so a backlog's receipts cost one message each, not
one session each, and do not wait for each other's round trips. A refusal of
the mail or of its recipients (5xx) parks the effect (``PermanentError``);
everything that may heal by itself (4xx, a server that is down or slow, our own
login or TLS setup awaiting a fix) is a ``TransientError`` and retried with
backoff.

International addresses: a domain outside ASCII is sent in its IDNA form
(``xn--...``), which every server takes. A local part outside ASCII
(``jdöe@...``) needs the server's SMTPUTF8 (RFC 6531); without it the row is
parked with a plain reason, since no retry will change the server.
"""

from __future__ import annotations

import asyncio
import email.errors
import email.policy
import logging
import ssl
from email.utils import getaddresses

import aiosmtplib

from connectors.smtp_message import build_bytes, build_utf8
from connectors.tls import client_context
from daemon.clock import Clock, SystemClock
from daemon.config.reader import bilingual
from daemon.config.schema import MailConfig
from daemon.errors import ConfigError, PermanentError, TransientError
from daemon.model import DocumentHash
from daemon.ports.outbox import ChannelName, Effect, MailOut
from daemon.store.documents import DocumentStore

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 60.0  # seconds per SMTP step
# Well under the five minutes RFC 5321 §4.5.3.2 lets a server wait, so the server
# rarely closes a session we still count on.
DEFAULT_IDLE_SECONDS = 20.0
DEFAULT_PARALLEL = 4  # sessions at once; a small site's server allows this many per login


NO_SMTPUTF8 = bilingual(
    "de mailserver accepteert geen internationale adressen",
    "the mail server does not accept international addresses",
)
_SMTPUTF8 = "SMTPUTF8"


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


class SmtpChannel:
    """Delivers ``MailOut`` effects through the configured submission server."""

    def __init__(
        self,
        config: MailConfig,
        documents: DocumentStore,
        *,
        clock: Clock | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        idle_seconds: float = DEFAULT_IDLE_SECONDS,
        parallel: int = DEFAULT_PARALLEL,
    ) -> None:
        self._config = config
        self._documents = documents
        self._clock = clock or SystemClock()
        self._timeout = timeout
        self._idle_seconds = idle_seconds
        self.parallel = max(1, parallel)
        self._tls: ssl.SSLContext | None = None
        self._slots = asyncio.Semaphore(self.parallel)
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []  # open sessions, since when idle
        self._reaper: asyncio.TimerHandle | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self.sessions = 0  # sessions opened so far (for tests and the benchmarks)

    @property
    def name(self) -> ChannelName:
        return ChannelName.MAIL

    async def deliver(self, effect: Effect) -> str:
        """Send the effect's mail; its Message-ID is the remote id."""
        mail = effect.payload
        if not isinstance(mail, MailOut):
            raise PermanentError(f"mail channel got a {type(mail).__name__}, not a MailOut")
        found = envelope_recipients(mail.to or (effect.destination,))
        if not found:
            raise PermanentError(bilingual("geen ontvanger", "no recipient") + f": {mail.to!r}")
        sender, sender_utf8 = smtp_address(self._config.address)
        recipients = [smtp_address(address) for address in found]
        utf8 = sender_utf8 or any(needs for _, needs in recipients)
        envelope = [address for address, _ in recipients]
        documents = {d.sha256: await self._document(d.sha256) for d in mail.attachments}
        try:
            build = build_utf8 if utf8 else build_bytes
            raw = build(mail, sender, documents, self._clock.now(), to=envelope)
        except (ValueError, TypeError, email.errors.MessageError) as error:
            # A header the email package refuses (UnicodeError is a ValueError): no
            # retry builds it differently.
            raise PermanentError(
                bilingual("de mail kon niet worden opgebouwd", "the mail could not be built")
                + f": {type(error).__name__}: {error}"
            ) from error
        try:
            await self._send(raw, envelope, sender=sender, utf8=utf8)
        except UnicodeError as error:
            # An address the server would need SMTPUTF8 for slipped past smtp_address.
            raise PermanentError(f"{NO_SMTPUTF8}: {error}") from error
        return mail.message_id

    async def close(self) -> None:
        """End the idle sessions (deliveries have finished by then); never raises."""
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        idle, self._idle = self._idle, []
        await asyncio.gather(*(_quit(client) for client, _ in idle), *self._closing)

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

    async def _send(self, raw: bytes, recipients: list[str], *, sender: str, utf8: bool) -> None:
        async with self._slots:
            try:
                client = await self._session()
            except (aiosmtplib.SMTPException, OSError) as error:
                raise translate(error) from error
            try:
                refused, _ = await client.sendmail(
                    sender, recipients, raw, mail_options=[_SMTPUTF8] if utf8 else None
                )
            except (aiosmtplib.SMTPException, OSError) as error:
                # A session in an unknown state is not reused: the next delivery starts afresh.
                await _quit(client)
                raise translate(error) from error
            except BaseException:
                await asyncio.shield(_quit(client))
                raise
            self._give_back(client)
        if refused:
            # The others have it: a retry would send it to them twice.
            # How many, not who: the log keeps no addresses (the responses may name them,
            # the log formatter masks those).
            log.warning(
                "mail deels geweigerd / partly refused: %d of %d recipients: %s",
                len(refused),
                len(recipients),
                "; ".join(map(str, refused.values())),
            )

    async def _session(self) -> aiosmtplib.SMTP:
        """An idle open session, or a new one: connected, TLS as configured, logged in."""
        while self._idle:
            client, _ = self._idle.pop()
            if client.is_connected:
                return client
        smtp = self._config.smtp
        try:
            password = await asyncio.to_thread(smtp.password.reveal) if smtp.password else None
        except ConfigError as error:
            raise TransientError(str(error)) from error  # delivery resumes once the file is back
        if self._tls is None and smtp.security != "none":
            self._tls = client_context(smtp.ca_file)
        client = aiosmtplib.SMTP(
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.username,
            password=password if smtp.username else None,
            use_tls=smtp.security == "tls",
            start_tls=smtp.security == "starttls",  # False, not None: never opportunistic
            tls_context=self._tls,
            timeout=self._timeout,
        )
        await client.connect()
        self.sessions += 1
        return client

    def _give_back(self, client: aiosmtplib.SMTP) -> None:
        self._idle.append((client, asyncio.get_running_loop().time()))
        if self._reaper is None:
            self._reaper = asyncio.get_running_loop().call_later(
                self._idle_seconds, self._close_idle
            )

    def _close_idle(self) -> None:
        """End the sessions idle for ``idle_seconds``; look again when the next one will be."""
        self._reaper = None
        now = asyncio.get_running_loop().time()
        stale = [entry for entry in self._idle if now - entry[1] >= self._idle_seconds]
        for entry in stale:
            self._idle.remove(entry)
            task = asyncio.create_task(_quit(entry[0]))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        if self._idle:
            oldest = min(since for _, since in self._idle)
            self._reaper = asyncio.get_running_loop().call_later(
                max(0.0, oldest + self._idle_seconds - now), self._close_idle
            )


async def _quit(client: aiosmtplib.SMTP) -> None:
    """End a session politely if it is still open; never raises."""
    if not client.is_connected:
        return
    try:
        async with asyncio.timeout(5.0):
            await client.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        client.close()


def translate(error: aiosmtplib.SMTPException | OSError) -> TransientError | PermanentError:
    """The Wijkbode error for a failed SMTP delivery."""
    if isinstance(error, aiosmtplib.SMTPNotSupported) and _SMTPUTF8 in str(error).upper():
        return PermanentError(f"{NO_SMTPUTF8}: {error}")
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
