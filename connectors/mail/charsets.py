"""Bytes to text without silently losing a character, whatever the label claims.

The chain: the declared charset, strictly; else UTF-8; else Windows-1252 when
the bytes look like Western text; else charset-normalizer's guess; else
Windows-1252, which decodes anything. Labels ``us-ascii`` and ``iso-8859-1``
are read as Windows-1252, as every browser does (WHATWG Encoding), so Outlook's
smart quotes (bytes 0x91-0x94) labelled iso-8859-1 come out as ‘quotes’.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

# Labels whose bytes are, in practice, Windows-1252 (WHATWG maps them so).
_WINDOWS_1252_LABELS = frozenset({"ascii", "iso8859-1", "cp1252"})
# Legacy labels whose real-world bytes need the vendor superset to decode strictly.
_ASCII_COMPATIBLE = frozenset({None, "utf-8"}) | _WINDOWS_1252_LABELS
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
    "iso8859-9": "cp1254",
    "iso8859-11": "cp874",
    "tis-620": "cp874",
    "big5": "big5hkscs",
}
# Labels Python knows but that are no charset a mail can honestly use.
_NOT_CHARSETS = frozenset(
    {"unicode-escape", "raw-unicode-escape", "unicode_escape", "raw_unicode_escape", "idna",
     "punycode", "undefined", "mbcs", "oem", "charmap"}
)  # fmt: skip
_EXTRA_ALIASES = {"x-sjis": "cp932", "iso-8859-8-i": "iso8859-8", "x-unknown": ""}
_LABEL = re.compile(r"[A-Za-z0-9._:+-]{1,40}")

# Windows-1252 is Latin-1 except for 0x80-0x9F; the five bytes it leaves
# undefined stay C1 controls, exactly as WHATWG decodes them.
_C1_TO_CP1252 = {
    byte: bytes([byte]).decode("cp1252")
    for byte in range(0x80, 0xA0)
    if byte not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
}
# Western words have at most two non-ASCII letters in a row (NBSP aside); CJK and
# Cyrillic bytes read as Windows-1252 make long runs. C1 controls are the bytes
# Windows-1252 leaves undefined.
_WESTERN_BREAKER = re.compile(r"[^\x00-\x7f\xa0]{3}|[\x80-\x9f]")


def windows_1252(data: bytes) -> str:
    """WHATWG windows-1252: never fails, never drops a byte."""
    return data.decode("latin-1").translate({k: ord(v) for k, v in _C1_TO_CP1252.items()})


def codec_for(label: str | None) -> str | None:
    """Python's codec name for a MIME charset label, or None when unknown or unusable."""
    if not label:
        return None
    match = _LABEL.search(label.strip().strip("\"'"))
    if match is None:
        return None
    name = _EXTRA_ALIASES.get(match[0].lower(), match[0])
    if not name:
        return None
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    if codec in _NOT_CHARSETS or not _is_text_codec(codec):
        return None
    return _SUPERSETS.get(codec, codec)


def _is_text_codec(codec: str) -> bool:
    """False for bytes-to-bytes codecs such as base64 and rot13."""
    try:
        b"0".decode(codec)
    except LookupError:
        return False
    except UnicodeDecodeError:  # a text codec that wants more bytes (utf-16)
        return True
    return True


def decode_text(data: bytes, label: str | None) -> str:
    """Decode ``data`` labelled ``label`` (None when unlabelled) into text."""
    codec = codec_for(label)
    # Only for ASCII-compatible labels: iso-2022-jp and utf-7 are 7-bit too.
    if data.isascii() and codec in _ASCII_COMPATIBLE:
        return data.decode("ascii")
    if codec in _WINDOWS_1252_LABELS:
        # A mailer that says us-ascii or latin-1 and sends valid UTF-8 means UTF-8.
        return _strict(data, "utf-8") or windows_1252(data)
    if codec is not None:
        declared = _strict(data, codec)
        if declared is not None:
            return declared
    return _undeclared(data)


def _undeclared(data: bytes) -> str:
    """The chain for bytes whose label is missing, unknown or wrong."""
    as_utf8 = _strict(data, "utf-8")
    if as_utf8 is not None:
        return as_utf8
    western = windows_1252(data)
    if _looks_western(western):
        # Detection guesses exotic code pages for a short Dutch text ("café" as
        # cp775); for text that reads as Western, Windows-1252 is the better bet.
        return western
    return _detected(data) or western


def _strict(data: bytes, codec: str) -> str | None:
    try:
        text = data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None
    return text.removeprefix("\ufeff")


def _looks_western(text: str) -> bool:
    """No undefined Windows-1252 byte, and no run of more than two non-ASCII characters."""
    return _WESTERN_BREAKER.search(text) is None


def _detected(data: bytes) -> str | None:
    best = charset_normalizer.from_bytes(data).best()
    if best is None or best.encoding is None:
        return None
    return _strict(data, best.encoding)


def decode_surrogates(text: str) -> str:
    """Text the email parser read as ASCII with surrogate escapes, decoded properly.

    Raw 8-bit header bytes (RFC 6532 UTF-8 headers, or a sender's local charset)
    arrive as lone surrogates; recover the bytes and run the chain on them.
    """
    if text.isascii():
        return text
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # lone surrogates outside the escape range
        return text.encode("utf-8", "replace").decode("utf-8")
    return decode_text(raw, None)
