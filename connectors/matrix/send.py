"""Sending: notice/reaction/file contents, Megolm encryption, idempotency by txn id.

Every send is a ``PUT /rooms/{room}/send/{type}/{txn_id}`` with the caller's
txn id, so a repeat within the server's transaction window returns the same
event. For a repeat after a long time (``resend=True``) the room's recent
history is searched first for our event carrying the same key.

Room keys are shared with every device in the room, verified or not
(``ignore_unverified_devices=True``): in a collective, members verify
Wijkbode, Wijkbode cannot verify each member's every phone and laptop, and a
member must never miss a filed item because their new device is unverified.
"""

from __future__ import annotations

import asyncio
from typing import Any

import nio
from nio.crypto import decrypt_attachment, encrypt_attachment

from connectors.matrix.errors import NotInRoomError, check, translated
from daemon.ports.chat import IDEMPOTENCY_CONTENT_KEY, ChatAttachment, OutgoingChat

# How far back a resend looks for an earlier copy of the same message.
RESEND_SCAN_EVENTS = 500


def notice_content(message: OutgoingChat, key: str) -> dict[str, Any]:
    """An ``m.notice`` that pings nobody (``m.mentions: {}``) and carries its idempotency key."""
    content: dict[str, Any] = {
        "msgtype": "m.notice",
        "body": message.body,
        "m.mentions": {},
        IDEMPOTENCY_CONTENT_KEY: key,
    }
    if message.formatted_body is not None:
        content["format"] = "org.matrix.custom.html"
        content["formatted_body"] = message.formatted_body
    relation = _relation(message)
    if relation:
        content["m.relates_to"] = relation
    return content


def _relation(message: OutgoingChat) -> dict[str, Any]:
    if message.thread_root is not None:
        reply_to = message.reply_to or message.thread_root
        return {
            "rel_type": "m.thread",
            "event_id": message.thread_root,
            "is_falling_back": message.reply_to is None,
            "m.in_reply_to": {"event_id": reply_to},
        }
    if message.reply_to is not None:
        return {"m.in_reply_to": {"event_id": message.reply_to}}
    return {}


def reaction_content(event_id: str, key: str) -> dict[str, Any]:
    return {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}


def file_content(
    filename: str,
    content_type: str,
    size: int,
    upload_uri: str,
    decryption: dict[str, Any] | None,
    caption: OutgoingChat | None,
    key: str,
) -> dict[str, Any]:
    """An ``m.file`` event; with a caption the body is the caption (spec v1.10 captions)."""
    base = notice_content(caption, key) if caption is not None else {"m.mentions": {}}
    content: dict[str, Any] = {
        **base,
        IDEMPOTENCY_CONTENT_KEY: key,
        "msgtype": "m.file",
        "body": caption.body if caption is not None else filename,
        "filename": filename,
        "info": {"mimetype": content_type, "size": size},
    }
    if decryption is not None:
        content["file"] = {**decryption, "url": upload_uri}
    else:
        content["url"] = upload_uri
    return content


class Sender:
    """Sends events as one nio client, encrypting for encrypted rooms."""

    def __init__(self, client: nio.AsyncClient) -> None:
        self._client = client
        self._room_locks: dict[str, asyncio.Lock] = {}

    def is_encrypted(self, room_id: str) -> bool:
        room = self._client.rooms.get(room_id)
        if room is None:
            # Not joined, or joined but not yet synced: the client joins before a send,
            # so this is the rare case of a room left between that and here.
            raise NotInRoomError(f"Wijkbode is geen lid van {room_id} (not a member)")
        return bool(room.encrypted)

    async def send_event(
        self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str
    ) -> str:
        """Send one event (encrypted when the room is) and return its event id."""
        # One lock per room: Megolm sessions are shared once, and events keep order.
        lock = self._room_locks.setdefault(room_id, asyncio.Lock())
        async with lock:
            if self.is_encrypted(room_id):
                await self._prepare_encryption(room_id)
                with translated("encrypt"):
                    event_type, content = self._client.encrypt(room_id, event_type, content)
            method, path, data = nio.Api.room_send(
                self._client.access_token, room_id, event_type, content, txn_id
            )
            with translated(f"send to {room_id}"):
                response = await self._client._send(
                    nio.RoomSendResponse, method, path, data, (room_id,)
                )
        return str(check(response, f"send to {room_id}").event_id)

    async def _prepare_encryption(self, room_id: str) -> None:
        """Members and device keys known, and our Megolm session shared with every device."""
        client = self._client
        with translated("prepare encryption"):
            if not client.rooms[room_id].members_synced:
                check(await client.joined_members(room_id), "joined members")
            if client.should_query_keys:
                check(await client.keys_query(), "keys query")
            if client.olm.should_share_group_session(room_id):
                check(
                    await client.share_group_session(room_id, ignore_unverified_devices=True),
                    "share room key",
                )

    async def find_sent(self, room_id: str, key: str) -> str | None:
        """Our event in the room's recent history carrying ``key``, if any (for resends)."""
        start: str | None = None
        seen = 0
        while seen < RESEND_SCAN_EVENTS:
            with translated("room history"):
                page = check(
                    await self._client.room_messages(room_id, start=start, limit=100),
                    "room history",
                )
            for event in page.chunk:
                source = getattr(event, "source", {})
                content = source.get("content") or {}
                if (
                    source.get("sender") == self._client.user_id
                    and content.get(IDEMPOTENCY_CONTENT_KEY) == key
                ):
                    return str(source["event_id"])
            seen += len(page.chunk)
            if not page.chunk or page.end is None:
                return None
            start = page.end
        return None

    async def upload(
        self, room_id: str, filename: str, content_type: str, data: bytes
    ) -> tuple[str, dict[str, Any] | None]:
        """Upload ``data``; encrypted (AES-CTR, nio's attachment format) for encrypted rooms."""
        encrypt = self.is_encrypted(room_id)
        decryption: dict[str, Any] | None = None
        payload = data
        if encrypt:
            payload, decryption = encrypt_attachment(data)
        with translated("upload"):
            response, _ = await self._client.upload(
                lambda *_: payload,
                content_type="application/octet-stream" if encrypt else content_type,
                filename=filename,
                filesize=len(payload),
            )
        uri = str(check(response, "upload").content_uri)
        return uri, decryption

    async def download(self, attachment: ChatAttachment) -> bytes:
        with translated("download"):
            response = check(await self._client.download(attachment.url), "download")
        body: bytes = response.body
        if attachment.encryption is None:
            return body
        enc = attachment.encryption
        return bytes(decrypt_attachment(body, enc["key"]["k"], enc["hashes"]["sha256"], enc["iv"]))
