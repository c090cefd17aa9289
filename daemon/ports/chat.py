"""Chat (Matrix) as the core sees it: plain events in, plain messages out.

A connector (``connectors/matrix``) turns the homeserver's events into the
frozen dataclasses below and sends ``OutgoingChat`` messages. The core never
sees a matrix-nio type.

Acknowledgement: ``ChatClient.events()`` is *pull-acknowledged*. The consumer
handles one event completely (one store transaction that records its effects
and ``mark_event_handled(event_id, room_id)``) before it asks for the next
one. The connector saves its sync position only once every event of a sync
batch has been pulled again past, and skips events its ``HandledEvents`` says
are done; so a crash re-delivers at most the unfinished events, and none twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

# Every message Wijkbode sends carries its idempotency key under this content key,
# so a re-send after a long outage can first look for the earlier copy.
IDEMPOTENCY_CONTENT_KEY = "nl.wijkbode.key"


@dataclass(frozen=True, slots=True)
class ChatAttachment:
    """A file on a message; pass it to ``ChatClient.download`` for the bytes."""

    filename: str
    content_type: str
    size: int | None
    url: str
    # The room's decryption info (an EncryptedFile) for files in encrypted rooms.
    encryption: Mapping[str, Any] | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """An ``m.room.message`` from someone else, decrypted if it was encrypted."""

    room_id: str
    event_id: str
    sender: str
    body: str
    formatted_body: str | None
    msgtype: str
    origin_server_ts: datetime
    thread_root: str | None = None
    reply_to: str | None = None
    attachment: ChatAttachment | None = None
    encrypted: bool = False


@dataclass(frozen=True, slots=True)
class ChatReaction:
    """An ``m.reaction`` (annotation) from someone else."""

    room_id: str
    event_id: str
    sender: str
    relates_to: str
    key: str
    origin_server_ts: datetime


@dataclass(frozen=True, slots=True)
class ChatInvite:
    """Wijkbode was invited to a room; the core decides whether to ``join``."""

    room_id: str
    inviter: str


@dataclass(frozen=True, slots=True)
class ChatUndecryptable:
    """An encrypted event whose key never arrived, after the connector gave up waiting."""

    room_id: str
    event_id: str
    sender: str
    origin_server_ts: datetime


@dataclass(frozen=True, slots=True)
class ChatPollResponse:
    """A vote on a poll (MSC3381, stable ``m.poll.response`` or unstable
    ``org.matrix.msc3381.poll.response``), decrypted if it was encrypted.

    ``poll_event_id`` is the poll's start event; ``answers`` the answer ids chosen
    (empty: the vote was taken back).
    """

    room_id: str
    event_id: str
    sender: str
    poll_event_id: str
    answers: tuple[str, ...]
    origin_server_ts: datetime


ChatEvent = ChatMessage | ChatReaction | ChatInvite | ChatUndecryptable | ChatPollResponse


@dataclass(frozen=True, slots=True)
class OutgoingChat:
    """A message Wijkbode sends; always an ``m.notice`` that mentions nobody.

    ``body`` is the plain text every client can show; ``formatted_body`` is
    HTML the caller has already escaped. ``thread_root`` puts the message in a
    thread; ``reply_to`` makes it a reply (inside the thread when both are set).
    """

    body: str
    formatted_body: str | None = None
    thread_root: str | None = None
    reply_to: str | None = None


class HandledEvents(Protocol):
    """Wijkbode's own record of chat events already handled (the store's chat mixin)."""

    async def is_event_handled(self, event_id: str) -> bool: ...


class ChatClient(Protocol):
    """What the core needs from a chat service.

    Every method raises ``TransientError`` (try later, ``retry_after`` may be
    set) or ``PermanentError`` (kicked, forbidden, unknown room).
    """

    @property
    def user_id(self) -> str: ...

    async def start(self) -> None:
        """Log in or restore the session, set up encryption keys and cross-signing."""

    async def close(self) -> None:
        """Stop syncing and close connections; never logs the device out."""

    def events(self) -> AsyncIterator[ChatEvent]:
        """Incoming events in order, forever (see the module docstring on acknowledgement)."""

    async def wait_until_synced(self) -> None:
        """Return once the first sync of ``events()`` is through (rooms and members known)."""

    async def send(
        self, room_id: str, message: OutgoingChat, txn_id: str, *, resend: bool = False
    ) -> str:
        """Send a notice; the same ``txn_id`` never makes a second event. Returns the event id.

        ``resend=True`` says an earlier attempt may have succeeded long ago: the
        room's recent history is searched for our event with this key first.
        """

    async def send_event(
        self,
        room_id: str,
        event_type: str,
        content: Mapping[str, Any],
        txn_id: str,
        *,
        resend: bool = False,
    ) -> str:
        """Send an event of another type (a poll), encrypted where the room is; the same
        ``txn_id`` never makes a second event (``resend``: as ``send``). Returns its id."""

    async def react(self, room_id: str, event_id: str, key: str, txn_id: str) -> str:
        """Annotate ``event_id`` with ``key`` (for example ✅); returns the reaction's id."""

    async def upload_and_send_file(
        self,
        room_id: str,
        filename: str,
        content_type: str,
        data: bytes,
        txn_id: str,
        caption: OutgoingChat | None = None,
        *,
        resend: bool = False,
    ) -> str:
        """Upload (encrypted in encrypted rooms) and post a file; returns the event id.

        ``resend=True``: look for an earlier copy with this ``txn_id`` first, as ``send`` does.
        """

    async def download(self, attachment: ChatAttachment) -> bytes:
        """The attachment's bytes, decrypted when needed."""

    async def get_event(self, room_id: str, event_id: str) -> ChatMessage | None:
        """A message of the room by id, decrypted if needed (e.g. the one a 📌 points at).

        ``None`` when it is no message or cannot be read (redacted, no key).
        """

    async def resolve_room(self, room: str) -> str:
        """The room id of ``room``: an id is returned as it is, an alias is looked up."""

    async def join(self, room_id: str) -> None:
        """Join (accept an invite to) a room."""

    async def open_direct(self, user_id: str) -> str:
        """Make a private room with ``user_id`` invited as a direct chat; its room id.

        Every call makes a new room: the caller remembers the one it opened."""

    async def members(self, room_id: str) -> frozenset[str]:
        """User ids of the room's joined members."""

    async def member_names(self, room_id: str) -> dict[str, str]:
        """The display names of the room's members as last synced, by user id (ours
        and members without one left out); no network call."""

    async def power_level(self, room_id: str, user_id: str) -> int:
        """The user's power level in the room."""
