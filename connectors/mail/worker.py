"""Parsing in separate processes with a time limit: a hostile mail costs a worker, not the daemon.

``MailParser`` keeps a small pool of worker processes, as many as the machine
has cores, so a backlog is parsed in parallel. Each worker is a plain
subprocess (``connectors/mail/worker_main.py``) speaking length-prefixed
pickles over its stdin and stdout: no ``multiprocessing``, so no resource
tracker process stays resident beside the daemon.

- Workers start on demand (outside the time limit) and exit after
  ``idle_seconds`` without work, so an idle daemon holds none.
- A parse that runs past ``timeout`` seconds gets its worker killed; a worker
  that dies (out of memory, a crash in a C extension) is dropped. Either way
  the caller gets ``UnparseableMail`` with a reason, as for bytes that are not
  a mail at all, and the next mail gets a fresh worker.
- Only the workers import the parsing libraries.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import struct
import sys
from typing import Any

from connectors import child_process
from daemon.errors import TransientError
from daemon.ports.mail import MailLimits, ParsedMail, UnparseableMail
from daemon.ports.parser import SenderHint

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 20.0
DEFAULT_MEMORY_LIMIT = 2 * 1024 * 1024 * 1024  # bytes of address space per worker
DEFAULT_IDLE_SECONDS = 60.0
_FRAME = struct.Struct(">I")  # the same framing as worker_main
_READY = b"R"
_STOP_GRACE_SECONDS = 2.0


class _WorkerGoneError(Exception):
    """The worker closed its pipe or exited: it crashed, or was killed."""


class _Worker:
    """One worker process and its pipes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.idle_since = 0.0

    @classmethod
    async def start(cls, memory_limit: int) -> _Worker:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "connectors.mail.worker_main",
            str(memory_limit),
            str(os.getpid()),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        worker = cls(process)
        try:
            assert process.stdout is not None
            if await process.stdout.read(1) != _READY:
                code = await process.wait()
                raise _WorkerGoneError(f"the worker did not start (exit code {code})")
        except BaseException:
            await asyncio.shield(worker.kill())
            raise
        return worker

    async def call(self, name: str, args: tuple[object, ...]) -> tuple[bool, Any]:
        """Send one request and read its reply; ``_WorkerGoneError`` when the worker is gone."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None
        assert stdout is not None
        data = pickle.dumps((name, args))
        try:
            stdin.write(_FRAME.pack(len(data)) + data)
            await stdin.drain()
            size = _FRAME.unpack(await stdout.readexactly(_FRAME.size))[0]
            reply = await stdout.readexactly(size)
        except (ConnectionError, asyncio.IncompleteReadError) as error:
            code = await self.process.wait()
            raise _WorkerGoneError(f"the worker exited with code {code}") from error
        ok, value = pickle.loads(reply)  # noqa: S301 (our own worker wrote it)
        return bool(ok), value

    async def stop(self) -> None:
        """Ask the worker to end (stdin closed); kill it when it does not."""
        await child_process.stop(self.process, _STOP_GRACE_SECONDS)

    async def kill(self) -> None:
        await child_process.kill(self.process)


class MailParser:
    """``daemon.ports.parser.MailParser`` on a pool of worker processes with a time limit."""

    def __init__(
        self,
        *,
        our_address: str,
        limits: MailLimits,
        timeout: float = DEFAULT_TIMEOUT,
        memory_limit: int = DEFAULT_MEMORY_LIMIT,
        workers: int | None = None,
        idle_seconds: float = DEFAULT_IDLE_SECONDS,
    ) -> None:
        self._our_address = our_address
        self._limits = limits
        self.timeout = timeout  # seconds per parse; may be changed between parses
        self._memory_limit = memory_limit
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._idle_seconds = idle_seconds
        self._slots = asyncio.Semaphore(self.workers)
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._reaper: asyncio.TimerHandle | None = None
        self._stopping: set[asyncio.Task[None]] = set()
        self.replaced = 0  # workers killed or lost so far (for logs and tests)

    async def parse(self, raw: bytes) -> ParsedMail:
        """The mail understood, or ``UnparseableMail`` with the reason (also for a timeout)."""
        parsed: ParsedMail = await self._run("parse", raw, self._our_address, self._limits)
        return parsed

    async def ready(self) -> None:
        """Start a worker unless one is idle (a fresh Python process takes a second or more
        on a busy machine), so a parse after this does not wait for one."""
        async with self._slots:
            if not self._idle:
                self._give_back(await self._take())

    async def sender_hint(self, raw: bytes) -> SenderHint | None:
        try:
            hint: SenderHint | None = await self._run("sender_hint", raw)
        except UnparseableMail:
            return None
        return hint

    def worker_pids(self) -> list[int]:
        """The pids of the running workers, busy or idle (for tests and the benchmarks)."""
        return [w.process.pid for w in (*self._idle, *self._busy)]

    async def close(self) -> None:
        """Stop every worker (killing a parse still running); never raises."""
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        idle, self._idle = self._idle, []
        busy, self._busy = list(self._busy), set()
        await asyncio.gather(
            *(w.stop() for w in idle), *(w.kill() for w in busy), *self._stopping,
            return_exceptions=True,
        )  # fmt: skip

    async def _run(self, name: str, *args: object) -> Any:
        async with self._slots:
            worker = await self._take()
            try:
                async with asyncio.timeout(self.timeout):
                    ok, value = await worker.call(name, args)
            except TimeoutError:
                await self._drop(worker, "timeout")
                raise UnparseableMail(f"timeout: not parsed within {self.timeout:g} s") from None
            except _WorkerGoneError as error:
                await self._drop(worker, "crashed")
                raise UnparseableMail(f"parser_crashed: {error}"[:300]) from error
            except BaseException:
                await asyncio.shield(self._drop(worker, "cancelled"))
                raise
            self._give_back(worker)
        if not ok:
            raise value
        return value

    async def _take(self) -> _Worker:
        """An idle worker, or a new one (started outside the time limit)."""
        if self._idle:
            worker = self._idle.pop()
        else:
            try:
                worker = await _Worker.start(self._memory_limit)
            except (_WorkerGoneError, OSError) as error:  # not the mail's fault: try it again later
                raise TransientError(f"mail parser worker: {error}") from error
        self._busy.add(worker)
        return worker

    def _give_back(self, worker: _Worker) -> None:
        self._busy.discard(worker)
        worker.idle_since = asyncio.get_running_loop().time()
        self._idle.append(worker)
        if self._reaper is None:
            self._schedule_reaper(self._idle_seconds)

    async def _drop(self, worker: _Worker, why: str) -> None:
        """Kill a worker whose parse failed; the next parse starts a fresh one."""
        self._busy.discard(worker)
        self.replaced += 1
        log.warning("mail parser worker replaced (%s)", why)
        await worker.kill()

    def _schedule_reaper(self, delay: float) -> None:
        self._reaper = asyncio.get_running_loop().call_later(delay, self._reap_idle)

    def _reap_idle(self) -> None:
        """Stop the workers idle for ``idle_seconds``; look again when the next one will be."""
        self._reaper = None
        now = asyncio.get_running_loop().time()
        stale = [w for w in self._idle if now - w.idle_since >= self._idle_seconds]
        for worker in stale:
            self._idle.remove(worker)
            task = asyncio.create_task(worker.stop())
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)
        if self._idle:
            oldest = min(w.idle_since for w in self._idle)
            self._schedule_reaper(max(0.0, oldest + self._idle_seconds - now))
