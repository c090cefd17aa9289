"""A parse worker's process: ``python -m connectors.mail.worker_main MEMORY_LIMIT PARENT_PID``.

It reads requests from stdin and writes replies to stdout, each a 4-byte
big-endian length and a pickle: a request is ``(function name, args)``, a reply
``(True, result)`` or ``(False, exception)``. It caps its own address space
first, so a decompression bomb ends in ``MemoryError`` here and not in the
machine swapping, and it ends itself when stdin closes (the daemon is done
with it) or the daemon is gone (a SIGKILLed daemon cannot close the pipe of a
worker busy with a mail that never ends).

Only this process imports the parsing libraries (lxml, inscriptis, nh3,
charset-normalizer, tnefparse): the daemon stays small.
"""

from __future__ import annotations

import os
import pickle
import resource
import struct
import sys
import threading
import time
from collections.abc import Callable
from email import policy
from email.parser import BytesHeaderParser
from typing import Any, BinaryIO

from connectors.mail import headers
from connectors.mail.parse import parse_mail
from connectors.mail.signals import sender_signals
from daemon.ports.mail import MailLimits, ParsedMail
from daemon.ports.parser import SenderHint

FRAME = struct.Struct(">I")
READY = b"R"
_PARENT_CHECK_SECONDS = 1.0


def parse(raw: bytes, our_address: str, limits: MailLimits) -> ParsedMail:
    return parse_mail(raw, our_address=our_address, limits=limits)


def read_sender_hint(raw: bytes) -> SenderHint | None:
    """The sender and RFC 3834 signals from the header block alone."""
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


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "parse": parse,
    "sender_hint": read_sender_hint,
}


def _cap_memory(max_bytes: int) -> None:
    if max_bytes > 0:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = max_bytes if hard == resource.RLIM_INFINITY else min(max_bytes, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _exit_with(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(_PARENT_CHECK_SECONDS)
    os._exit(1)


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    data = stream.read(size)
    return data if len(data) == size else None


def _reply(out: BinaryIO, ok: bool, value: object) -> None:
    try:
        data = pickle.dumps((ok, value))
    except Exception:  # an exception that cannot be pickled still has a text
        data = pickle.dumps((False, RuntimeError(f"{type(value).__name__}: {value}"[:500])))
    out.write(FRAME.pack(len(data)) + data)
    out.flush()


def serve(requests: BinaryIO, out: BinaryIO) -> None:
    """Answer requests until stdin closes."""
    out.write(READY)
    out.flush()
    while (header := _read_exactly(requests, FRAME.size)) is not None:
        payload = _read_exactly(requests, FRAME.unpack(header)[0])
        if payload is None:
            return
        name, args = pickle.loads(payload)  # noqa: S301 (our own daemon wrote it)
        try:
            result = FUNCTIONS[name](*args)
        except BaseException as error:  # the daemon decides what it means
            _reply(out, False, error)
        else:
            _reply(out, True, result)


def main() -> None:
    max_bytes, parent_pid = int(sys.argv[1]), int(sys.argv[2])
    _cap_memory(max_bytes)
    threading.Thread(target=_exit_with, args=(parent_pid,), daemon=True).start()
    # The protocol owns fd 1; anything a library prints goes to stderr instead.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    serve(sys.stdin.buffer, out)


if __name__ == "__main__":
    main()
