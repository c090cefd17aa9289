"""Attachment names made safe to show and to offer as a download name.

The sender chooses the name, so it may be ``../../etc/passwd``, carry a
right-to-left override that turns ``fdp.exe`` into ``exe.pdf`` on screen, or be
missing. The result is display text only: storage is content-addressed.
"""

from __future__ import annotations

import mimetypes
import unicodedata

MAX_FILENAME_CHARS = 120
_MAX_SUFFIX_CHARS = 16
# Reserved on Windows and by most shells; replaced so a download never surprises.
_UNSAFE = str.maketrans(dict.fromkeys('<>:"|?*', "_"))
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{i}" for i in range(1, 10)}
    | {f"lpt{i}" for i in range(1, 10)}
)
# Extensions for types a partner commonly sends without a name.
_KNOWN_SUFFIXES = {
    "application/pdf": ".pdf",
    "message/rfc822": ".eml",
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
}


def fallback_filename(index: int, content_type: str) -> str:
    """``bijlage-3.pdf`` for the third attachment when it has no usable name."""
    return f"bijlage-{index}{suffix_for(content_type)}"


def suffix_for(content_type: str) -> str:
    return _KNOWN_SUFFIXES.get(content_type) or mimetypes.guess_extension(content_type) or ".bin"


def sanitise_filename(name: str | None, index: int, content_type: str) -> str:
    """A short, single-component, printable name; ``bijlage-N.ext`` when nothing is left."""
    if not name:
        return fallback_filename(index, content_type)
    text = unicodedata.normalize("NFC", name)
    # Controls (Cc), format characters such as RTL overrides and zero-widths (Cf),
    # line and paragraph separators (Zl, Zp) and lone surrogates (Cs) all go.
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Zl", "Zp"))
    text = text.replace("\\", "/").rsplit("/", 1)[-1]  # the last path component only
    text = " ".join(text.translate(_UNSAFE).split()).strip(" .")
    if not text:
        return fallback_filename(index, content_type)
    if text.split(".")[0].lower() in _WINDOWS_RESERVED:
        text = "_" + text
    return _shortened(text)


def _shortened(name: str) -> str:
    if len(name) <= MAX_FILENAME_CHARS:
        return name
    stem, dot, suffix = name.rpartition(".")
    if dot and stem and len(suffix) < _MAX_SUFFIX_CHARS:
        keep = MAX_FILENAME_CHARS - len(suffix) - 2
        return f"{stem[:keep].rstrip()}….{suffix}"
    return name[: MAX_FILENAME_CHARS - 1].rstrip() + "…"


def content_type_for(declared: str, filename: str | None) -> str:
    """The declared type, or a guess from the name when the sender said octet-stream."""
    if declared == "application/octet-stream" and filename:
        guessed, _ = mimetypes.guess_type(filename, strict=False)
        if guessed:
            return guessed
    return declared
