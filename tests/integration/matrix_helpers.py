"""Helpers for the Matrix connector tests: the bot, a real member client, an event collector."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nio

from connectors.matrix.client import MatrixChatClient
from connectors.matrix.session import MatrixSettings
from daemon.ports.chat import ChatEvent, ChatInvite
from harness.synapse import SynapseServer, name_tag

WAIT_S = 30.0


@dataclass(frozen=True)
class Account:
    user_id: str
    password: str


async def register(synapse: SynapseServer, prefix: str) -> Account:
    """A fresh user on ``synapse`` (no device until someone logs in)."""
    localpart = f"{prefix}{name_tag()}"
    user_id, password = await synapse.register_user(localpart, secrets.token_urlsafe(12))
    return Account(user_id, password)


@dataclass
class HandledRecord:
    """Stands in for the store's handled-event table; it outlives bot restarts in a test."""

    ids: set[str] = field(default_factory=set)

    async def is_event_handled(self, event_id: str) -> bool:
        return event_id in self.ids


@dataclass
class Bot:
    """A running ``MatrixChatClient`` whose events are collected (and marked handled)."""

    chat: MatrixChatClient
    handled: HandledRecord
    received: list[ChatEvent] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        async for event in self.chat.events():
            self.received.append(event)
            if not isinstance(event, ChatInvite):
                self.handled.ids.add(event.event_id)

    async def wait_for(self, predicate: Callable[[list[ChatEvent]], bool]) -> list[ChatEvent]:
        """Wait (bounded) until ``predicate(received)`` holds; returns ``received``."""
        async with asyncio.timeout(WAIT_S):
            while not predicate(self.received):
                if self.task is not None and self.task.done():
                    self.task.result()
                await asyncio.sleep(0.05)
        return self.received

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.chat.close()


def bot_settings(
    synapse: SynapseServer, user_id: str, password: str, state: Path
) -> MatrixSettings:
    return MatrixSettings(
        homeserver=synapse.base_url,
        user_id=user_id,
        state_dir=state,
        password=password,
        sync_timeout_ms=1_000,
    )


async def start_bot(settings: MatrixSettings, handled: HandledRecord | None = None) -> Bot:
    """Start the connector and its event loop; returns after the first sync."""
    record = handled if handled is not None else HandledRecord()
    chat = MatrixChatClient(settings, handled=record)
    await chat.start()
    bot = Bot(chat, record)
    bot.task = asyncio.create_task(bot.run())
    async with asyncio.timeout(WAIT_S):
        await chat.wait_until_synced()
    return bot


class Member:
    """A core-group member on a real nio client with its own E2EE store."""

    def __init__(self, synapse: SynapseServer, user_id: str, password: str, store: Path) -> None:
        store.mkdir(parents=True, exist_ok=True)
        config = nio.AsyncClientConfig(encryption_enabled=True, pickle_key=secrets.token_hex(8))
        self.client = nio.AsyncClient(
            synapse.base_url, user_id, store_path=str(store), config=config
        )
        self.password = password

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    async def login(self) -> None:
        answer = await self.client.login(self.password, device_name="member")
        assert isinstance(answer, nio.LoginResponse), answer
        await self.sync()

    async def sync(self) -> Any:
        answer = await self.client.sync(timeout=0, full_state=True)
        assert isinstance(answer, nio.SyncResponse), answer
        await self._keys()
        return answer

    async def _keys(self) -> None:
        await self.client.send_to_device_messages()
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        if self.client.should_query_keys:
            await self.client.keys_query()

    async def create_room(self, *, encrypted: bool, invite: list[str]) -> str:
        initial_state = []
        if encrypted:
            initial_state.append(
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            )
        answer = await self.client.room_create(invite=invite, initial_state=initial_state)
        assert isinstance(answer, nio.RoomCreateResponse), answer
        await self.sync()
        return str(answer.room_id)

    async def say(self, room_id: str, body: str, msgtype: str = "m.text") -> str:
        """Send a message (encrypted in an encrypted room) after syncing members and keys."""
        await self.sync()
        answer = await self.client.room_send(
            room_id,
            "m.room.message",
            {"msgtype": msgtype, "body": body},
            ignore_unverified_devices=True,
        )
        assert isinstance(answer, nio.RoomSendResponse), answer
        return str(answer.event_id)

    async def wait_for_event(self, room_id: str, predicate: Callable[[Any], bool]) -> Any:
        """Sync until an event in ``room_id``'s timeline (decrypted if possible) matches."""
        async with asyncio.timeout(WAIT_S):
            while True:
                answer = await self.client.sync(timeout=500)
                assert isinstance(answer, nio.SyncResponse), answer
                await self._keys()
                room = answer.rooms.join.get(room_id)
                for event in room.timeline.events if room else []:
                    if predicate(event):
                        return event

    async def close(self) -> None:
        await self.client.close()


async def invite_and_join(member: Member, bot: Bot, *, encrypted: bool) -> str:
    """A room made by ``member`` with the bot invited and joined (both synced)."""
    room_id = await member.create_room(encrypted=encrypted, invite=[bot.chat.user_id])
    await bot.wait_for(
        lambda got: any(isinstance(e, ChatInvite) and e.room_id == room_id for e in got)
    )
    await bot.chat.join(room_id)
    await wait_joined(member, room_id, bot.chat.user_id)
    await wait_bot_knows_room(bot, room_id)
    return room_id


async def wait_joined(member: Member, room_id: str, user_id: str) -> None:
    async with asyncio.timeout(WAIT_S):
        while user_id not in member.client.rooms[room_id].users or (
            member.client.rooms[room_id].users[user_id].invited
        ):
            await member.client.sync(timeout=500)


async def wait_bot_knows_room(bot: Bot, room_id: str) -> None:
    """Wait until the bot's sync has seen itself joined to ``room_id`` (needed to send)."""
    client = bot.chat.nio_client
    await bot.wait_for(
        lambda _: room_id in client.rooms and bot.chat.user_id in client.rooms[room_id].users
    )
