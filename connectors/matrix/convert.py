"""Room events (as the raw dicts matrix-nio keeps in ``event.source``) to the core's dataclasses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connectors.matrix.polls import RESPONSE_TYPES, poll_response
from daemon.ports.chat import ChatAttachment, ChatEvent, ChatMessage, ChatReaction

FILE_MSGTYPES = frozenset({"m.file", "m.image", "m.audio", "m.video"})


def timestamp(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def to_chat_event(source: dict[str, Any], room_id: str, encrypted: bool) -> ChatEvent | None:
    """The core's view of one room event, or None for events the core does not act on.

    Edits (``m.replace``) are dropped: the original was already delivered, and
    acting on an edit would file the same thing twice.
    """
    content = source.get("content")
    if not isinstance(content, dict):
        return None
    kind = source.get("type")
    if kind == "m.room.message":
        return _message(source, content, room_id, encrypted)
    if kind == "m.reaction":
        return _reaction(source, content, room_id)
    if kind in RESPONSE_TYPES:
        return poll_response(source, content, room_id)
    return None


def _message(
    source: dict[str, Any], content: dict[str, Any], room_id: str, encrypted: bool
) -> ChatMessage | None:
    relation = content.get("m.relates_to") or {}
    if relation.get("rel_type") == "m.replace" or not isinstance(content.get("body"), str):
        return None
    msgtype = str(content.get("msgtype", "m.text"))
    attachment = _attachment(content) if msgtype in FILE_MSGTYPES else None
    body: str = content["body"]
    if attachment is not None:
        # A file's body is its caption only when a separate filename is given.
        body = body if content.get("filename") not in (None, body) else ""
    formatted = content.get("formatted_body")
    is_html = content.get("format") == "org.matrix.custom.html" and isinstance(formatted, str)
    thread_root, reply_to = _relations(relation)
    return ChatMessage(
        room_id=room_id,
        event_id=str(source["event_id"]),
        sender=str(source["sender"]),
        body=body,
        formatted_body=formatted if is_html else None,
        msgtype=msgtype,
        origin_server_ts=timestamp(int(source["origin_server_ts"])),
        thread_root=thread_root,
        reply_to=reply_to,
        attachment=attachment,
        encrypted=encrypted,
    )


def _relations(relation: dict[str, Any]) -> tuple[str | None, str | None]:
    """(thread root, replied-to event); a thread's fallback reply is not a real reply."""
    in_reply_to = (relation.get("m.in_reply_to") or {}).get("event_id")
    if relation.get("rel_type") == "m.thread":
        root = relation.get("event_id")
        falling_back = bool(relation.get("is_falling_back"))
        return root, None if falling_back else in_reply_to
    return None, in_reply_to


def _attachment(content: dict[str, Any]) -> ChatAttachment | None:
    encrypted_file = content.get("file")
    url = encrypted_file.get("url") if isinstance(encrypted_file, dict) else content.get("url")
    if not isinstance(url, str):
        return None
    info = content.get("info") or {}
    size = info.get("size")
    return ChatAttachment(
        filename=str(content.get("filename") or content.get("body") or "file"),
        content_type=str(info.get("mimetype") or "application/octet-stream"),
        size=size if isinstance(size, int) else None,
        url=url,
        encryption=encrypted_file if isinstance(encrypted_file, dict) else None,
    )


def _reaction(source: dict[str, Any], content: dict[str, Any], room_id: str) -> ChatReaction | None:
    relation = content.get("m.relates_to") or {}
    if relation.get("rel_type") != "m.annotation":
        return None
    target, key = relation.get("event_id"), relation.get("key")
    if not isinstance(target, str) or not isinstance(key, str):
        return None
    return ChatReaction(
        room_id=room_id,
        event_id=str(source["event_id"]),
        sender=str(source["sender"]),
        relates_to=target,
        key=key,
        origin_server_ts=timestamp(int(source["origin_server_ts"])),
    )
