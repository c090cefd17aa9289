"""The real ``wijkbode`` as the demo runs it: the daemon as a child process, and CLI commands.

The daemon's log lines go to a file and, prefixed, to the terminal. It is
ready when it says ``READY=1`` on a notify socket, as it does to systemd.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

STOP_TIMEOUT_S = 30.0


def wijkbode_command() -> list[str]:
    """The installed console script next to this Python, else ``python -m daemon``."""
    script = Path(sys.executable).parent / "wijkbode"
    if script.exists():
        return [str(script)]
    found = shutil.which("wijkbode")
    return [found] if found else [sys.executable, "-m", "daemon"]


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str


async def run_cli(config: Path, *args: str, within: float = 60.0) -> CliResult:
    """Run ``wijkbode --config CONFIG ARGS`` and collect its output."""
    process = await asyncio.create_subprocess_exec(
        *wijkbode_command(),
        "--config",
        str(config),
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_clean_env(),
    )
    try:
        async with asyncio.timeout(within):
            out, err = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return CliResult(process.returncode, out.decode(errors="replace"), err.decode(errors="replace"))


def _clean_env() -> dict[str, str]:
    """Our environment without WIJKBODE_* settings that would override the demo's config."""
    return {k: v for k, v in os.environ.items() if not k.startswith("WIJKBODE_")}


class DaemonProcess:
    """``wijkbode --config CONFIG run [EXTRA]`` in its own session (Ctrl-C reaches only us)."""

    def __init__(
        self, config: Path, extra: Sequence[str], log_path: Path, show: Callable[[str], None]
    ) -> None:
        self.config = config
        self.extra = list(extra)
        self.log_path = log_path
        self._show = show
        self._process: asyncio.subprocess.Process | None = None
        self._pump: asyncio.Task[None] | None = None
        self._notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._notify_name = f"@wijkbode-demo-{secrets.token_hex(6)}"
        self._ready = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None

    @property
    def argv(self) -> list[str]:
        return [*wijkbode_command(), "--config", str(self.config), "run", *self.extra]

    @property
    def returncode(self) -> int | None:
        return None if self._process is None else self._process.returncode

    async def start(self) -> None:
        """Start the process; its output is shown and logged from now on."""
        self._notify.bind("\0" + self._notify_name[1:])  # abstract: no file, no path limit
        self._notify.setblocking(False)
        self._listener = asyncio.create_task(self._listen(), name="daemon-notify")
        self._process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**_clean_env(), "NOTIFY_SOCKET": self._notify_name, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )
        self._pump = asyncio.create_task(self._copy_output(), name="daemon-log")

    async def wait_ready(self, within: float) -> bool:
        """Whether the daemon said READY=1 within ``within`` seconds (False if it exited)."""
        assert self._process is not None
        ready = asyncio.create_task(self._ready.wait())
        exited = asyncio.create_task(self._process.wait())
        try:
            await asyncio.wait({ready, exited}, timeout=within, return_when="FIRST_COMPLETED")
        finally:
            ready.cancel()
            exited.cancel()
        return self._ready.is_set() and self._process.returncode is None

    async def stop(self) -> int | None:
        """SIGTERM and wait (it stops intake, then the engine); SIGKILL after a timeout."""
        process = self._process
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(STOP_TIMEOUT_S):
                    await process.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
        if self._pump is not None:
            await self._pump
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        self._notify.close()
        return None if process is None else process.returncode

    async def _copy_output(self) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        with self.log_path.open("ab") as log:
            async for raw in self._process.stdout:
                log.write(raw)
                log.flush()
                self._show(raw.decode(errors="replace").rstrip("\n"))

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            datagram = await loop.sock_recv(self._notify, 4096)
            if b"READY=1" in datagram.split(b"\n"):
                self._ready.set()
