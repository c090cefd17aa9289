"""The daemon's side of the SMTP sender process (``connectors/smtp_child.py``).

``SmtpSender.send`` hands a mail to the process, which builds and sends it, and waits for its
answer. The process starts with the first message and is asked to end after
``idle_seconds`` without one (its sessions end with it), so an idle daemon holds
no extra process. When it dies with messages in hand (killed, a crash), those
raise ``TransientError``: the outbox tries them again, with the same Message-ID,
and the next message starts a new process.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import pickle
import sys
from datetime import datetime

from connectors import child_process
from connectors.smtp_protocol import FRAME, READY, Sent, SessionSettings
from daemon.config.reader import bilingual
from daemon.errors import PermanentError, TransientError
from daemon.ports.outbox import MailOut

_START_TIMEOUT_SECONDS = 30.0
_STOP_GRACE_SECONDS = 10.0  # the messages in hand finish, the sessions say QUIT


def _gone(detail: str) -> TransientError:
    return TransientError(
        bilingual("het SMTP-verzendproces stopte", "the SMTP sender process stopped")
        + f" ({detail})"
    )


class _Process:
    """One running sender process, its pipes and the answers it still owes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.waiting: dict[int, asyncio.Future[tuple[str, object]]] = {}
        self.reader: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, settings: SessionSettings) -> _Process:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "connectors.smtp_child",
            str(os.getpid()),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=2**31,
        )
        started = cls(process)
        try:
            async with asyncio.timeout(_START_TIMEOUT_SECONDS):
                started.write(pickle.dumps(settings))
                assert process.stdout is not None
                if await process.stdout.read(1) != READY:
                    raise _gone(f"exit code {await process.wait()} at the start")
        except BaseException:
            await asyncio.shield(started.kill())
            raise
        started.reader = asyncio.create_task(started.read_answers(), name="smtp-sender:answers")
        return started

    def write(self, data: bytes) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(FRAME.pack(len(data)) + data)

    async def read_answers(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            while True:
                size = FRAME.unpack(await stdout.readexactly(FRAME.size))[0]
                request_id, kind, value = pickle.loads(await stdout.readexactly(size))  # noqa: S301
                future = self.waiting.pop(request_id, None)
                if future is not None and not future.done():
                    future.set_result((kind, value))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        code = await self.process.wait()
        self.fail_waiting(_gone(f"exit code {code}"))

    def fail_waiting(self, error: TransientError) -> None:
        waiting, self.waiting = self.waiting, {}
        for future in waiting.values():
            if not future.done():
                future.set_exception(error)

    async def stop(self) -> None:
        """Close stdin: the process finishes what it has, ends its sessions and exits."""
        await child_process.stop(self.process, _STOP_GRACE_SECONDS)
        if self.reader is not None:
            await self.reader

    async def kill(self) -> None:
        await child_process.kill(self.process)


class SmtpSender:
    """Sends raw messages through the sender process; see the module."""

    def __init__(self, settings: SessionSettings) -> None:
        self._settings = settings
        self._current: _Process | None = None
        self._starting = asyncio.Lock()
        self._ids = itertools.count(1)
        self._idle_timer: asyncio.TimerHandle | None = None
        self._stopping: set[asyncio.Task[None]] = set()

    async def send(
        self,
        mail: MailOut,
        destination: str,
        *,
        our_address: str,
        documents: dict[str, bytes],
        now: datetime,
    ) -> Sent:
        """Compose and send ``mail`` in the sender process (``PermanentError`` or
        ``TransientError`` as the process found)."""
        running = await self._running()
        request_id = next(self._ids)
        answer: asyncio.Future[tuple[str, object]] = asyncio.get_running_loop().create_future()
        running.waiting[request_id] = answer
        self._cancel_idle_timer()
        try:
            request = (request_id, mail, destination, our_address, documents, now)
            running.write(pickle.dumps(request))
            kind, value = await answer
        finally:
            running.waiting.pop(request_id, None)
            if not running.waiting:
                self._start_idle_timer()
        if kind == "sent":
            assert isinstance(value, Sent)
            return value
        if kind == "permanent":
            raise PermanentError(str(value))
        raise TransientError(str(value))

    async def close(self) -> None:
        """Stop the process (the messages in hand finish first); never raises."""
        self._cancel_idle_timer()
        current, self._current = self._current, None
        if current is not None:
            await current.stop()
        await asyncio.gather(*self._stopping)

    @property
    def pid(self) -> int | None:
        """The running sender process, if any (for tests and the benchmarks)."""
        current = self._current
        if current is None or current.process.returncode is not None:
            return None
        return current.process.pid

    async def _running(self) -> _Process:
        async with self._starting:
            current = self._current
            if current is None or current.process.returncode is not None:
                try:
                    current = await _Process.start(self._settings)
                except OSError as error:
                    raise _gone(f"{type(error).__name__}: {error}") from error
                self._current = current
            return current

    def _start_idle_timer(self) -> None:
        if self._idle_timer is None and self._current is not None:
            loop = asyncio.get_running_loop()
            self._idle_timer = loop.call_later(self._settings.idle_seconds, self._stop_idle)

    def _cancel_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def _stop_idle(self) -> None:
        self._idle_timer = None
        current, self._current = self._current, None
        if current is None or current.waiting:
            self._current = current
            return
        task = asyncio.create_task(current.stop(), name="smtp-sender:stop")
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)
