"""A poll someone pinned with 📌, read as a message: its question, then its options.

MSC3381 polls come in two forms, and mautrix-whatsapp sends either (option
``extev_polls``): the stable ``m.poll.start`` (``m.poll`` with ``m.text``
blocks) and the unstable ``org.matrix.msc3381.poll.start`` (the question and
answers as ``org.matrix.msc1767.text``). Neither is an ``m.room.message``, so
without this the pin would answer "cannot read the message". Filing takes the
first line as title: the question; the numbered options become the text.
"""

from __future__ import annotations

from typing import Any

from connectors.matrix.convert import timestamp
from daemon.ports.chat import ChatMessage

STABLE_START = "m.poll.start"
UNSTABLE_START = "org.matrix.msc3381.poll.start"
_TEXT = "org.matrix.msc1767.text"
POLL_MSGTYPE = "m.poll"  # the msgtype a pinned poll gets as a ChatMessage


def poll_as_message(source: dict[str, Any], room_id: str, encrypted: bool) -> ChatMessage | None:
    """The poll start event ``source`` as a message ("question\\n1. option ..."), or None."""
    content = source.get("content")
    if not isinstance(content, dict) or source.get("type") not in (STABLE_START, UNSTABLE_START):
        return None
    parsed = _stable(content.get("m.poll")) or _unstable(content.get(UNSTABLE_START))
    if parsed is None:
        return None
    question, answers = parsed
    lines = [question, *(f"{number}. {answer}" for number, answer in enumerate(answers, 1))]
    return ChatMessage(
        room_id=room_id,
        event_id=str(source["event_id"]),
        sender=str(source["sender"]),
        body="\n".join(lines),
        formatted_body=None,
        msgtype=POLL_MSGTYPE,
        origin_server_ts=timestamp(int(source["origin_server_ts"])),
        encrypted=encrypted,
    )


def _stable(poll: Any) -> tuple[str, list[str]] | None:
    if not isinstance(poll, dict):
        return None
    question = _blocks((poll.get("question") or {}).get("m.text"))
    answers = [_blocks(a.get("m.text")) for a in poll.get("answers") or [] if isinstance(a, dict)]
    return (question, [a for a in answers if a]) if question else None


def _unstable(poll: Any) -> tuple[str, list[str]] | None:
    if not isinstance(poll, dict):
        return None
    asked = poll.get("question") or {}
    question = (
        _text(asked.get(_TEXT)) or _text(asked.get("body")) if isinstance(asked, dict) else ""
    )
    answers = [_text(a.get(_TEXT)) for a in poll.get("answers") or [] if isinstance(a, dict)]
    return (question, [a for a in answers if a]) if question else None


def _blocks(value: Any) -> str:
    """The plain text of an extensible-events text block list (``[{"body": ...}]``)."""
    if isinstance(value, str):
        return value.strip()
    if not isinstance(value, list):
        return ""
    for block in value:
        if isinstance(block, dict) and block.get("mimetype", "text/plain") == "text/plain":
            return _text(block.get("body"))
    return ""


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
