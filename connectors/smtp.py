"""The outbox's mail ``Channel``: one ``MailOut`` becomes one message.

The message carries the payload's fixed Message-ID, so a resend after a crash
or an unconfirmed attempt is recognisably the same mail. Building the message
(``connectors/smtp_compose.py``) and the SMTP work (sessions that carry a run of
messages, up to ``parallel`` at once, closed after ``idle_seconds``; TLS; errors
as ``TransientError`` or ``PermanentError``) happen in a sender process of its
own (``connectors/smtp_sender.py``), started on demand, so a backlog's receipts
do not hold the daemon's event loop; here the attachments are read from the
document store. A refusal of the mail or of its recipients
(5xx) parks the effect; everything that may heal by itself (4xx, a server that
is down or slow, our own login or TLS setup awaiting a fix, a sender process
that died) is retried with backoff.

International addresses: a domain outside ASCII is sent in its IDNA form
(``xn--...``), which every server takes. A local part outside ASCII
(``jdöe@...``) needs the server's SMTPUTF8 (RFC 6531); without it the row is
parked with a plain reason, since no retry will change the server.
"""

from __future__ import annotations

import logging

from connectors.smtp_protocol import SessionSettings
from connectors.smtp_sender import SmtpSender
from daemon.clock import Clock, SystemClock
from daemon.config.reader import bilingual
from daemon.config.schema import MailConfig
from daemon.errors import PermanentError
from daemon.model import DocumentHash
from daemon.ports.outbox import ChannelName, Effect, MailOut
from daemon.store.documents import DocumentStore

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 60.0  # seconds per SMTP step
# Well under the five minutes RFC 5321 §4.5.3.2 lets a server wait, so the server
# rarely closes a session we still count on.
DEFAULT_IDLE_SECONDS = 20.0
DEFAULT_PARALLEL = 4  # sessions at once; a small site's server allows this many per login


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
        self.parallel = max(1, parallel)
        self._sender = SmtpSender(
            SessionSettings(config.smtp, timeout, idle_seconds, self.parallel)
        )
        self.sessions = 0  # sessions opened so far (for tests and the benchmarks)

    @property
    def name(self) -> ChannelName:
        return ChannelName.MAIL

    async def deliver(self, effect: Effect) -> str:
        """Send the effect's mail; its Message-ID is the remote id."""
        mail = effect.payload
        if not isinstance(mail, MailOut):
            raise PermanentError(f"mail channel got a {type(mail).__name__}, not a MailOut")
        documents = {d.sha256: await self._document(d.sha256) for d in mail.attachments}
        sent = await self._sender.send(
            mail,
            effect.destination,
            our_address=self._config.address,
            documents=documents,
            now=self._clock.now(),
        )
        self.sessions += sent.new_session
        if sent.refused:
            # The others have it: a retry would send it to them twice.
            # How many, not who: the log keeps no addresses (the responses may name them,
            # the log formatter masks those).
            log.warning(
                "mail deels geweigerd / partly refused: %d of %d recipients: %s",
                len(sent.refused),
                sent.recipients,
                "; ".join(sent.refused),
            )
        return mail.message_id

    @property
    def sender_pid(self) -> int | None:
        """The SMTP sender process while it runs (for tests and the benchmarks)."""
        return self._sender.pid

    async def close(self) -> None:
        """Stop the sender process (deliveries have finished by then); never raises."""
        await self._sender.close()

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
