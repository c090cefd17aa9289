"""Ending a child process of a connector (parse workers, the SMTP sender).

Both speak over their stdin, so closing it asks them to finish and exit; one that
does not within its grace time is killed.
"""

from __future__ import annotations

import asyncio
import contextlib


async def stop(process: asyncio.subprocess.Process, grace_seconds: float) -> None:
    """Close ``process``'s stdin and wait for it to exit; kill it after ``grace_seconds``."""
    if process.returncode is None and process.stdin is not None:
        process.stdin.close()
    try:
        async with asyncio.timeout(grace_seconds):
            await process.wait()
    except TimeoutError:
        await kill(process)


async def kill(process: asyncio.subprocess.Process) -> None:
    """SIGKILL ``process`` if it still runs, and reap it."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    await process.wait()
