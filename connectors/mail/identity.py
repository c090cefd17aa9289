"""A mail's identity: the hash of its bytes without the trace fields servers add on delivery.

The same mail delivered twice (a sending server retrying after a lost answer, or
one mail sent to two of our aliases) arrives as two copies that differ only in
what the receiving servers put on top: ``Received``, ``Return-Path``,
``Delivered-To``, our own ``Authentication-Results`` and spam verdicts. The
intake recognises a repeat by Message-ID plus this hash, so those fields must
not count. Everything the sender wrote does: different content under one
Message-ID stays two mails.
"""

from __future__ import annotations

import hashlib
import re

# Added by servers on the way in, never by the sender (RFC 5321 §4.4, RFC 8601, RFC 8617),
# and the envelope records delivery agents and spam filters write.
TRACE_FIELDS = frozenset(
    {"received", "return-path", "delivered-to", "x-original-to", "x-delivered-to",
     "envelope-to", "x-envelope-to", "x-envelope-from", "authentication-results",
     "arc-authentication-results", "arc-message-signature", "arc-seal", "received-spf",
     "x-received", "x-virus-scanned", "x-greylist"}
)  # fmt: skip
TRACE_PREFIXES = ("x-spam-", "x-rspamd-", "x-ham-report", "x-virus-")

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_FIELD_START = re.compile(rb"\r?\n(?![ \t])")
_NAME = re.compile(rb"^([\x21-\x39\x3b-\x7e]{1,76})[ \t]*:")


def is_trace_field(name: str) -> bool:
    name = name.strip().lower()
    return name in TRACE_FIELDS or name.startswith(TRACE_PREFIXES)


def identity_sha256(raw: bytes) -> str:
    """sha256 of ``raw`` with the top-level header block's trace fields left out."""
    end = _HEADER_END.search(raw)
    head, rest = (raw, b"") if end is None else (raw[: end.start()], raw[end.start() :])
    kept = [field for field in _FIELD_START.split(head) if not _is_trace(field)]
    return hashlib.sha256(b"\r\n".join(kept) + rest).hexdigest()


def _is_trace(field: bytes) -> bool:
    match = _NAME.match(field)
    return match is not None and is_trace_field(match[1].decode("ascii"))
