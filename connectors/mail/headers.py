"""Header values as text: raw access, RFC 2047 encoded words, addresses, ids and dates.

We read every header as the raw string the parser stored and decode it here.
``email.policy.default`` builds header objects that raise on real mail
(``IndexError`` for ``Message-ID: <@>`` or ``To: =?utf-8?q?x?= <``), and it
decodes an unknown charset lossily; this module never raises on a value.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from email.message import Message

from connectors.mail.charsets import decode_surrogates, decode_text

# RFC 2047 encoded word; an RFC 2231 language suffix ("utf-8*nl") is allowed.
_ENCODED_WORD = re.compile(r"=\?([^?\s*]{1,40})(?:\*[^?\s]{0,20})?\?([bBqQ])\?([^?\s]*)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
# Control characters, line separators and bidi overrides (which can disguise a name).
_CONTROL = re.compile(
    r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069]"
)
_MSG_ID = re.compile(r"<([^<>]{1,250})>")
_BARE_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"@]{1,64}@[^\s<>()\[\],;:\"@]{1,255}")
_MAX_REFERENCES = 100


def raw_values(msg: Message, name: str) -> list[str]:
    """Every raw value of header ``name`` (case-insensitive), unfolded, bytes as surrogates."""
    wanted = name.lower()
    return [_FOLD.sub("", str(v)) for k, v in msg.raw_items() if k.lower() == wanted]


def first_raw(msg: Message, name: str) -> str | None:
    values = raw_values(msg, name)
    return values[0] if values else None


def decode_words(raw: str) -> str:
    """Decode RFC 2047 encoded words and raw 8-bit bytes; whitespace between words goes."""
    pieces: list[str] = []
    pending: list[tuple[bytes, str]] = []  # adjacent words, joined per charset before decoding
    position = 0
    for match in _ENCODED_WORD.finditer(raw):
        gap = raw[position : match.start()]
        if gap and (not pending or gap.strip()):
            pieces.append(_flush(pending))
            pieces.append(decode_surrogates(gap))
        charset, encoding, payload = match[1], match[2].lower(), match[3]
        if pending and pending[-1][1] != charset.lower():
            pieces.append(_flush(pending))
        pending.append((_word_bytes(encoding, payload), charset.lower()))
        position = match.end()
    pieces.append(_flush(pending))
    pieces.append(decode_surrogates(raw[position:]))
    return "".join(pieces)


def _flush(pending: list[tuple[bytes, str]]) -> str:
    """Decode the collected words as one run: a character may be split across two words."""
    if not pending:
        return ""
    text = decode_text(b"".join(data for data, _ in pending), pending[0][1])
    pending.clear()
    return text


def _word_bytes(encoding: str, payload: str) -> bytes:
    data = payload.encode("ascii", "surrogateescape")
    if encoding == "q":
        return binascii.a2b_qp(data, header=True)
    data = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
    data = data[: len(data) - len(data) % 4] if len(data) % 4 == 1 else data
    try:
        return base64.b64decode(data + b"=" * (-len(data) % 4))
    except binascii.Error:
        return b""


def display_text(raw: str | None) -> str:
    """A header as one line of display text: decoded, no control characters, spaces collapsed."""
    if not raw:
        return ""
    return " ".join(_CONTROL.sub(" ", decode_words(raw)).split())


def addresses(raw_list: Iterable[str]) -> list[tuple[str, str]]:
    """(display name, lowercased addr-spec) pairs; entries without a usable address are dropped."""
    values = [decode_surrogates(v) for v in raw_list]
    found: list[tuple[str, str]] = []
    try:
        pairs = email.utils.getaddresses(values)
    except (ValueError, IndexError, TypeError):
        pairs = []
    for name, address in pairs:
        cleaned = _clean_address(address)
        if cleaned:
            found.append((display_text(name), cleaned))
    if not found:  # getaddresses gave up on a broken header; take what looks like an address
        for value in values:
            found.extend(("", match.lower()) for match in _BARE_ADDRESS.findall(value))
    return found


def address_list(raw_list: Iterable[str]) -> tuple[str, ...]:
    """Lowercased addr-specs, in order, without repeats."""
    return tuple(dict.fromkeys(address for _, address in addresses(raw_list)))


def _clean_address(address: str) -> str:
    address = "".join(address.split()).strip("<>").lower()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or _CONTROL.search(address):
        return ""
    return address


def return_path(raw: str | None) -> str | None:
    """The envelope sender our server recorded: "" for the null sender ``<>``."""
    if raw is None:
        return None
    value = "".join(decode_surrogates(raw).split())
    if value in ("<>", ""):
        return ""
    return _clean_address(value) or value.strip("<>").lower()


def message_ids(raw_list: Iterable[str]) -> list[str]:
    """Every ``<id>`` in the values, whitespace removed, in order, without repeats."""
    found: dict[str, None] = {}
    for raw in raw_list:
        compact = "".join(decode_surrogates(raw).split())
        ids = [f"<{m}>" for m in _MSG_ID.findall(compact)]
        if not ids and "@" in compact and "<" not in compact and len(compact) <= 250:
            ids = [f"<{compact}>"]  # a bare id without angle brackets
        found.update(dict.fromkeys(i for i in ids if not _CONTROL.search(i)))
    return list(found)


def references(raw_list: Iterable[str]) -> tuple[str, ...]:
    """The References chain, bounded: the thread's root and the most recent ancestors."""
    ids = message_ids(raw_list)
    if len(ids) > _MAX_REFERENCES:
        ids = ids[:1] + ids[-(_MAX_REFERENCES - 1) :]
    return tuple(ids)


def parse_date(raw: str | None) -> datetime | None:
    """The Date header as an aware datetime (UTC when it has no zone), or None."""
    if not raw:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(decode_surrogates(raw).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed
