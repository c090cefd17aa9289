"""Text from outside (a subject, a chat message, a file name) made safe to show.

Sender-supplied text never reaches a room or a page as markup: it is stripped of
control and bidirectional-override characters (which can make a file name or
link read backwards), mentions such as ``@room`` are defused with a word joiner
so no client pings anybody, it is cut to a sane length, and for HTML it is
escaped last.
"""

from __future__ import annotations

import html
import re
import unicodedata

# Bidi embeddings/overrides/isolates and other invisible direction marks.
_BIDI_CONTROLS = dict.fromkeys(
    [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C], None
)
_MENTION = re.compile(r"@(?=[\w.-])")
WORD_JOINER = "\u2060"
DEFAULT_LIMIT = 300
# Characters that draw nothing although Unicode calls them letters or marks, not
# format characters (Hangul fillers, the braille blank, the combining grapheme joiner).
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f")


def untrusted(text: str, limit: int = DEFAULT_LIMIT, *, multiline: bool = False) -> str:
    """Plain text safe to quote in a message: no controls, no pings, at most ``limit`` chars."""
    cleaned = text.translate(_BIDI_CONTROLS).replace("\r\n", "\n")
    kept_whitespace = "\n" if multiline else ""
    cleaned = "".join(
        ch
        if unicodedata.category(ch)[0] != "C" or ch in kept_whitespace
        else " "
        if ch.isspace()
        else ""
        for ch in cleaned
    )
    if not multiline:
        cleaned = " ".join(cleaned.split())
    cleaned = _MENTION.sub("@" + WORD_JOINER, cleaned)
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    return cleaned


def untrusted_html(text: str, limit: int = DEFAULT_LIMIT, *, multiline: bool = False) -> str:
    """``untrusted`` and then HTML-escaped; newlines become ``<br>`` when ``multiline``."""
    escaped = html.escape(untrusted(text, limit, multiline=multiline), quote=True)
    return escaped.replace("\n", "<br>") if multiline else escaped


def is_blank(text: str) -> bool:
    """Whether ``text`` shows as nothing once made safe: only whitespace, zero-width and
    bidi characters (U+200B, U+200C, U+200D, U+2060, U+FEFF, ...), or blank letters.
    Such a title counts as no title at all."""
    shown = untrusted(text, max(len(text), 1))
    return all(ch.isspace() or ch in _BLANK_LETTERS for ch in shown)
