"""``MatrixChatClient``: the core's ``ChatClient`` on matrix-nio with E2EE.

Typical use::

    chat = MatrixChatClient(settings, handled=store_backed_record)
    await chat.start()          # login/restore, keys, cross-signing
    async for event in chat.events():
        ...                      # handle + mark_event_handled in one transaction
    await chat.close()           # never logs out
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import nio

from connectors.matrix.convert import to_chat_event
from connectors.matrix.errors import NotInRoomError, check, error_from_response, translated
from connectors.matrix.identity import ensure_cross_signing
from connectors.matrix.pending import PendingDecryption
from connectors.matrix.pinned_poll import poll_as_message
from connectors.matrix.send import Sender, file_content, notice_content, reaction_content
from connectors.matrix.session import MatrixSettings, open_session
from connectors.matrix.sync import SyncStream
from daemon.errors import PermanentError, TransientError
from daemon.health import Health
from daemon.ports.chat import (
    ChatAttachment,
    ChatEvent,
    ChatMessage,
    HandledEvents,
    OutgoingChat,
)

log = logging.getLogger(__name__)

# Room version 12 (MSC4289) gives its creators unlimited power; they are not in the
# power levels' ``users`` map any more. Stands for "more than any number there".
CREATOR_POWER_LEVEL = 2**53 - 1
_FIRST_VERSION_WITH_CREATOR_POWER = 12

# How long a send waits for the sync to show a room it has just joined.
JOIN_SYNC_WAIT_S = 30.0


def is_creator_with_infinite_power(create_event: dict[str, Any], user_id: str) -> bool:
    """Whether ``user_id`` created the room (or was named an additional creator) in v12+."""
    content = create_event.get("content") or {}
    version = str(content.get("room_version", "1"))
    if not version.isdigit() or int(version) < _FIRST_VERSION_WITH_CREATOR_POWER:
        return False
    creators = {create_event.get("sender"), *(content.get("additional_creators") or [])}
    return user_id in creators


class MatrixChatClient:
    """One Matrix account and device, as a ``daemon.ports.chat.ChatClient``."""

    def __init__(
        self,
        settings: MatrixSettings,
        handled: HandledEvents | None = None,
        health: Health | None = None,
    ) -> None:
        self._settings = settings
        self._health = health
        self._handled = handled
        self._client: nio.AsyncClient | None = None
        self._sender: Sender | None = None
        self._stream: SyncStream | None = None
        self._aliases: dict[str, str] = {}
        # Rooms the server said we are not in although nio lists them (kicked, or left
        # and not yet synced): the next send there joins first.
        self._rejoin: set[str] = set()
        # How often the server answered M_LIMIT_EXCEEDED (nio waits retry_after_ms, then retries).
        self.rate_limit_waits = 0

    @property
    def user_id(self) -> str:
        return str(self._nio.user_id)

    @property
    def device_id(self) -> str:
        return str(self._nio.device_id)

    @property
    def nio_client(self) -> nio.AsyncClient:
        """The underlying nio client, for the connector's own tests and tools."""
        return self._nio

    @property
    def _nio(self) -> nio.AsyncClient:
        if self._client is None:
            raise PermanentError("MatrixChatClient.start() was not called")
        return self._client

    async def start(self) -> None:
        """Restore (or once: log in) our device, publish its keys, cross-sign it."""
        client = await open_session(self._settings)
        self._client = client
        client.add_response_callback(self._on_error_response, nio.ErrorResponse)
        self._sender = Sender(client)
        pending = PendingDecryption(
            client,
            self._settings.matrix_dir / "pending_events.json",
            self._settings.undecryptable_hold_s,
        )
        self._stream = SyncStream(
            client, pending, self._handled, self._settings.sync_timeout_ms, self._health
        )
        with translated("keys upload"):
            if client.should_upload_keys:
                check(await client.keys_upload(), "keys upload")
        await ensure_cross_signing(client, self._settings.matrix_dir, self._settings.password)

    async def close(self) -> None:
        """Close the HTTP session; deliberately no logout (that would delete our keys)."""
        if self._client is not None:
            await self._client.close()
            self._client = None

    def events(self) -> AsyncIterator[ChatEvent]:
        if self._stream is None:
            raise PermanentError("MatrixChatClient.start() was not called")
        return self._stream.events()

    async def wait_until_synced(self) -> None:
        """Return once the first sync of ``events()`` is through (rooms and members known)."""
        if self._stream is None:
            raise PermanentError("MatrixChatClient.start() was not called")
        await self._stream.first_sync_done.wait()

    async def send(
        self, room_id: str, message: OutgoingChat, txn_id: str, *, resend: bool = False
    ) -> str:
        content = notice_content(message, txn_id)
        return await self._in_room(
            room_id,
            txn_id,
            resend,
            lambda s: s.send_event(room_id, "m.room.message", content, txn_id),
        )

    async def send_event(
        self,
        room_id: str,
        event_type: str,
        content: Mapping[str, Any],
        txn_id: str,
        *,
        resend: bool = False,
    ) -> str:
        return await self._in_room(
            room_id,
            txn_id,
            resend,
            lambda s: s.send_event(room_id, event_type, dict(content), txn_id),
        )

    async def react(self, room_id: str, event_id: str, key: str, txn_id: str) -> str:
        content = reaction_content(event_id, key)
        return await self._in_room(
            room_id, txn_id, False, lambda s: s.send_event(room_id, "m.reaction", content, txn_id)
        )

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
        async def upload_and_send(sender: Sender) -> str:
            uri, decryption = await sender.upload(room_id, filename, content_type, data)
            content = file_content(
                filename, content_type, len(data), uri, decryption, caption, txn_id
            )
            return await sender.send_event(room_id, "m.room.message", content, txn_id)

        return await self._in_room(room_id, txn_id, resend, upload_and_send)

    async def _in_room(
        self,
        room_id: str,
        txn_id: str,
        resend: bool,
        send: Callable[[Sender], Awaitable[str]],
    ) -> str:
        """Send as a member of ``room_id``: joined first when we are not (yet) one.

        At a first start a post may be due before the intake accepted the room's
        invite, or before the sync showed that join; a send then would be refused
        ("not in room") and the message lost. A refusal that still comes marks the
        room for a join before the next attempt, and stays a ``NotInRoomError``.
        """
        sender = self._require_sender()
        if room_id not in self._nio.rooms or room_id in self._rejoin:
            await self._join_and_sync(room_id)
        try:
            if resend:
                earlier = await sender.find_sent(room_id, txn_id)
                if earlier is not None:
                    return earlier
            return await send(sender)
        except NotInRoomError:
            self._rejoin.add(room_id)
            raise

    async def _join_and_sync(self, room_id: str) -> None:
        """Join (accepting an invite, or again after a kick), then wait for the sync to show it."""
        with translated(f"join {room_id}"):
            answer = await self._nio.join(room_id)
        if isinstance(answer, nio.ErrorResponse):
            error = error_from_response(answer, f"join {room_id}")
            if answer.status_code == "M_FORBIDDEN":
                # Not invited (any more), or banned: only an admin can change that.
                raise NotInRoomError(
                    f"Wijkbode is geen lid van {room_id} en mag er niet in "
                    f"(not a member and may not join): {answer.message}"
                ) from error
            raise error
        self._rejoin.discard(room_id)
        if self._stream is None:
            raise PermanentError("MatrixChatClient.start() was not called")
        try:
            async with asyncio.timeout(JOIN_SYNC_WAIT_S):
                await self._stream.wait_for_room(room_id)
        except TimeoutError:
            raise TransientError(f"joined {room_id}, the sync does not show it yet") from None
        log.info("Matrix: joined %s before sending there", room_id)

    async def download(self, attachment: ChatAttachment) -> bytes:
        return await self._require_sender().download(attachment)

    async def get_event(self, room_id: str, event_id: str) -> ChatMessage | None:
        with translated(f"event {event_id}"):
            answer = check(await self._nio.room_get_event(room_id, event_id), f"event {event_id}")
        event: Any = answer.event
        encrypted = isinstance(event, nio.MegolmEvent)
        if encrypted:
            try:
                event = self._nio.olm.decrypt_megolm_event(event, room_id)
            except (nio.EncryptionError, nio.LocalProtocolError) as error:
                log.info("Matrix: %s cannot be decrypted: %s", event_id, error)
                return None
        source = getattr(event, "source", {})
        found = to_chat_event(source, room_id, encrypted)
        if isinstance(found, ChatMessage):
            return found
        # A poll is no m.room.message, but a 📌 on it files its question.
        return poll_as_message(source, room_id, encrypted)

    async def resolve_room(self, room: str) -> str:
        if not room.startswith("#"):
            return room
        known = self._aliases.get(room)
        if known is None:
            with translated(f"alias {room}"):
                answer = check(await self._nio.room_resolve_alias(room), f"alias {room}")
            known = self._aliases[room] = str(answer.room_id)
        return known

    async def join(self, room_id: str) -> None:
        with translated(f"join {room_id}"):
            check(await self._nio.join(room_id), f"join {room_id}")

    async def open_direct(self, user_id: str) -> str:
        # A trusted private chat, marked direct, so the member's client lists it with
        # their other direct chats; not encrypted: the bot could not share its keys
        # before the member joined, and a reminder says no more than the core room hears.
        with translated(f"direct chat with {user_id}"):
            answer = check(
                await self._nio.room_create(
                    name="Wijkbode",
                    is_direct=True,
                    invite=[user_id],
                    preset=nio.RoomPreset.trusted_private_chat,
                ),
                f"direct chat with {user_id}",
            )
        return str(answer.room_id)

    async def members(self, room_id: str) -> frozenset[str]:
        with translated(f"members of {room_id}"):
            answer = check(await self._nio.joined_members(room_id), f"members of {room_id}")
        return frozenset(str(member.user_id) for member in answer.members)

    async def member_names(self, room_id: str) -> dict[str, str]:
        room = self._nio.rooms.get(room_id)
        if room is None:
            return {}
        return {
            str(user_id): str(user.display_name)
            for user_id, user in room.users.items()
            if user.display_name and user_id != self.user_id
        }

    async def power_level(self, room_id: str, user_id: str) -> int:
        """The user's power level; a room creator in room version 12+ outranks everyone."""
        with translated(f"state of {room_id}"):
            answer = check(await self._nio.room_get_state(room_id), f"state of {room_id}")
        state = {
            event.get("type"): event for event in answer.events if event.get("state_key") == ""
        }
        if is_creator_with_infinite_power(state.get("m.room.create") or {}, user_id):
            return CREATOR_POWER_LEVEL
        content: dict[str, Any] = (state.get("m.room.power_levels") or {}).get("content") or {}
        users = content.get("users") or {}
        default = content.get("users_default", 0)
        return int(users.get(user_id, default))

    async def _on_error_response(self, response: Any) -> None:
        if getattr(response, "status_code", None) == "M_LIMIT_EXCEEDED":
            self.rate_limit_waits += 1
            log.info("Matrix: rate limited, waiting %s ms", response.retry_after_ms)

    def _require_sender(self) -> Sender:
        if self._sender is None:
            raise PermanentError("MatrixChatClient.start() was not called")
        return self._sender
