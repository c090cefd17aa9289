"""One server subprocess: start with logs to a file, wait until it speaks, stop, restart."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
import signal
import ssl
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from harness.probes import NotReadyError, ReadyProbe

PROBE_INTERVAL = 0.05
"""Seconds between readiness attempts; servers here start in 0.1 to 1.5 s."""


_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True) if os.name == "posix" else None


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the harness dies, so no server is orphaned."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class ServerStartError(RuntimeError):
    """A server exited or did not answer its protocol before the deadline."""


def log_tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file, or a note that it does not exist."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return f"({path} does not exist)"
    return "\n".join(text.splitlines()[-lines:])


class ServerProcess:
    """A long-running server started as a subprocess in its own session.

    stdout and stderr go (appended, so a restart keeps the history) to
    ``log_path``; ``extra_logs`` are files the server writes itself and are
    shown too when it fails to start.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        ready: ReadyProbe,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        extra_logs: Sequence[Path] = (),
        start_timeout: float = 30.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.ready = ready
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.extra_logs = list(extra_logs)
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        """Whether the process has been started and has not exited."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The process id while running."""
        return self._proc.pid if self.running and self._proc is not None else None

    async def start(self) -> None:
        """Start the process and return once its readiness probe passes."""
        if self.running:
            raise RuntimeError(f"{self.name} is already running")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            # Popen only forks and execs; waiting happens in threads below.
            self._proc = subprocess.Popen(  # noqa: ASYNC220
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,  # its own process group, so stop() can reap children
                preexec_fn=_die_with_parent,
            )
        try:
            await self._wait_ready()
        except BaseException:
            await self.stop()
            raise

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        last_problem = "no attempt yet"
        while True:
            assert self._proc is not None
            code = self._proc.poll()
            if code is not None:
                problem = f"exited with code {code} before it was ready"
                raise ServerStartError(self._failure(problem))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ServerStartError(
                    self._failure(f"not ready after {self.start_timeout:.0f} s ({last_problem})")
                )
            try:
                async with asyncio.timeout(min(2.0, remaining)):
                    await self.ready()
                return
            except (OSError, ssl.SSLError, NotReadyError, TimeoutError) as problem:
                last_problem = f"{type(problem).__name__}: {problem}"
            await asyncio.sleep(PROBE_INTERVAL)

    def _failure(self, what: str) -> str:
        parts = [f"{self.name} {what}", f"--- {self.log_path} (tail) ---", log_tail(self.log_path)]
        for extra in self.extra_logs:
            parts += [f"--- {extra} (tail) ---", log_tail(extra)]
        return "\n".join(parts)

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL for the whole process group after ``stop_timeout``."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(proc.wait, self.stop_timeout)
            except subprocess.TimeoutExpired:
                _kill_group(proc.pid)
                await asyncio.to_thread(proc.wait)
        # Children that outlived their parent would keep ports and files busy.
        _kill_group(proc.pid)

    async def restart(self) -> None:
        """Stop and start again with the same command line (same ports, same data)."""
        await self.stop()
        await self.start()


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
        os.killpg(pgid, signal.SIGKILL)
