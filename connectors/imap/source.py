"""``MailSource`` on imap-tools: the blocking session runs on one worker thread of its own.

Each source owns a single-thread executor, so its connection is only ever
touched by that thread, in call order, even when an awaiting task is
cancelled while a call still runs (``asyncio.to_thread`` would take any
pool thread, and a cancelled caller would let the next call start beside
the unfinished one). A cancelled IDLE wait is told to stop and ends within a
second. After a ``TransientError`` the connection is dropped: ``connect()``
again, or use ``ResilientMailSource`` which does that with backoff.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from connectors.imap.errors import translated_call
from connectors.imap.session import ImapLogin, ImapSession
from connectors.tls import client_context
from daemon.config.schema import ImapConfig
from daemon.errors import TransientError
from daemon.ports.mailbox import MailSource, RawMail

P = ParamSpec("P")
T = TypeVar("T")

DEFAULT_COMMAND_TIMEOUT = 60.0  # seconds a server may stay silent within one command


class ImapMailSource:
    """The configured folder of one IMAP account, as a ``MailSource``."""

    def __init__(
        self,
        config: ImapConfig,
        *,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        use_move: bool = True,
    ) -> None:
        """``use_move=False`` forces COPY + \\Deleted + UID EXPUNGE (for a broken MOVE)."""
        self._config = config
        self._command_timeout = command_timeout
        self._use_move = use_move
        self._worker: ThreadPoolExecutor | None = None
        self._session: ImapSession | None = None
        self._idle_stop: threading.Event | None = None

    # -- connection -------------------------------------------------------------

    async def connect(self) -> None:
        """Log in and select the folder (closing an earlier connection first)."""
        await self.close()
        login = await self._call("login", self._login)
        self._session = await self._call(
            "connect", ImapSession.open, login, self._config.folder, use_move=self._use_move
        )

    def _login(self) -> ImapLogin:
        # Secrets and the CA file are read at every connect: a rotated password
        # file or renewed CA works without restarting the daemon.
        config = self._config
        plain = config.security == "none"
        return ImapLogin(
            host=config.host,
            port=config.port,
            security=config.security,
            username=config.username,
            password=config.password.reveal() if config.password else None,
            oauth2_token=config.oauth2_token.reveal() if config.oauth2_token else None,
            ssl_context=None if plain else client_context(config.ca_file),
            timeout=self._command_timeout,
        )

    async def close(self) -> None:
        """Log out and stop the worker thread; never raises."""
        session, self._session = self._session, None
        if self._idle_stop is not None:
            self._idle_stop.set()
        worker = self._worker
        if worker is None:
            return
        if session is not None:
            await asyncio.shield(asyncio.get_running_loop().run_in_executor(worker, session.close))
        self._worker = None
        worker.shutdown(wait=False)

    # -- MailSource ---------------------------------------------------------------

    async def uidvalidity(self) -> int:
        return self._connected().uidvalidity

    async def fetch_after(
        self, uid: int, limit: int, max_bytes: int | None = None
    ) -> list[RawMail]:
        return await self._call("fetch", self._connected().fetch_after, uid, limit, max_bytes)

    async def move(
        self, uids: Sequence[int], folder: str, *, uidvalidity: int | None = None
    ) -> None:
        await self._call("move", self._connected().move, uids, folder, uidvalidity)

    async def move_back(self, folder: str, message_id: str | None, content_sha256: str) -> bool:
        """``QuarantineReturn``: a quarantined mail back into the intake folder."""
        session = self._connected()
        return await self._call("move back", session.move_back, folder, message_id, content_sha256)

    async def ensure_folders(self) -> None:
        for folder in (self._config.processed_folder, self._config.quarantine_folder):
            await self._call("create folder", self._connected().ensure_folder, folder)

    async def wait_for_change(self, timeout: float) -> None:  # noqa: ASYNC109 (IMAP IDLE's own)
        """IDLE for at most ``min(timeout, idle_renew_seconds)``; without IDLE, just sleep.

        Renewing the IDLE every few minutes keeps NATs from dropping a silent
        connection, and proves the connection alive (the server must answer).
        """
        session = self._connected()
        if "IDLE" not in session.capabilities:
            await asyncio.sleep(max(0.0, min(timeout, self._config.poll_seconds)))
            return
        stop = self._idle_stop = threading.Event()
        try:
            await self._call(
                "IDLE", session.wait_for_change, min(timeout, self._config.idle_renew_seconds), stop
            )
        finally:
            stop.set()  # on cancellation: the worker ends the IDLE within a second
            self._idle_stop = None

    # -- running on the worker ----------------------------------------------------

    def _connected(self) -> ImapSession:
        if self._session is None:
            raise TransientError("IMAP: niet verbonden (not connected)")
        return self._session

    async def _call(self, what: str, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        if self._worker is None:
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wijkbode-imap")
        job = functools.partial(translated_call, what, call, *args, **kwargs)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._worker, job)
        except TransientError:
            await self._drop()
            raise

    async def _drop(self) -> None:
        """Forget a broken connection, closing its socket on the worker."""
        session, self._session = self._session, None
        if session is not None and self._worker is not None:
            await asyncio.get_running_loop().run_in_executor(self._worker, session.abort)


if TYPE_CHECKING:

    def _is_a_mail_source(source: ImapMailSource) -> MailSource:
        return source  # mypy checks the class against the core's protocol
