"""SMTP sessions on aiosmtplib: a pool of open sessions that carries a run of messages.

A session (TCP, STARTTLS, AUTH) carries a run of messages and is closed after
``idle_seconds`` without one, or after any error (the next message connects
afresh); the TLS context, which loads the CA bundle, is built once. Up to
``parallel`` sessions send at once. Errors come out as the core's
``TransientError`` (may heal by itself: 4xx, a server that is down or slow, our
own login or TLS setup awaiting a fix) or ``PermanentError`` (5xx: the mail or
its recipients are refused).

This runs in the SMTP sender's own process (``connectors/smtp_child.py``), so a
backlog's TLS and protocol work does not hold the daemon's event loop.
"""

from __future__ import annotations

import asyncio
import ssl

import aiosmtplib

from connectors.smtp_protocol import Sent, SessionSettings
from connectors.tls import client_context
from daemon.config.reader import bilingual
from daemon.config.schema import SmtpConfig
from daemon.errors import ConfigError, PermanentError, TransientError

NO_SMTPUTF8 = bilingual(
    "de mailserver accepteert geen internationale adressen",
    "the mail server does not accept international addresses",
)
SMTPUTF8 = "SMTPUTF8"


class SmtpSessions:
    """Sends raw messages over pooled aiosmtplib sessions; see the module."""

    def __init__(self, settings: SessionSettings) -> None:
        self._settings = settings
        self._tls: ssl.SSLContext | None = None
        self._slots = asyncio.Semaphore(max(1, settings.parallel))
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []  # open sessions, since when idle
        self._reaper: asyncio.TimerHandle | None = None
        self._closing: set[asyncio.Task[None]] = set()

    async def send(self, raw: bytes, recipients: list[str], *, sender: str, utf8: bool) -> Sent:
        async with self._slots:
            try:
                client, new = await self._session()
            except (aiosmtplib.SMTPException, OSError) as error:
                raise translate(error) from error
            try:
                refused, _ = await client.sendmail(
                    sender, recipients, raw, mail_options=[SMTPUTF8] if utf8 else None
                )
            except (aiosmtplib.SMTPException, OSError) as error:
                # A session in an unknown state is not reused: the next message starts afresh.
                await quit_session(client)
                raise translate(error) from error
            except UnicodeError as error:
                # An address the server would need SMTPUTF8 for slipped past smtp_address.
                await quit_session(client)
                raise PermanentError(f"{NO_SMTPUTF8}: {error}") from error
            except BaseException:
                await asyncio.shield(quit_session(client))
                raise
            self._give_back(client)
        return Sent(tuple(str(answer) for answer in refused.values()), len(recipients), new)

    async def close(self) -> None:
        """End the idle sessions (sends have finished by then); never raises."""
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        idle, self._idle = self._idle, []
        await asyncio.gather(*(quit_session(client) for client, _ in idle), *self._closing)

    async def _session(self) -> tuple[aiosmtplib.SMTP, bool]:
        """An idle open session, or a new one: connected, TLS as configured, logged in."""
        while self._idle:
            client, _ = self._idle.pop()
            if client.is_connected:
                return client, False
        smtp = self._settings.smtp
        try:
            password = await asyncio.to_thread(smtp.password.reveal) if smtp.password else None
        except ConfigError as error:
            raise TransientError(str(error)) from error  # delivery resumes once the file is back
        if self._tls is None and smtp.security != "none":
            self._tls = client_context(smtp.ca_file)
        client = new_client(smtp, password, self._tls, self._settings.timeout)
        await client.connect()
        return client, True

    def _give_back(self, client: aiosmtplib.SMTP) -> None:
        self._idle.append((client, asyncio.get_running_loop().time()))
        if self._reaper is None:
            self._reaper = asyncio.get_running_loop().call_later(
                self._settings.idle_seconds, self._close_idle
            )

    def _close_idle(self) -> None:
        """End the sessions idle for ``idle_seconds``; look again when the next one will be."""
        self._reaper = None
        idle_seconds = self._settings.idle_seconds
        now = asyncio.get_running_loop().time()
        stale = [entry for entry in self._idle if now - entry[1] >= idle_seconds]
        for entry in stale:
            self._idle.remove(entry)
            task = asyncio.create_task(quit_session(entry[0]))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        if self._idle:
            oldest = min(since for _, since in self._idle)
            self._reaper = asyncio.get_running_loop().call_later(
                max(0.0, oldest + idle_seconds - now), self._close_idle
            )


def new_client(
    smtp: SmtpConfig, password: str | None, tls: ssl.SSLContext | None, timeout: float
) -> aiosmtplib.SMTP:
    """An unconnected client for the configured server: TLS as configured, login if a
    username is set. The daemon's sessions and ``check-config --connect`` both use it."""
    return aiosmtplib.SMTP(
        hostname=smtp.host,
        port=smtp.port,
        username=smtp.username,
        password=password if smtp.username else None,
        use_tls=smtp.security == "tls",
        start_tls=smtp.security == "starttls",  # False, not None: never opportunistic
        tls_context=tls,
        timeout=timeout,
    )


async def quit_session(client: aiosmtplib.SMTP) -> None:
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
    if isinstance(error, aiosmtplib.SMTPNotSupported) and SMTPUTF8 in str(error).upper():
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
