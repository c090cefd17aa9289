"""Alice, a core-group member, on a real matrix-nio client with end-to-end encryption.

She makes the rooms, talks in them, and a background sync keeps every message
she can read (decrypted; held ones retried when their key arrives) in
``messages``, calling ``on_message`` for each as it comes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nio

log = logging.getLogger(__name__)

SYNC_TIMEOUT_MS = 1_000


@dataclass(frozen=True)
class RoomEvent:
    """One event alice saw in a room, decrypted where it was encrypted."""

    room_id: str
    sender: str
    event_id: str
    event_type: str
    content: dict[str, Any]
    seen_at: float  # time.monotonic()

    @property
    def body(self) -> str:
        body = self.content.get("body")
        return body if isinstance(body, str) else ""

    def relates_to(self, event_id: str) -> bool:
        """Whether this is a reply, thread message or reaction to ``event_id``."""
        relation = self.content.get("m.relates_to")
        if not isinstance(relation, dict):
            return False
        reply = relation.get("m.in_reply_to")
        replied = reply.get("event_id") if isinstance(reply, dict) else None
        return event_id in (relation.get("event_id"), replied)

    @property
    def reaction_key(self) -> str | None:
        relation = self.content.get("m.relates_to")
        if self.event_type == "m.reaction" and isinstance(relation, dict):
            key = relation.get("key")
            return key if isinstance(key, str) else None
        return None


class DemoMember:
    """A logged-in member with her own E2EE store; one lock keeps sync and sends apart."""

    def __init__(self, homeserver: str, user_id: str, password: str, store: Path) -> None:
        store.mkdir(parents=True, exist_ok=True)
        config = nio.AsyncClientConfig(encryption_enabled=True, pickle_key=secrets.token_hex(16))
        self.client = nio.AsyncClient(homeserver, user_id, store_path=str(store), config=config)
        self.user_id = user_id
        self._password = password
        self._lock = asyncio.Lock()
        self._held: list[tuple[str, nio.MegolmEvent]] = []
        self._task: asyncio.Task[None] | None = None
        self.messages: list[RoomEvent] = []
        self.on_message: Callable[[RoomEvent], None] = lambda event: None

    async def login(self) -> None:
        answer = await self.client.login(self._password, device_name="alice (demo)")
        if not isinstance(answer, nio.LoginResponse):
            raise RuntimeError(f"alice could not log in: {answer}")
        async with self._lock:
            await self._sync(timeout_ms=0, full_state=True)

    async def create_room(
        self, *, alias: str, name: str, encrypted: bool, invite: list[str]
    ) -> str:
        """A private room with ``alias`` (local part) made by alice, ``invite`` invited."""
        state = []
        if encrypted:
            state.append(
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            )
        async with self._lock:
            answer = await self.client.room_create(
                alias=alias, name=name, invite=invite, initial_state=state
            )
            if not isinstance(answer, nio.RoomCreateResponse):
                raise RuntimeError(f"alice could not create room #{alias}: {answer}")
            await self._sync(timeout_ms=0)
        return str(answer.room_id)

    async def say(self, room_id: str, body: str) -> str:
        """Send a text message (encrypted in an encrypted room); returns its event id."""
        async with self._lock:
            await self._sync(timeout_ms=0)
            answer = await self.client.room_send(
                room_id,
                "m.room.message",
                {"msgtype": "m.text", "body": body},
                ignore_unverified_devices=True,
            )
        if not isinstance(answer, nio.RoomSendResponse):
            raise RuntimeError(f"alice could not send: {answer}")
        return str(answer.event_id)

    def is_joined(self, room_id: str, user_id: str) -> bool:
        """Whether alice's client has seen ``user_id`` join ``room_id``."""
        room = self.client.rooms.get(room_id)
        return room is not None and user_id in room.users and user_id not in room.invited_users

    def start(self) -> None:
        """Keep syncing in the background until ``close()``."""
        self._task = asyncio.create_task(self._sync_forever(), name="alice-sync")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.client.close()

    async def _sync_forever(self) -> None:
        while True:
            try:
                async with self._lock:
                    ok = await self._sync(timeout_ms=SYNC_TIMEOUT_MS)
            except (TimeoutError, OSError, nio.exceptions.LocalProtocolError) as error:
                log.warning("alice: sync failed: %s", error)
                ok = False
            if not ok:
                await asyncio.sleep(1)

    async def _sync(self, *, timeout_ms: int, full_state: bool = False) -> bool:
        answer = await self.client.sync(timeout=timeout_ms, full_state=full_state)
        if not isinstance(answer, nio.SyncResponse):
            log.warning("alice: sync answered %s", answer)
            return False
        await self._keys()
        for room_id, room in answer.rooms.join.items():
            for event in room.timeline.events:
                self._take(room_id, event)
        self._retry_held()
        return True

    async def _keys(self) -> None:
        await self.client.send_to_device_messages()
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        if self.client.should_query_keys:
            await self.client.keys_query()

    def _take(self, room_id: str, event: Any) -> None:
        if isinstance(event, nio.MegolmEvent):
            self._held.append((room_id, event))  # its room key may come in a later sync
            return
        source = getattr(event, "source", None)
        if not isinstance(source, dict) or not getattr(event, "event_id", None):
            return
        content = source.get("content")
        seen = RoomEvent(
            room_id=room_id,
            sender=str(event.sender),
            event_id=str(event.event_id),
            event_type=str(source.get("type", "")),
            content=content if isinstance(content, dict) else {},
            seen_at=time.monotonic(),
        )
        self.messages.append(seen)
        self.on_message(seen)

    def _retry_held(self) -> None:
        still: list[tuple[str, nio.MegolmEvent]] = []
        for room_id, held in self._held:
            try:
                decrypted = self.client.decrypt_event(held)
            except nio.exceptions.EncryptionError:
                still.append((room_id, held))
                continue
            self._take(room_id, decrypted)
        self._held = still
