"""The SMTP sender's process: ``python -m connectors.smtp_child PARENT_PID``.

The daemon hands it finished messages; it sends them over pooled sessions
(``connectors/smtp_sessions.py``) and answers each. Its own core does the TLS
and SMTP work, which in the daemon's event loop took most of a mail backlog's
time (asyncio's TLS runs in Python).

Protocol on stdin and stdout, each frame a 4-byte big-endian length and a pickle:
- first the daemon sends the ``SessionSettings``; the process answers ``READY``;
- then requests ``(id, MailOut, destination, our address, documents, now)``, each
  composed (``connectors/smtp_compose.py``) and sent side by side, each answered
  ``(id, "sent", Sent)``, ``(id, "transient", text)`` or ``(id, "permanent", text)``
  in the order they finish.

Stdin closed: the requests in hand are finished, the sessions ended, then it
exits. When the daemon dies (a SIGKILL cannot close the pipe) the process is
killed at once (Linux's parent-death signal), so it does not finish sending a
mail the daemon will never mark as sent: after a restart that mail goes once.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import os
import pickle
import signal
import sys
import threading
import time
from datetime import datetime
from typing import BinaryIO

from connectors.smtp_compose import compose
from connectors.smtp_protocol import FRAME, READY, SessionSettings
from connectors.smtp_sessions import SmtpSessions
from daemon.errors import PermanentError, TransientError
from daemon.ports.outbox import MailOut

_PARENT_CHECK_SECONDS = 1.0
_PR_SET_PDEATHSIG = 1
SENDER_NICENESS = 10

Request = tuple[int, MailOut, str, str, dict[str, bytes], datetime]


async def _read_frame(reader: asyncio.StreamReader) -> bytes | None:
    try:
        header = await reader.readexactly(FRAME.size)
        return await reader.readexactly(FRAME.unpack(header)[0])
    except asyncio.IncompleteReadError:
        return None


class _Replies:
    """Writes answers to the daemon; a blocking write of a few bytes to a pipe."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out

    def write(self, answer: tuple[object, ...]) -> None:
        data = pickle.dumps(answer)
        self._out.write(FRAME.pack(len(data)) + data)
        self._out.flush()


async def _handle(sessions: SmtpSessions, request: Request, replies: _Replies) -> None:
    request_id, mail, destination, our_address, documents, now = request
    try:
        made = compose(mail, destination, our_address, documents, now)
        sent = await sessions.send(made.raw, made.recipients, sender=made.sender, utf8=made.utf8)
    except PermanentError as error:
        replies.write((request_id, "permanent", str(error)))
    except TransientError as error:
        replies.write((request_id, "transient", str(error)))
    except Exception as error:  # the daemon retries; the text tells the operator what it was
        replies.write((request_id, "transient", f"SMTP: {type(error).__name__}: {error}"))
    else:
        replies.write((request_id, "sent", sent))


async def serve(out: BinaryIO) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**31)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    first = await _read_frame(reader)
    if first is None:
        return
    settings: SessionSettings = pickle.loads(first)  # noqa: S301 (our own daemon wrote it)
    sessions = SmtpSessions(settings)
    replies = _Replies(out)
    out.write(READY)
    out.flush()
    try:
        async with asyncio.TaskGroup() as group:
            while (frame := await _read_frame(reader)) is not None:
                request: Request = pickle.loads(frame)  # noqa: S301 (our own daemon wrote it)
                group.create_task(_handle(sessions, request, replies))
    finally:
        await sessions.close()


def _die_with(parent_pid: int) -> None:
    """SIGKILL when the daemon dies; where prctl is missing, a poll of the parent."""
    libc_name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(libc_name) if libc_name is not None else None
    if libc is not None and libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) == 0:
        if os.getppid() != parent_pid:  # it died before the signal was asked for
            os._exit(1)
        return
    threading.Thread(target=_exit_with, args=(parent_pid,), daemon=True).start()


def _exit_with(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(_PARENT_CHECK_SECONDS)
    os._exit(1)


def main() -> None:
    parent_pid = int(sys.argv[1])
    _die_with(parent_pid)
    # Receipts and notices wait safely in the outbox; filing mail and answering chat
    # must not. On a small machine busy with a backlog the sender yields the CPU to
    # them, and catches up as soon as they rest (the nice level never starves it).
    os.nice(SENDER_NICENESS)
    # The protocol owns fd 1; anything a library prints goes to stderr instead.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    asyncio.run(serve(out))


if __name__ == "__main__":
    main()
