"""Encrypted events whose key comes late are held and retried; never-arriving keys are reported."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from matrix_helpers import Bot, Member, bot_settings, invite_and_join, register, start_bot

from daemon.ports.chat import ChatMessage, ChatUndecryptable
from harness.synapse import SynapseServer


@pytest_asyncio.fixture
async def member(synapse: SynapseServer, tmp_path: Path) -> AsyncIterator[Member]:
    account = await register(synapse, "member")
    person = Member(synapse, account.user_id, account.password, tmp_path / "member")
    await person.login()
    yield person
    await person.close()


async def _bot(synapse: SynapseServer, state: Path, hold_s: float) -> Bot:
    account = await register(synapse, "bot")
    settings = bot_settings(synapse, account.user_id, account.password, state)
    return await start_bot(dataclasses.replace(settings, undecryptable_hold_s=hold_s))


async def _withhold_key_from_bot(member: Member, bot: Bot) -> None:
    """The member's client blacklists the bot's device, so the room key is not sent to it."""
    await member.sync()
    device = member.client.device_store[bot.chat.user_id][bot.chat.device_id]
    member.client.blacklist_device(device)


def _held_ids(state: Path) -> list[str]:
    path = state / "matrix" / "pending_events.json"
    return (
        [item["source"]["event_id"] for item in json.loads(path.read_text())]
        if path.exists()
        else []
    )


async def test_late_key_decrypts_the_held_message(
    synapse: SynapseServer, member: Member, tmp_path: Path
) -> None:
    """A message whose room key arrives after it is held, then delivered decrypted."""
    bot = await _bot(synapse, tmp_path / "bot", hold_s=600)
    try:
        room_id = await invite_and_join(member, bot, encrypted=True)
        key_messages = await _prepare_room_key_without_sending(member, room_id)
        event_id = await member.say(room_id, "Agendapunt: sleutel komt later")
        await bot.wait_for(lambda _: _held_ids(tmp_path / "bot") == [event_id])
        assert [e for e in bot.received if isinstance(e, ChatMessage)] == []

        await _send_to_device(member, key_messages)

        await bot.wait_for(lambda got: any(isinstance(e, ChatMessage) for e in got))
        [message] = [e for e in bot.received if isinstance(e, ChatMessage)]
        assert (message.event_id, message.body) == (event_id, "Agendapunt: sleutel komt later")
        assert message.encrypted
        assert not any(isinstance(e, ChatUndecryptable) for e in bot.received)
    finally:
        await bot.stop()


async def _prepare_room_key_without_sending(member: Member, room_id: str) -> list[dict[str, Any]]:
    """The member's room-key to-device messages, built (session marked shared) but held back."""
    await member.sync()
    client = member.client
    missing = client.get_missing_sessions(room_id)
    if missing:
        await client.keys_claim(missing)
    users = list(client.rooms[room_id].users)
    payloads = [
        to_device
        for _, to_device in client.olm.share_group_session_parallel(
            room_id, users, ignore_unverified_devices=True
        )
    ]
    client.olm.outbound_group_sessions[room_id].shared = True
    return payloads


async def _send_to_device(member: Member, payloads: list[dict[str, Any]]) -> None:
    for payload in payloads:
        path = f"/_matrix/client/v3/sendToDevice/m.room.encrypted/{uuid.uuid4()}"
        answer = await member.client.send(
            "PUT",
            path,
            json.dumps(payload),
            {"Authorization": f"Bearer {member.client.access_token}"},
        )
        assert answer.status == 200


async def test_key_that_never_comes_is_reported_after_the_hold(
    synapse: SynapseServer, member: Member, tmp_path: Path
) -> None:
    """After the hold time the core gets one ChatUndecryptable, not a message."""
    bot = await _bot(synapse, tmp_path / "bot", hold_s=0.5)
    try:
        room_id = await invite_and_join(member, bot, encrypted=True)
        await _withhold_key_from_bot(member, bot)
        event_id = await member.say(room_id, "nooit leesbaar")
        # The next sync after the hold time reports it; a second message provokes that sync.
        await bot.wait_for(lambda _: _held_ids(tmp_path / "bot") == [event_id])
        await member.say(room_id, "ook niet leesbaar")
        await bot.wait_for(lambda got: any(isinstance(e, ChatUndecryptable) for e in got))
        reported = [e for e in bot.received if isinstance(e, ChatUndecryptable)]
        assert reported[0].event_id == event_id
        assert reported[0].sender == member.user_id
        assert [e for e in bot.received if isinstance(e, ChatMessage)] == []
    finally:
        await bot.stop()
