"""A ``MailSource`` that outlives server restarts: reconnect with backoff, then carry on.

Every operation first makes sure there is a connection. A ``TransientError``
(connection lost, server restarting) drops the connection, waits an
exponential backoff with full jitter (capped, reset after the next success)
and tries again on a new connection, forever: the intake loop never sees an
outage, only a slower answer. A ``PermanentError`` while connecting (login
refused, certificate not trusted) is logged for the operator and retried at
the slow cap, because a password may just be rotating; a ``PermanentError``
of an operation itself (a refused move) goes to the caller.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from daemon.backoff import Backoff
from daemon.errors import PermanentError, TransientError
from daemon.health import Health
from daemon.ports.mailbox import MailSource, QuarantineReturn, RawMail

log = logging.getLogger(__name__)

T = TypeVar("T")

RECONNECT_BACKOFF = Backoff(base=1.0, cap=300.0)
HEALTH_PART = "imap"

Sleep = Callable[[float], Awaitable[None]]


class ResilientMailSource:
    """Wraps a ``MailSource`` (normally ``ImapMailSource``) and reconnects it as needed."""

    def __init__(
        self,
        source: MailSource,
        *,
        backoff: Backoff = RECONNECT_BACKOFF,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
        health: Health | None = None,
    ) -> None:
        self._source = source
        self._health = health  # /healthz and /metrics: part "imap"
        self._backoff = backoff
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not secrecy)
        self._sleep = sleep
        self._connected = False
        self._failures = 0  # since the last success; sets the next backoff
        self.connections = 0  # successful connects so far (a restart adds one)

    async def connect(self) -> None:
        """Connect, retrying until it works (returns only connected, or when cancelled)."""
        while not self._connected:
            try:
                await self._source.connect()
            except TransientError as error:
                await self._lost("connect", error)
            except PermanentError as error:
                await self._refused(error)
            else:
                self._connected = True
                self.connections += 1
                if self._health is not None:
                    self._health.succeeded(HEALTH_PART)
                    if self.connections > 1:
                        self._health.reconnected(HEALTH_PART)
        log.info("IMAP verbonden / connected (%d)", self.connections)

    async def close(self) -> None:
        self._connected = False
        await self._source.close()

    async def uidvalidity(self) -> int:
        return await self._retrying("uidvalidity", self._source.uidvalidity)

    async def fetch_after(
        self, uid: int, limit: int, max_bytes: int | None = None
    ) -> list[RawMail]:
        return await self._retrying(
            "fetch", lambda: self._source.fetch_after(uid, limit, max_bytes)
        )

    async def move(
        self, uids: Sequence[int], folder: str, *, uidvalidity: int | None = None
    ) -> None:
        await self._retrying(
            "move", lambda: self._source.move(uids, folder, uidvalidity=uidvalidity)
        )

    async def move_back(self, folder: str, message_id: str | None, content_sha256: str) -> bool:
        """``QuarantineReturn``, when the wrapped source can do it."""
        source = self._source
        if not isinstance(source, QuarantineReturn):
            raise PermanentError("this mail source cannot move mail back from quarantine")
        return await self._retrying(
            "move back", lambda: source.move_back(folder, message_id, content_sha256)
        )

    async def ensure_folders(self) -> None:
        await self._retrying("create folders", self._source.ensure_folders)

    async def wait_for_change(self, timeout: float) -> None:  # noqa: ASYNC109 (IMAP IDLE's own)
        """Wait on the connection; a lost connection is re-made and counts as a wake-up,
        since mail may have arrived unseen (the caller searches again)."""
        await self._ensure_connected()
        try:
            await self._source.wait_for_change(timeout)
        except TransientError as error:
            await self._lost("IDLE", error)
            await self._ensure_connected()
        else:
            self._succeeded()

    # -- the retry machinery ------------------------------------------------------

    async def _retrying(self, what: str, operation: Callable[[], Awaitable[T]]) -> T:
        while True:
            await self._ensure_connected()
            try:
                result = await operation()
            except TransientError as error:
                await self._lost(what, error)
                continue
            self._succeeded()
            return result

    def _succeeded(self) -> None:
        self._failures = 0
        if self._health is not None:
            self._health.succeeded(HEALTH_PART)

    async def _ensure_connected(self) -> None:
        if not self._connected:
            await self.connect()

    async def _lost(self, what: str, error: TransientError) -> None:
        """Drop the connection and wait the backoff before the next attempt."""
        self._connected = False
        await self._source.close()
        self._failures += 1
        if self._health is not None:
            self._health.failed(HEALTH_PART)
        delay = self._backoff.delay(self._failures, self._rng, error.retry_after)
        log.warning(
            "IMAP %s mislukt, nieuwe poging over %.1f s / failed, retrying in %.1f s: %s",
            what, delay, delay, error,
        )  # fmt: skip
        await self._sleep(delay)

    async def _refused(self, error: PermanentError) -> None:
        """The server refused us for good, as far as it knows: tell the operator, retry slowly."""
        await self._source.close()
        delay = self._backoff.cap * self._rng.uniform(0.5, 1.0)
        log.error(
            "IMAP geweigerd, nieuwe poging over %.0f s / refused, retrying in %.0f s: %s",
            delay, delay, error,
        )  # fmt: skip
        await self._sleep(delay)


if TYPE_CHECKING:

    def _is_a_mail_source(source: ResilientMailSource) -> MailSource:
        return source  # mypy checks the class against the core's protocol
