"""How large one chat post may be: Matrix refuses an event over 64 KiB. Pure.

A homeserver answers M_TOO_LARGE to an event over 65,536 bytes (JSON, with its
envelope, and in an encrypted room the ciphertext); the outbox cannot retry that into
success and parks the row, so the message would be lost. The messages shorten their own lists to fit
(:mod:`daemon.publish.messages`, the stukken package); :func:`within_matrix_limit`
is the last guard where every effect is enqueued, so a post that still escapes is
shortened, never sent too large.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Final

from daemon.ports.outbox import ChatPost

__all__ = ["MATRIX_CONTENT_LIMIT", "matrix_content_size", "within_matrix_limit"]

# The body and the formatted body together, measured as the JSON the client sends. In an
# encrypted room the homeserver sees megolm's base64 ciphertext of the whole event, a
# third larger than the text, inside the event's envelope (hashes, signatures, the
# events it follows): 65,536 × 3/4 leaves about 48,000 bytes for the plaintext event,
# and this keeps some of that for the relations, the mentions and the idempotency key.
MATRIX_CONTENT_LIMIT: Final = 45_000
# Bilingual like the daemon's other fixed notes ("laat: ... (late: ...)").
SHORTENED: Final = "\n… ingekort (shortened)"
# A file's caption is one line ("WB-12: title"); nobody reads more under a file.
_CAPTION_CHARS: Final = 1000


def matrix_content_size(text: str, html: str) -> int:
    """The bytes of a Matrix message's content as the client sends it (JSON, ASCII-escaped)."""
    content = {"msgtype": "m.notice", "body": text, "format": "org.matrix.custom.html"}
    return len(json.dumps({**content, "formatted_body": html}).encode())


def within_matrix_limit(post: ChatPost) -> ChatPost:
    """``post`` when it fits one Matrix event; else without its formatting, and if the
    plain text alone is still too large, its beginning (whole lines) and "… ingekort"."""
    caption = post.file_caption
    if len(caption) > _CAPTION_CHARS:
        post = replace(post, file_caption=caption[: _CAPTION_CHARS - 1].rstrip() + "…")
    if matrix_content_size(post.body, post.html) <= MATRIX_CONTENT_LIMIT:
        return post
    if matrix_content_size(post.body, "") <= MATRIX_CONTENT_LIMIT:
        return replace(post, html="")
    # The longest beginning that fits with the note (the size grows with the length).
    low, high = 0, len(post.body)
    while low < high:
        middle = (low + high + 1) // 2
        if matrix_content_size(post.body[:middle] + SHORTENED, "") <= MATRIX_CONTENT_LIMIT:
            low = middle
        else:
            high = middle - 1
    kept = post.body[:low]
    if "\n" in kept:
        kept = kept[: kept.rindex("\n")]
    return replace(post, body=kept.rstrip() + SHORTENED, html="")
