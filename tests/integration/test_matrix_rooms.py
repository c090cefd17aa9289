"""Matrix connector in a room with a real member, encrypted and unencrypted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import nio
import pytest
import pytest_asyncio
from matrix_helpers import (
    Bot,
    Member,
    bot_settings,
    invite_and_join,
    register,
    start_bot,
    wait_bot_knows_room,
)
from nio.crypto import decrypt_attachment

from daemon.ports.chat import (
    IDEMPOTENCY_CONTENT_KEY,
    ChatMessage,
    ChatReaction,
    OutgoingChat,
)
from daemon.ports.chat_limit import MATRIX_CONTENT_LIMIT, matrix_content_size
from harness.synapse import SynapseServer


@pytest_asyncio.fixture
async def bot(synapse: SynapseServer, tmp_path: Path) -> AsyncIterator[Bot]:
    account = await register(synapse, "bot")
    running = await start_bot(
        bot_settings(synapse, account.user_id, account.password, tmp_path / "bot")
    )
    yield running
    await running.stop()


@pytest_asyncio.fixture
async def member(synapse: SynapseServer, tmp_path: Path) -> AsyncIterator[Member]:
    account = await register(synapse, "member")
    person = Member(synapse, account.user_id, account.password, tmp_path / "member")
    await person.login()
    yield person
    await person.close()


def _messages(bot: Bot, room_id: str) -> list[ChatMessage]:
    return [e for e in bot.received if isinstance(e, ChatMessage) and e.room_id == room_id]


def _bodies(bot: Bot, room_id: str) -> list[str]:
    return [m.body for m in _messages(bot, room_id)]


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "plain"])
async def test_member_message_arrives_decrypted(bot: Bot, member: Member, encrypted: bool) -> None:
    """A member's message reaches the core as a ChatMessage with its text, decrypted."""
    room_id = await invite_and_join(member, bot, encrypted=encrypted)
    event_id = await member.say(room_id, "Agendapunt: bankje bij de speeltuin")
    await bot.wait_for(lambda _: bool(_messages(bot, room_id)))
    [message] = _messages(bot, room_id)
    assert message.event_id == event_id
    assert message.body == "Agendapunt: bankje bij de speeltuin"
    assert message.sender == member.user_id
    assert message.msgtype == "m.text"
    assert message.encrypted is encrypted


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "plain"])
async def test_notice_in_thread_reaches_member(bot: Bot, member: Member, encrypted: bool) -> None:
    """The bot's notice is an m.notice in the thread, mentions nobody, carries its key."""
    room_id = await invite_and_join(member, bot, encrypted=encrypted)
    root = await member.say(room_id, "Agendapunt: lantaarnpaal")
    await bot.wait_for(lambda _: bool(_messages(bot, room_id)))
    notice = OutgoingChat(
        body="Genoteerd als agendapunt A-1 / filed as A-1",
        formatted_body="<b>Genoteerd</b> als agendapunt A-1",
        thread_root=root,
    )
    event_id = await bot.chat.send(room_id, notice, "txn-notice-1")
    seen = await member.wait_for_event(room_id, lambda e: e.event_id == event_id)
    content: dict[str, Any] = seen.source["content"]
    assert isinstance(seen, nio.RoomMessageNotice)
    assert content["body"] == notice.body
    assert content["formatted_body"] == notice.formatted_body
    assert content["m.mentions"] == {}
    assert content[IDEMPOTENCY_CONTENT_KEY] == "txn-notice-1"
    assert content["m.relates_to"]["rel_type"] == "m.thread"
    assert content["m.relates_to"]["event_id"] == root
    assert getattr(seen, "decrypted", False) is encrypted


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "plain"])
async def test_a_post_at_the_content_limit_is_one_event(
    bot: Bot, member: Member, encrypted: bool
) -> None:
    """The chat post size limit holds in an encrypted room too, where megolm's base64
    ciphertext is a third larger than the text: the homeserver takes it (no
    M_TOO_LARGE, which the outbox could only park) and the member reads it whole."""
    room_id = await invite_and_join(member, bot, encrypted=encrypted)
    root = await member.say(room_id, "hallo")
    await bot.wait_for(lambda _: bool(_messages(bot, room_id)))
    line = "- WB-123: Verslag van de werkgroep groen, versie 2 (stukken.pdf) ë\n"
    body = ""
    while matrix_content_size(body + line, body + line) <= MATRIX_CONTENT_LIMIT:
        body += line
    while matrix_content_size(body + "x", body + "x") <= MATRIX_CONTENT_LIMIT:
        body += "x"
    assert MATRIX_CONTENT_LIMIT - 20 < matrix_content_size(body, body) <= MATRIX_CONTENT_LIMIT
    notice = OutgoingChat(body=body, formatted_body=body, thread_root=root)
    event_id = await bot.chat.send(room_id, notice, "txn-at-the-limit")
    seen = await member.wait_for_event(room_id, lambda e: e.event_id == event_id)
    assert seen.source["content"]["body"] == body
    assert getattr(seen, "decrypted", False) is encrypted


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "plain"])
async def test_file_reaches_member_byte_identical(
    bot: Bot, member: Member, encrypted: bool
) -> None:
    """An uploaded PDF (encrypted attachment in an encrypted room) downloads byte-identical."""
    room_id = await invite_and_join(member, bot, encrypted=encrypted)
    await wait_bot_knows_room(bot, room_id)
    data = b"%PDF-1.4\n" + bytes(range(256)) * 40
    event_id = await bot.chat.upload_and_send_file(
        room_id, "agenda.pdf", "application/pdf", data, "txn-file-1"
    )
    seen = await member.wait_for_event(room_id, lambda e: e.event_id == event_id)
    content = seen.source["content"]
    assert content["msgtype"] == "m.file"
    assert content["filename"] == "agenda.pdf"
    if encrypted:
        assert "url" not in content
        encrypted_file = content["file"]
        download = await member.client.download(encrypted_file["url"])
        plain = decrypt_attachment(
            download.body,
            encrypted_file["key"]["k"],
            encrypted_file["hashes"]["sha256"],
            encrypted_file["iv"],
        )
        assert download.body != data
    else:
        download = await member.client.download(content["url"])
        plain = download.body
    assert plain == data


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "plain"])
async def test_member_file_downloads_through_the_port(
    bot: Bot, member: Member, encrypted: bool
) -> None:
    """A member's file arrives as an attachment whose bytes ChatClient.download returns."""
    room_id = await invite_and_join(member, bot, encrypted=encrypted)
    data = b"notulen\n" * 500
    await member.sync()
    if encrypted:
        upload, keys = await member.client.upload(
            lambda *_: data, "text/plain", "notulen.txt", encrypt=True, filesize=len(data)
        )
        assert keys is not None
        media: dict[str, Any] = {"file": {**keys, "url": upload.content_uri}}
    else:
        upload, _ = await member.client.upload(
            lambda *_: data, "text/plain", "notulen.txt", filesize=len(data)
        )
        media = {"url": upload.content_uri}
    content = {
        "msgtype": "m.file",
        "body": "Stuk: notulen",
        "filename": "notulen.txt",
        "info": {"mimetype": "text/plain", "size": len(data)},
        **media,
    }
    await member.client.room_send(
        room_id, "m.room.message", content, ignore_unverified_devices=True
    )
    await bot.wait_for(lambda _: bool(_messages(bot, room_id)))
    [message] = _messages(bot, room_id)
    assert message.body == "Stuk: notulen"
    assert message.attachment is not None
    assert message.attachment.filename == "notulen.txt"
    assert await bot.chat.download(message.attachment) == data


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "plain"])
async def test_reactions_both_ways(bot: Bot, member: Member, encrypted: bool) -> None:
    """A member's 📌 arrives as ChatReaction; the bot's ✅ reaches the member."""
    room_id = await invite_and_join(member, bot, encrypted=encrypted)
    target = await member.say(room_id, "Zullen we de buurtschouw verzetten?")
    await member.client.room_send(
        room_id,
        "m.reaction",
        {"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": "📌"}},
        ignore_unverified_devices=True,
    )
    await bot.wait_for(lambda got: any(isinstance(e, ChatReaction) for e in got))
    [reaction] = [e for e in bot.received if isinstance(e, ChatReaction)]
    assert (reaction.relates_to, reaction.key, reaction.sender) == (target, "📌", member.user_id)

    reaction_id = await bot.chat.react(room_id, target, "✅", "txn-react-1")
    seen = await member.wait_for_event(room_id, lambda e: e.event_id == reaction_id)
    relation = seen.source["content"]["m.relates_to"]
    assert relation == {"rel_type": "m.annotation", "event_id": target, "key": "✅"}
    assert getattr(seen, "decrypted", False) is encrypted


async def test_own_messages_are_not_delivered(bot: Bot, member: Member) -> None:
    """The bot's own notices never come back as events; the member's next message does."""
    room_id = await invite_and_join(member, bot, encrypted=True)
    await wait_bot_knows_room(bot, room_id)
    await bot.chat.send(room_id, OutgoingChat(body="eigen bericht"), "txn-own-1")
    await member.say(room_id, "na het eigen bericht")
    await bot.wait_for(lambda _: bool(_messages(bot, room_id)))
    assert _bodies(bot, room_id) == ["na het eigen bericht"]
    assert all(getattr(e, "sender", None) != bot.chat.user_id for e in bot.received)


async def test_history_before_the_join_is_not_delivered(bot: Bot, member: Member) -> None:
    """Messages from before the bot joined stay history; the first one after counts."""
    room_id = await member.create_room(encrypted=False, invite=[])
    await member.say(room_id, "oud 1")
    await member.say(room_id, "oud 2")
    await member.client.room_invite(room_id, bot.chat.user_id)
    await member.say(room_id, "oud 3, na de uitnodiging")
    await bot.wait_for(lambda got: any(getattr(e, "room_id", None) == room_id for e in got))
    await bot.chat.join(room_id)
    await member.say(room_id, "nieuw")
    await bot.wait_for(lambda _: bool(_messages(bot, room_id)))
    assert _bodies(bot, room_id) == ["nieuw"]


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "plain"])
async def test_same_txn_id_gives_one_event(bot: Bot, member: Member, encrypted: bool) -> None:
    """Sending twice with one txn id, or resending after a long time, yields one event."""
    room_id = await invite_and_join(member, bot, encrypted=encrypted)
    await wait_bot_knows_room(bot, room_id)
    message = OutgoingChat(body="Herinnering: deadline vrijdag")
    first = await bot.chat.send(room_id, message, "txn-same")
    second = await bot.chat.send(room_id, message, "txn-same")
    third = await bot.chat.send(room_id, message, "txn-same", resend=True)
    assert first == second == third
    marker = await bot.chat.send(room_id, OutgoingChat(body="einde"), "txn-end")
    await member.wait_for_event(room_id, lambda e: e.event_id == marker)
    history = await member.client.room_messages(room_id, limit=50)
    notices = [e for e in history.chunk if isinstance(e, nio.RoomMessageNotice)]
    assert [e.body for e in notices].count("Herinnering: deadline vrijdag") == 1


async def test_resend_from_another_device_finds_the_earlier_copy(
    bot: Bot, member: Member, synapse: SynapseServer, tmp_path: Path
) -> None:
    """A resend whose server-side txn id has expired (other device) finds our old event by key."""
    room_id = await invite_and_join(member, bot, encrypted=False)
    await wait_bot_knows_room(bot, room_id)
    first = await bot.chat.send(room_id, OutgoingChat(body="eenmalig"), "txn-long-ago")
    # Same account, fresh state directory: a new device with no txn-id memory on the server.
    password = bot.chat._settings.password
    assert password is not None
    other = await start_bot(
        bot_settings(synapse, bot.chat.user_id, password, tmp_path / "other-device")
    )
    try:
        await wait_bot_knows_room(other, room_id)
        again = await other.chat.send(
            room_id, OutgoingChat(body="eenmalig"), "txn-long-ago", resend=True
        )
    finally:
        await other.stop()
    assert again == first
