"""Effects: what Wijkbode sends, as outbox rows, and the ``Channel`` that delivers them.

An effect is written as an outbox row in the same store transaction as the
state change that causes it (``tx.enqueue(NewEffect(...), now=...)``). Its
``key`` is unique: enqueueing the same key twice keeps the first row, so a
re-run of the same state change cannot double an effect. The dispatcher hands
the whole ``Effect`` (key included) to the channel, so the far side can drop a
repeat: the key is the Matrix transaction id, derives the mail Message-ID, and
the calendar write carries a stable UID.

Payloads are frozen dataclasses that round-trip through JSON
(``payload.to_json()`` / ``decode_payload(text)``).
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal, Protocol

__all__ = [
    "CalendarWrite",
    "Channel",
    "ChannelName",
    "ChatPoll",
    "ChatPost",
    "ChatReaction",
    "DocumentRef",
    "Effect",
    "EffectStatus",
    "FeedChange",
    "MailOut",
    "NewEffect",
    "Payload",
    "decode_payload",
    "message_id_for",
]


class ChannelName(enum.StrEnum):
    """The outside systems effects go to; one dispatcher per channel."""

    MATRIX = "matrix"
    MAIL = "mail"
    CALDAV = "caldav"
    FEED = "feed"


class EffectStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for (another) delivery attempt
    DELIVERED = "delivered"  # the channel confirmed it
    PARKED = "parked"  # refused for good; waits for ``wijkbode outbox retry``


@dataclass(frozen=True, slots=True)
class DocumentRef:
    """A stored document to send along; the channel reads it by ``sha256``."""

    sha256: str
    filename: str
    content_type: str

    def to_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "filename": self.filename, "content_type": self.content_type}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DocumentRef:
        return cls(str(data["sha256"]), str(data["filename"]), str(data["content_type"]))


def _documents(data: dict[str, Any], name: str) -> tuple[DocumentRef, ...]:
    return tuple(DocumentRef.from_dict(d) for d in data.get(name, ()))


def _optional(value: Any) -> str | None:
    return None if value is None else str(value)


class _JsonPayload:
    """``to_json`` for the payload classes: their fields plus a ``type`` tag."""

    TYPE: ClassVar[str]

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def to_json(self) -> str:
        return json.dumps({"type": self.TYPE, **self.to_dict()}, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True, slots=True)
class ChatPost(_JsonPayload):
    """A message in a room; ``body`` is plain text, ``html`` its formatted version."""

    TYPE: ClassVar[str] = "chat_post"

    body: str
    html: str
    reply_to: str | None = None
    thread_root: str | None = None
    documents: tuple[DocumentRef, ...] = ()
    # The caption each document's file carries ("WB-12: title"): a file reaches a
    # WhatsApp group through the bridge without the notice before it (docs/whatsapp.md).
    file_caption: str = ""

    def to_dict(self) -> dict[str, Any]:
        caption = {"file_caption": self.file_caption} if self.file_caption else {}
        return {
            "body": self.body,
            "html": self.html,
            "reply_to": self.reply_to,
            "thread_root": self.thread_root,
            "documents": [d.to_dict() for d in self.documents],
            **caption,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChatPost:
        return cls(
            body=str(data["body"]),
            html=str(data["html"]),
            reply_to=_optional(data.get("reply_to")),
            thread_root=_optional(data.get("thread_root")),
            documents=_documents(data, "documents"),
            file_caption=str(data.get("file_caption") or ""),
        )


@dataclass(frozen=True, slots=True)
class ChatReaction(_JsonPayload):
    """A reaction (annotation) ``key`` on the event ``event_id``, e.g. ✅ on a filing."""

    TYPE: ClassVar[str] = "chat_reaction"

    event_id: str
    key: str

    def to_dict(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "key": self.key}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChatReaction:
        return cls(event_id=str(data["event_id"]), key=str(data["key"]))


@dataclass(frozen=True, slots=True)
class MailOut(_JsonPayload):
    """One outgoing mail. ``message_id`` is fixed when enqueued, so a resend carries it again.

    ``auto_submitted`` is the RFC 3834 header value ("auto-generated" for
    scheduled mail, "auto-replied" for receipts), or ``None`` for none.
    """

    TYPE: ClassVar[str] = "mail_out"

    to: tuple[str, ...]
    subject: str
    text: str
    message_id: str
    html: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    auto_submitted: str | None = "auto-generated"
    attachments: tuple[DocumentRef, ...] = ()
    # Further header fields (name, value), e.g. List-Unsubscribe for a subscriber's mail.
    headers: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        extra = {"headers": [list(h) for h in self.headers]} if self.headers else {}
        return {
            **extra,
            "to": list(self.to),
            "subject": self.subject,
            "text": self.text,
            "message_id": self.message_id,
            "html": self.html,
            "in_reply_to": self.in_reply_to,
            "references": list(self.references),
            "auto_submitted": self.auto_submitted,
            "attachments": [d.to_dict() for d in self.attachments],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MailOut:
        return cls(
            to=tuple(str(a) for a in data["to"]),
            subject=str(data["subject"]),
            text=str(data["text"]),
            message_id=str(data["message_id"]),
            html=_optional(data.get("html")),
            in_reply_to=_optional(data.get("in_reply_to")),
            references=tuple(str(r) for r in data.get("references", ())),
            auto_submitted=_optional(data.get("auto_submitted")),
            attachments=_documents(data, "attachments"),
            headers=tuple((str(n), str(v)) for n, v in data.get("headers", ())),
        )


CalendarAction = Literal["upsert", "cancel"]


@dataclass(frozen=True, slots=True)
class CalendarWrite(_JsonPayload):
    """Create, update or cancel one event; ``uid`` is stable per meeting, so nothing doubles.

    ``sequence`` grows with every write of the same ``uid`` (RFC 5545 SEQUENCE).
    """

    TYPE: ClassVar[str] = "calendar_write"

    uid: str
    action: CalendarAction
    summary: str
    start: datetime
    end: datetime
    location: str
    description: str
    sequence: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "action": self.action,
            "summary": self.summary,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "location": self.location,
            "description": self.description,
            "sequence": self.sequence,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CalendarWrite:
        action = str(data["action"])
        if action not in ("upsert", "cancel"):
            raise ValueError(f"unknown calendar action {action!r}")
        return cls(
            uid=str(data["uid"]),
            action="upsert" if action == "upsert" else "cancel",
            summary=str(data["summary"]),
            start=datetime.fromisoformat(str(data["start"])),
            end=datetime.fromisoformat(str(data["end"])),
            location=str(data["location"]),
            description=str(data["description"]),
            sequence=int(data["sequence"]),
        )


@dataclass(frozen=True, slots=True)
class FeedChange(_JsonPayload):
    """A change to a public feed or page (filled in by the publication issue)."""

    TYPE: ClassVar[str] = "feed_change"

    feed: str
    entry_id: str
    action: str

    def to_dict(self) -> dict[str, Any]:
        return {"feed": self.feed, "entry_id": self.entry_id, "action": self.action}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeedChange:
        return cls(
            feed=str(data["feed"]), entry_id=str(data["entry_id"]), action=str(data["action"])
        )


@dataclass(frozen=True, slots=True)
class ChatPoll(_JsonPayload):
    """A poll in a room (Matrix: MSC3381), or the end of one (``ends``: the start event's id).

    ``answers`` are (id, label); ``text`` is the plain form for clients and bridges that
    show no poll (numbered options; for an end, the result). A start's delivered
    ``remote_id`` is the event the responses point at.
    """

    TYPE: ClassVar[str] = "chat_poll"

    question: str
    answers: tuple[tuple[str, str], ...]
    text: str
    html: str = ""
    ends: str | None = None  # a poll end: the start event it closes

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answers": [list(answer) for answer in self.answers],
            "text": self.text,
            "html": self.html,
            "ends": self.ends,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChatPoll:
        return cls(
            question=str(data["question"]),
            answers=tuple((str(a), str(b)) for a, b in data.get("answers", ())),
            text=str(data["text"]),
            html=str(data.get("html") or ""),
            ends=_optional(data.get("ends")),
        )


Payload = ChatPost | ChatReaction | MailOut | CalendarWrite | FeedChange | ChatPoll

_PAYLOAD_TYPES: dict[str, type[Payload]] = {
    cls.TYPE: cls for cls in (ChatPost, ChatReaction, MailOut, CalendarWrite, FeedChange, ChatPoll)
}


def decode_payload(text: str) -> Payload:
    """The payload a ``to_json()`` wrote; ``ValueError`` for an unknown ``type``."""
    data = json.loads(text)
    kind = data.pop("type", None)
    cls = _PAYLOAD_TYPES.get(str(kind))
    if cls is None:
        raise ValueError(f"unknown outbox payload type {kind!r}")
    return cls.from_dict(data)


def message_id_for(key: str, domain: str) -> str:
    """The Message-ID of the mail with outbox ``key``: the same key always gives the same id."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<wijkbode.{digest}@{domain}>"


@dataclass(frozen=True, slots=True)
class NewEffect:
    """An effect to enqueue: where it goes, its idempotency key, and what it is."""

    channel: ChannelName
    destination: str  # room id, mail address, calendar name, feed name
    key: str
    payload: Payload


@dataclass(frozen=True, slots=True)
class Effect:
    """An outbox row as the dispatcher and the channel see it."""

    id: int
    channel: ChannelName
    destination: str
    key: str
    payload: Payload
    created_at: datetime
    status: EffectStatus
    attempts: int  # failed attempts so far
    next_attempt_at: datetime | None
    last_error: str | None
    delivered_at: datetime | None
    remote_id: str | None


class Channel(Protocol):
    """An outside system that delivers effects; implemented in ``connectors/``."""

    @property
    def name(self) -> ChannelName: ...

    async def deliver(self, effect: Effect) -> str:
        """Deliver ``effect`` and return the remote id (event id, Message-ID, UID).

        Must be safe to call again with the same ``effect.key`` after a crash or
        an unconfirmed attempt (use the key as transaction id / Message-ID / UID).
        Raise ``TransientError`` to be retried later, ``PermanentError`` to park it.
        """
        ...
