"""Chat text as typed on WhatsApp (through mautrix-whatsapp), made plain for filing.

Pure. The bridge keeps WhatsApp's formatting markers in a message's ``body``
(``*bold*``, ``_italic_``, ``~strike~``, ```` ```mono``` ````) and adds a
``formatted_body`` only when it found some. So ``*Agendapunt:* Fietsen`` must
be read as the prefix ``Agendapunt:``, and a title is stored without the
markers. People also start a message with an emoji ("📌 Agendapunt: ..."),
which says nothing about what is asked.

A marker counts only in pairs that WhatsApp itself would format: it opens
after a space or punctuation, closes before one, and hugs its text. So
``file_name_v2``, ``2*3*4`` and ``@whatsapp_316...:server`` stay as they are.
"""

from __future__ import annotations

import re
import unicodedata

_MONO = re.compile(r"```(?P<inner>.+?)```", re.S)
# One pair of *, _ or ~ around text that starts and ends with a non-space, not inside a word.
_PAIR = re.compile(r"(?<!\w)(?P<m>[*_~])(?=\S)(?P<inner>[^\n]*?\S)(?P=m)(?!\w)")
_MAX_ROUNDS = 4  # *_~nested~_* needs one round per level


def plain(text: str) -> str:
    """``text`` without WhatsApp's formatting markers (the words they mark stay)."""
    text = _MONO.sub(r"\g<inner>", text)
    for _ in range(_MAX_ROUNDS):
        stripped = _PAIR.sub(r"\g<inner>", text)
        if stripped == text:
            break
        text = stripped
    return text


def without_leading_decoration(text: str) -> str:
    """``text`` from its first letter, digit or ``!`` on: leading emoji, their joiners and
    variation selectors, bullets and spaces go."""
    for index, char in enumerate(text):
        if char.isalnum() or char == "!":
            return text[index:]
        if char.isspace() or _is_decoration(char):
            continue
        return text[index:]
    return ""


def _is_decoration(char: str) -> bool:
    category = unicodedata.category(char)
    # So: emoji and symbols; Sk: skin tones; Mn/Me/Cf: variation selectors, keycaps, ZWJ.
    return category in {"So", "Sk", "Mn", "Me", "Cf"} or char in "•·-–—>*_~"
