"""The outbox ``Channel`` for Matrix: room posts (with their documents) and reactions.

Each effect's key is the Matrix transaction id, so a second attempt never
makes a second event; after a failed attempt (``effect.attempts > 0``) the
room's history is searched first for an earlier copy. A post's documents
follow it as files with the transaction ids ``<key>/doc/<n>``. Destinations
may be aliases (``#kerngroep:example.org``, as the configuration names rooms).
TransientError (including ``M_LIMIT_EXCEEDED`` with its wait) and
PermanentError pass through to the dispatcher. "Not in the room" is transient (the
client joins before the next attempt: at a first start a post may be due before the
invite was accepted), until ``NOT_IN_ROOM_ATTEMPTS``: a room we were kicked or
banned from then parks the row, with a log line that says what to do.
"""

from __future__ import annotations

import asyncio
import logging

from connectors.matrix.errors import NotInRoomError
from connectors.matrix.polls import poll_event
from daemon.errors import PermanentError, TransientError
from daemon.model import DocumentHash
from daemon.ports.chat import ChatClient, OutgoingChat
from daemon.ports.outbox import ChannelName, ChatPoll, ChatPost, ChatReaction, Effect
from daemon.store.documents import DocumentStore

log = logging.getLogger(__name__)

READY_WAIT_S = 30.0
# Attempts refused with "not in room" before the row is parked. With the outbox's
# backoff (ceilings 2, 4, ... 256 s) that is several minutes: ample for a first
# start's invite, and an operator still hears soon of a room that shut us out.
NOT_IN_ROOM_ATTEMPTS = 9


class MatrixChannel:
    """Delivers ``ChatPost`` and ``ChatReaction`` effects through a ``ChatClient``."""

    def __init__(
        self,
        client: ChatClient,
        documents: DocumentStore,
        ready: asyncio.Event | None = None,
        ready_wait_s: float = READY_WAIT_S,
    ) -> None:
        self._client = client
        self._documents = documents
        # Set once the client has started (logged in, keys loaded); sends wait for it.
        self._ready = ready
        self._ready_wait_s = ready_wait_s

    @property
    def name(self) -> ChannelName:
        return ChannelName.MATRIX

    async def deliver(self, effect: Effect) -> str:
        try:
            return await self._deliver(effect)
        except NotInRoomError as error:
            attempt = effect.attempts + 1
            if attempt < NOT_IN_ROOM_ATTEMPTS:
                raise
            log.error(
                "Matrix: still not a member of %s after %d attempts (kicked, banned or "
                "never invited?); %s is parked: invite the bot again, then "
                "`wijkbode outbox retry <id>`",
                effect.destination,
                attempt,
                effect.key,
            )
            raise PermanentError(
                f"na {attempt} pogingen nog altijd geen lid van {effect.destination} "
                f"(still not a member after {attempt} attempts): {error}"
            ) from error

    async def _deliver(self, effect: Effect) -> str:
        await self._wait_until_ready()
        room = await self._client.resolve_room(effect.destination)
        payload = effect.payload
        resend = effect.attempts > 0
        if isinstance(payload, ChatPost):
            return await self._post(room, payload, effect.key, resend)
        if isinstance(payload, ChatReaction):
            return await self._client.react(room, payload.event_id, payload.key, effect.key)
        if isinstance(payload, ChatPoll):
            event_type, content = poll_event(payload, effect.key)
            return await self._client.send_event(
                room, event_type, content, effect.key, resend=resend
            )
        raise PermanentError(f"Matrix cannot deliver a {type(payload).__name__}")

    async def _post(self, room: str, post: ChatPost, key: str, resend: bool) -> str:
        message = OutgoingChat(
            body=post.body,
            formatted_body=post.html or None,
            thread_root=post.thread_root,
            reply_to=post.reply_to,
        )
        event_id = await self._client.send(room, message, key, resend=resend)
        # Each file names its item itself: behind a WhatsApp bridge the notice before it
        # may not be relayed, and a bare photo would come back with no text.
        caption = OutgoingChat(body=post.file_caption) if post.file_caption else None
        for number, document in enumerate(post.documents, start=1):
            data = await self._document(document.sha256)
            await self._client.upload_and_send_file(
                room,
                document.filename,
                document.content_type,
                data,
                f"{key}/doc/{number}",
                caption,
                resend=resend,
            )
        return event_id

    async def _document(self, sha256: str) -> bytes:
        try:
            return await self._documents.get(DocumentHash(sha256))
        except (FileNotFoundError, ValueError) as error:
            raise PermanentError(f"document {sha256} is not in the store: {error}") from error

    async def _wait_until_ready(self) -> None:
        if self._ready is None:
            return
        try:
            async with asyncio.timeout(self._ready_wait_s):
                await self._ready.wait()
                # Which rooms we are in (and which are encrypted) is known only after the
                # first sync; before it a send would call a joined room "not a member".
                await self._client.wait_until_synced()
        except TimeoutError:
            raise TransientError("Matrix is not connected yet") from None
