"""A library's failure as a probe's ``Kind``: the cause chain is searched, since every
library wraps the socket's or TLS layer's error in its own."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

from daemon.ports.probe import Kind

_CERTIFICATE_WORDS = ("CERTIFICATE_VERIFY_FAILED", "certificate verify failed")


def causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and what it was raised from, innermost last, each once."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def network_kind(error: BaseException) -> Kind:
    """Certificate, TLS, unreachable, or (none of those) ``FAILED``."""
    chain = list(causes(error))
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain) or any(
        word in str(e) for e in chain for word in _CERTIFICATE_WORDS
    ):
        return Kind.CERTIFICATE
    if any(isinstance(e, ssl.SSLError) for e in chain):
        return Kind.TLS_FAILED
    if any(isinstance(e, ConnectionError | TimeoutError | socket.gaierror) for e in chain):
        return Kind.UNREACHABLE
    if any(isinstance(e, OSError) for e in chain):
        return Kind.UNREACHABLE
    return Kind.FAILED


def detail(error: BaseException) -> str:
    """The innermost useful words of a failure, on one line."""
    texts = [f"{type(e).__name__}: {e}".strip().rstrip(":") for e in causes(error)]
    return " <- ".join(dict.fromkeys(texts))[:300].replace("\n", " ")
