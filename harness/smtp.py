"""The loopback MTA: an aiosmtpd relay that hands local mail to Dovecot over LMTP
and captures everything else, which is how tests and the demo see outgoing mail."""

from __future__ import annotations

import asyncio
import email
import email.policy
import mailbox
import smtplib
import ssl
import threading
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import aiosmtplib
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from harness.ports import LOOPBACK, free_port
from harness.tls import SelfSignedCert

SmtpMode = Literal["plain", "starttls", "tls"]
"""``plain``: no TLS; ``starttls``: STARTTLS required first; ``tls``: implicit TLS."""

# LMTP extensions that may carry a MAIL FROM parameter we received.
_MAIL_OPTION_EXTENSIONS = {"BODY": "8bitmime", "SMTPUTF8": "smtputf8"}


@dataclass(frozen=True)
class CapturedMail:
    """One message the relay kept instead of delivering: envelope plus the bytes received."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes

    @cached_property
    def message(self) -> EmailMessage:
        """The raw bytes parsed with the modern ``email`` policy."""
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


MailPredicate = Callable[[EmailMessage], bool]


@dataclass
class LmtpTarget:
    """Where local recipients go: Dovecot's LMTP listener."""

    host: str
    port: int


def domain_of(address: str) -> str:
    """The lower-cased domain of an address (empty for a bare local part)."""
    return address.rpartition("@")[2].lower() if "@" in address else ""


class _RelayHandler:
    """aiosmtpd handler; runs on the Controller's own thread and event loop."""

    def __init__(self, relay: SmtpRelay) -> None:
        self.relay = relay

    async def handle_RCPT(  # noqa: N802 -- aiosmtpd hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not self.relay.is_local(address) and not self.relay.may_relay(session):
            return "550 5.7.1 Relaying denied: authenticate first"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 -- aiosmtpd hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        mail_from = envelope.mail_from or ""
        local = [r for r in envelope.rcpt_tos if self.relay.is_local(r)]
        remote = [r for r in envelope.rcpt_tos if not self.relay.is_local(r)]
        if local:
            # Deliver locally first: on a temporary failure the sender retries the
            # whole message, and nothing must have been captured yet.
            problem = await asyncio.to_thread(
                self.relay.deliver_lmtp, mail_from, local, raw, envelope.mail_options
            )
            if problem is not None:
                return problem
        if remote:
            self.relay.capture(CapturedMail(mail_from, tuple(remote), raw))
        return "250 OK: queued"


@dataclass
class CaptureView:
    """The captured mail from one moment on: a clean outbox per test."""

    relay: SmtpRelay
    start: int = field(default=0)

    def mail(self) -> list[CapturedMail]:
        """Captured mail (with envelope) since this view was made."""
        return self.relay.captured_mail()[self.start :]

    def messages(self) -> list[EmailMessage]:
        """Captured messages since this view was made."""
        return [m.message for m in self.mail()]

    async def wait_for(
        self,
        predicate: MailPredicate,
        timeout: float = 10.0,  # noqa: ASYNC109 -- the wait runs in a thread, not on the loop
    ) -> EmailMessage:
        """The first message since this view that matches; ``TimeoutError`` otherwise."""
        return await self.relay.wait_for(predicate, timeout, since=self.start)


class _SessionController(Controller):
    """A ``Controller`` that knows its open connections, so an outage can close them.

    aiosmtpd's ``stop`` only cancels the sessions' tasks and stops its loop: a client
    still connected then leaves a socket nobody closes (a ResourceWarning, an error
    under ``filterwarnings = error``) instead of seeing the connection drop."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()

    def factory(self) -> SMTP:
        session = SMTP(self.handler, **self.SMTP_kwargs)
        self.sessions.add(session)
        return session

    def drop_sessions(self) -> None:
        """Close every open connection (from another thread), as a server going down does."""

        async def close_all() -> None:
            for session in list(self.sessions):
                if session.transport is not None:
                    session.transport.abort()
            await asyncio.sleep(0)  # let each connection_lost run and release its socket
            await asyncio.sleep(0)

        if self.loop.is_running():
            asyncio.run_coroutine_threadsafe(close_all(), self.loop).result(10)


class SmtpRelay:
    """aiosmtpd ``Controller`` on loopback acting as the site's MTA.

    Recipients at ``local_domains`` go to Dovecot over LMTP; all others are
    captured in memory and in the Maildir ``root/captured``. With ``users``
    the relay offers AUTH (after TLS unless ``mode`` is plain), and with
    ``relay_requires_auth`` only authenticated clients may send to
    non-local recipients, as on a real submission server. ``smtputf8`` makes it
    offer SMTPUTF8 (RFC 6531, addresses outside ASCII); by default it does not,
    like many servers.
    """

    def __init__(
        self,
        root: Path,
        lmtp: LmtpTarget,
        *,
        local_domains: Iterable[str] = ("wijk.test",),
        mode: SmtpMode = "plain",
        users: dict[str, str] | None = None,
        relay_requires_auth: bool = False,
        cert: SelfSignedCert | None = None,
        port: int | None = None,
        smtputf8: bool = False,
    ) -> None:
        self.root = root
        self.lmtp = lmtp
        self.local_domains = frozenset(d.lower() for d in local_domains)
        self.mode: SmtpMode = mode
        self.users: dict[str, str] = dict(users or {})
        self.relay_requires_auth = relay_requires_auth
        self.smtputf8 = smtputf8
        self.host = LOOPBACK
        self.port = port or free_port()
        self.cert = cert
        if mode != "plain" and cert is None:
            self.cert = SelfSignedCert.ensure(root / "tls")
        self._captured: list[CapturedMail] = []
        self._changed = threading.Condition()
        self._maildir: mailbox.Maildir | None = None
        self._controller: _SessionController | None = None

    # -- lifecycle -------------------------------------------------------

    async def start(self) -> None:
        """Start listening; returns once the server has answered a connection."""
        if self._controller is not None:
            raise RuntimeError("SMTP relay is already running")
        self.root.mkdir(parents=True, exist_ok=True)
        self._maildir = mailbox.Maildir(self.root / "captured", create=True)
        controller = _SessionController(
            _RelayHandler(self),
            hostname=self.host,
            port=self.port,
            server_hostname="localhost",  # avoids a slow getfqdn() lookup
            **self._smtp_options(),
        )
        await asyncio.to_thread(controller.start)
        self._controller = controller

    def _smtp_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "authenticator": self._authenticate if self.users else None,
            "enable_SMTPUTF8": self.smtputf8,
        }
        if self.mode == "starttls":
            assert self.cert is not None
            options.update(
                tls_context=self.cert.server_context(), require_starttls=True, auth_require_tls=True
            )
        elif self.mode == "tls":
            assert self.cert is not None
            # The whole connection is TLS; aiosmtpd only counts STARTTLS as TLS.
            options.update(ssl_context=self.cert.server_context(), auth_require_tls=False)
        else:
            options.update(auth_require_tls=False)
        return options

    async def stop(self) -> None:
        """Stop listening (an outage); captured mail stays."""
        controller, self._controller = self._controller, None
        if controller is not None:
            await asyncio.to_thread(controller.drop_sessions)
            await asyncio.to_thread(controller.stop)

    async def restart(self) -> None:
        """Stop and start on the same port."""
        await self.stop()
        await self.start()

    @property
    def running(self) -> bool:
        """Whether the relay is listening."""
        return self._controller is not None

    def ssl_context(self) -> ssl.SSLContext | None:
        """Client context trusting the relay's certificate; ``None`` in plain mode."""
        return self.cert.client_context() if self.mode != "plain" and self.cert else None

    def add_user(self, name: str, password: str) -> None:
        """Allow ``name`` to AUTH (takes effect for new connections; restart after the first)."""
        self.users[name] = password

    # -- routing (called from the relay's thread) --------------------------

    def is_local(self, address: str) -> bool:
        """Whether Dovecot holds the mailbox for ``address``."""
        return domain_of(address) in self.local_domains

    def may_relay(self, session: Session) -> bool:
        """Whether this session may send to a non-local recipient."""
        return not self.relay_requires_auth or bool(session.authenticated)

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = data.login.decode("utf-8", "replace")
        password = data.password.decode("utf-8", "replace")
        ok = login in self.users and self.users[login] == password
        return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

    def deliver_lmtp(
        self, mail_from: str, rcpt_tos: list[str], raw: bytes, mail_options: list[str]
    ) -> str | None:
        """Hand a message to Dovecot; ``None`` when all accepted, else an SMTP reply."""
        try:
            with smtplib.LMTP(self.lmtp.host, self.lmtp.port, timeout=30) as lmtp:
                lmtp.ehlo_or_helo_if_needed()
                options = [o for o in mail_options if _lmtp_supports(lmtp, o)]
                refused = lmtp.sendmail(mail_from, rcpt_tos, raw, mail_options=options)
        except smtplib.SMTPRecipientsRefused as error:
            refused = error.recipients
        except (OSError, smtplib.SMTPException) as error:
            return f"451 4.3.0 Mailbox server unavailable: {error}"
        if not refused:
            return None
        codes = [code for code, _ in refused.values()]
        reply = "; ".join(f"{r}: {c} {m.decode(errors='replace')}" for r, (c, m) in refused.items())
        if all(code >= 500 for code in codes):
            return f"550 5.1.1 Rejected by mailbox server: {reply}"
        return f"451 4.3.0 Mailbox server deferred: {reply}"

    def capture(self, mail: CapturedMail) -> None:
        """Keep ``mail`` in memory and as a file under ``root/captured``."""
        if self._maildir is not None:
            envelope = (
                f"Return-Path: <{mail.mail_from}>\r\nX-Original-To: {', '.join(mail.rcpt_tos)}\r\n"
            )
            self._maildir.add(envelope.encode("utf-8") + mail.raw)
        with self._changed:
            self._captured.append(mail)
            self._changed.notify_all()

    # -- what tests look at ----------------------------------------------

    def captured_mail(self) -> list[CapturedMail]:
        """Every captured mail so far, oldest first."""
        with self._changed:
            return list(self._captured)

    def captured(self) -> list[EmailMessage]:
        """Every captured message so far, parsed, oldest first."""
        return [m.message for m in self.captured_mail()]

    def view(self) -> CaptureView:
        """A view that sees only mail captured from now on."""
        return CaptureView(self, len(self.captured_mail()))

    async def wait_for(
        self,
        predicate: MailPredicate,
        timeout: float = 10.0,  # noqa: ASYNC109 -- the wait runs in a thread, not on the loop
        *,
        since: int = 0,
    ) -> EmailMessage:
        """The first captured message (from index ``since``) matching ``predicate``."""
        found = await asyncio.to_thread(self._wait_sync, predicate, timeout, since)
        if found is None:
            seen = [(m.message["Subject"], m.rcpt_tos) for m in self.captured_mail()[since:]]
            raise TimeoutError(f"no matching mail captured within {timeout} s; captured: {seen}")
        return found

    def _wait_sync(
        self, predicate: MailPredicate, timeout: float, since: int
    ) -> EmailMessage | None:
        def match() -> EmailMessage | None:
            return next((m.message for m in self._captured[since:] if predicate(m.message)), None)

        with self._changed:
            if self._changed.wait_for(lambda: match() is not None, timeout):
                return match()
        return None

    # -- sending in, as the outside world does ---------------------------

    async def deliver(
        self,
        raw: bytes,
        mail_from: str,
        rcpt_tos: Sequence[str],
        *,
        login: tuple[str, str] | None = None,
    ) -> None:
        """Send ``raw`` to this relay over SMTP, using its TLS mode (and AUTH with ``login``)."""
        await aiosmtplib.send(
            raw,
            sender=mail_from,
            recipients=list(rcpt_tos),
            hostname=self.host,
            port=self.port,
            use_tls=self.mode == "tls",
            start_tls=self.mode == "starttls",
            tls_context=self.ssl_context(),
            username=login[0] if login else None,
            password=login[1] if login else None,
            timeout=30,
        )


def _lmtp_supports(lmtp: smtplib.LMTP, mail_option: str) -> bool:
    extension = _MAIL_OPTION_EXTENSIONS.get(mail_option.split("=", 1)[0].upper())
    return extension is not None and lmtp.has_extn(extension)
