"""Parsing in a separate process with a time limit: a hostile mail costs a worker, not the daemon.

``MailParser`` keeps one worker process (a ``ProcessPoolExecutor`` of one).
A parse that runs past ``timeout`` seconds gets its worker killed and
replaced; a worker that dies (out of memory, a crash in a C extension) is
replaced too. Either way the caller gets ``UnparseableMail`` with a reason,
as for bytes that are not a mail at all, and the next mail gets a fresh worker.
The worker's address space is capped so a decompression bomb ends in
``MemoryError`` there, not in the machine swapping, and a worker ends itself
when the daemon is gone (a SIGKILLed daemon cannot stop it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import resource
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from email import policy
from email.parser import BytesHeaderParser
from typing import TypeVar

from connectors.mail import headers
from connectors.mail.parse import parse_mail
from connectors.mail.signals import sender_signals
from daemon.ports.mail import MailLimits, ParsedMail, UnparseableMail
from daemon.ports.parser import SenderHint

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_TIMEOUT = 20.0
DEFAULT_MEMORY_LIMIT = 2 * 1024 * 1024 * 1024  # bytes of address space for the worker
_PARENT_CHECK_SECONDS = 1.0


def _start_worker(max_bytes: int, daemon_pid: int) -> None:
    """Runs in the worker at start: cap its memory, and end it when the daemon is gone."""
    if max_bytes > 0:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = max_bytes if hard == resource.RLIM_INFINITY else min(max_bytes, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    threading.Thread(target=_exit_with, args=(daemon_pid,), daemon=True).start()


def _exit_with(daemon_pid: int) -> None:
    """A worker outlives a daemon killed with SIGKILL (it waits on its queue forever)."""
    while os.getppid() == daemon_pid:
        time.sleep(_PARENT_CHECK_SECONDS)
    os._exit(1)


def _ready() -> bool:
    """Runs in a new worker: it has started and imported the parser."""
    return True


def _parse(raw: bytes, our_address: str, limits: MailLimits) -> ParsedMail:
    """Runs in the worker."""
    return parse_mail(raw, our_address=our_address, limits=limits)


def read_sender_hint(raw: bytes) -> SenderHint | None:
    """The sender and RFC 3834 signals from the header block alone (runs in the worker)."""
    try:
        msg = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        found = headers.addresses(
            headers.raw_values(msg, "from")[:1] or headers.raw_values(msg, "sender")[:1]
        )
        address = found[0][1] if found else ""
        return_path = headers.return_path(headers.first_raw(msg, "return-path"))
        content_type = (headers.first_raw(msg, "content-type") or "").lower()
        signals = sender_signals(msg, address, return_path, "delivery-status" in content_type)
        ids = headers.message_ids(headers.raw_values(msg, "message-id")[:1])
        return SenderHint(
            address=address,
            message_id=ids[0] if ids else None,
            references=headers.references(headers.raw_values(msg, "references")),
            subject=headers.display_text(headers.first_raw(msg, "subject")),
            is_auto=signals.is_auto,
            is_bulk_or_list=signals.is_bulk_or_list,
            is_bounce=signals.is_bounce,
        )
    except Exception:  # a hint is optional; a broken header block gives none
        return None


class MailParser:
    """``daemon.ports.parser.MailParser`` in a worker process with a time limit per mail."""

    def __init__(
        self,
        *,
        our_address: str,
        limits: MailLimits,
        timeout: float = DEFAULT_TIMEOUT,
        memory_limit: int = DEFAULT_MEMORY_LIMIT,
    ) -> None:
        self._our_address = our_address
        self._limits = limits
        self.timeout = timeout  # seconds per parse; may be changed between parses
        self._memory_limit = memory_limit
        self._executor: ProcessPoolExecutor | None = None
        self._lock = asyncio.Lock()  # one mail at a time: one worker
        self.replaced = 0  # workers killed or lost so far (for logs and tests)

    async def parse(self, raw: bytes) -> ParsedMail:
        """The mail understood, or ``UnparseableMail`` with the reason (also for a timeout)."""
        return await self._run(_parse, raw, self._our_address, self._limits)

    async def sender_hint(self, raw: bytes) -> SenderHint | None:
        try:
            return await self._run(read_sender_hint, raw)
        except UnparseableMail:
            return None

    async def close(self) -> None:
        """Stop the worker (killing a parse still running); never raises."""
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(_stop, executor)

    async def _run(self, function: Callable[..., T], *args: object) -> T:
        async with self._lock:
            executor = await self._worker()
            future = executor.submit(function, *args)
            try:
                return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
            except TimeoutError:
                await self._replace(executor, "timeout")
                raise UnparseableMail(f"timeout: not parsed within {self.timeout:g} s") from None
            except BrokenProcessPool as error:
                await self._replace(executor, "crashed")
                raise UnparseableMail(f"parser_crashed: {error}"[:300]) from error
            except asyncio.CancelledError:
                await self._replace(executor, "cancelled")
                raise

    async def _worker(self) -> ProcessPoolExecutor:
        """The running worker; a new one is started (outside the time limit) when needed."""
        if self._executor is None:
            # spawn: a fork of this multi-threaded process could inherit a held lock.
            executor = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(self._memory_limit, os.getpid()),
            )
            try:
                await asyncio.wrap_future(executor.submit(_ready))
            except BaseException:
                await asyncio.shield(asyncio.to_thread(_stop, executor))
                raise
            self._executor = executor
        return self._executor

    async def _replace(self, executor: ProcessPoolExecutor, why: str) -> None:
        """Kill the worker; the next parse starts a fresh one."""
        if self._executor is executor:
            self._executor = None
        self.replaced += 1
        log.warning("mail parser worker replaced (%s)", why)
        await asyncio.shield(asyncio.to_thread(_stop, executor))


def _stop(executor: ProcessPoolExecutor) -> None:
    """Kill the executor's worker processes and shut it down without waiting for work."""
    for process in list(getattr(executor, "_processes", {}).values()):
        with contextlib.suppress(OSError, ValueError):
            process.kill()
    executor.shutdown(wait=True, cancel_futures=True)
