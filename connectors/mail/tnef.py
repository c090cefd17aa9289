"""Outlook's ``winmail.dat`` (TNEF): the files inside it, through tnefparse.

A TNEF blob is untrusted binary; tnefparse raises whatever its struct reads
hit (``struct.error``, ``ValueError``, ``IndexError``, ``UnicodeDecodeError``),
so any exception from it means "unreadable" and the sender is told.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from typing import Any

from tnefparse.tnef import TNEF

from connectors.mail.charsets import decode_text
from connectors.mail.html import html_to_text, tidy

TNEF_CONTENT_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})


class TnefUnreadableError(Exception):
    """The blob is not TNEF, or tnefparse could not read it."""


@dataclass(frozen=True, slots=True)
class TnefFile:
    filename: str | None
    content_type: str
    content: bytes


@dataclass(frozen=True, slots=True)
class TnefContents:
    files: tuple[TnefFile, ...]
    body_text: str  # the message body Outlook put inside, "" when none


def is_tnef(content_type: str, filename: str | None) -> bool:
    return content_type in TNEF_CONTENT_TYPES or (filename or "").strip().lower() == "winmail.dat"


def extract_tnef(data: bytes) -> TnefContents:
    """The files and body text inside a TNEF blob; ``TnefUnreadableError`` if unreadable."""
    try:
        parsed = TNEF(data, do_checksum=False)
        files = tuple(_file(attachment) for attachment in parsed.attachments)
        body = _body_text(parsed)
        has_body = parsed.has_body()
    except Exception as exc:  # see the module docstring: any failure means unreadable
        raise TnefUnreadableError(f"{type(exc).__name__}: {exc}") from exc
    if not files and not has_body:
        raise TnefUnreadableError("neither files nor a body inside")
    return TnefContents(files, body)


def _file(attachment: Any) -> TnefFile:
    name = _name(attachment) or None
    content = attachment.data if isinstance(attachment.data, bytes) else b""
    guessed, _ = mimetypes.guess_type(name or "", strict=False)
    return TnefFile(name, guessed or "application/octet-stream", content)


def _name(attachment: Any) -> str:
    try:
        return _text(attachment.long_filename())
    except Exception:  # tnefparse decodes a short name as UTF-8 and may fail on it
        return _text(getattr(attachment, "_name", b""))


def _body_text(parsed: Any) -> str:
    if parsed.body:
        return tidy(_text(parsed.body))
    if parsed.htmlbody:
        return html_to_text(_text(parsed.htmlbody))
    return ""


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return decode_text(value, None).strip("\x00").strip()
    if isinstance(value, str):
        return value.strip("\x00").strip()
    return ""
