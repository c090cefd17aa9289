"""The sync loop: new room events in order, each exactly once, surviving outages.

- Position: the sync token is saved (in nio's store) only after every event of
  a batch was pulled past by the consumer, i.e. handled and committed; events
  the ``HandledEvents`` record already holds are skipped on a replay.
- First start: the backlog is skipped; only what happens from now on counts.
- Never before our join: events preceding our own join in a timeline are
  dropped, and gap filling stops at our join.
- ``limited: true``: the gap before the timeline is filled from
  ``/messages`` backwards (until an event we saw, or the previous position).
- Outage: failed syncs back off exponentially with jitter and a cap.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable
from typing import Any

import nio

from connectors.matrix.convert import to_chat_event
from connectors.matrix.errors import check, error_from_response, translated
from connectors.matrix.pending import PendingDecryption
from daemon.errors import TransientError
from daemon.health import Health
from daemon.ports.chat import ChatEvent, ChatInvite, HandledEvents

log = logging.getLogger(__name__)

BACKOFF_FIRST_S = 0.5
BACKOFF_CAP_S = 60.0
GAP_PAGE_SIZE = 100
GAP_MAX_PAGES = 50
REMEMBERED_EVENT_IDS = 10_000
HEALTH_PART = "matrix"


class SyncStream:
    """Turns ``/sync`` into a stream of ``ChatEvent`` for one nio client."""

    def __init__(
        self,
        client: nio.AsyncClient,
        pending: PendingDecryption,
        handled: HandledEvents | None,
        timeout_ms: int,
        health: Health | None = None,
    ) -> None:
        self._client = client
        self._health = health  # /healthz and /metrics: part "matrix"
        self._pending = pending
        self._handled = handled
        self._timeout_ms = timeout_ms
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.first_sync_done = asyncio.Event()
        # Set (and replaced) after every sync nio has applied to its rooms: a send waiting
        # for a room it just joined looks again then.
        self._synced = asyncio.Event()

    async def wait_for_room(self, room_id: str) -> None:
        """Return once nio knows ``room_id`` as joined (a sync after our join brought it)."""
        while room_id not in self._client.rooms:
            await self._synced.wait()

    async def events(self) -> AsyncIterator[ChatEvent]:
        token: str | None = self._client.store.load_sync_token()
        # Events converted but not consumed by an earlier, abandoned iteration come again.
        self._seen.clear()
        full_state = True
        failures = 0
        while True:
            try:
                response = await self._sync(token, full_state)
                self._synced.set()
                self._synced = asyncio.Event()
                await self._housekeeping()
                batch = await self._collect(response, token)
            except TransientError as error:
                failures += 1
                if self._health is not None:
                    self._health.failed(HEALTH_PART)
                delay = _backoff(failures, error.retry_after)
                log.warning("Matrix sync failed (%s); retrying in %.1fs", error, delay)
                await asyncio.sleep(delay)
                continue
            if self._health is not None:
                self._health.succeeded(HEALTH_PART)
                if failures:
                    self._health.reconnected(HEALTH_PART)
            failures = 0
            for event in batch:
                if not await self._is_handled(event):
                    yield event
            self._pending.save()
            self._client.store.save_sync_token(response.next_batch)
            token, full_state = response.next_batch, False
            self.first_sync_done.set()

    async def _sync(self, token: str | None, full_state: bool) -> Any:
        # nio skips a response whose next_batch equals the last one it saw, and we
        # want every response processed: after a failed round we re-sync from our
        # saved token, and after a restart a server with nothing new answers with
        # that very token (the first sync's full room state included).
        self._client.next_batch = ""
        timeout = 0 if full_state else self._timeout_ms
        with translated("sync"):
            response = await self._client.sync(timeout=timeout, since=token, full_state=full_state)
        if isinstance(response, nio.ErrorResponse):
            raise error_from_response(response, "sync")
        return response

    async def _housekeeping(self) -> None:
        """What nio's sync_forever would do: to-device messages and key management."""
        client = self._client
        with translated("key management"):
            await client.send_to_device_messages()
            if client.should_upload_keys:
                check(await client.keys_upload(), "keys upload")
            if client.should_query_keys:
                check(await client.keys_query(), "keys query")
            if client.should_claim_keys:
                users = client.get_users_for_key_claiming()
                check(await client.keys_claim(users), "keys claim")

    async def _collect(self, response: Any, previous: str | None) -> list[ChatEvent]:
        batch: list[ChatEvent] = [
            ChatInvite(room_id, self._client.invited_rooms[room_id].inviter or "")
            for room_id in response.rooms.invite
            if room_id in self._client.invited_rooms
        ]
        if previous is None:
            log.info("Matrix: first sync, the rooms' earlier history is skipped")
            return batch
        for room_id, info in response.rooms.join.items():
            timeline = list(info.timeline.events)
            if info.timeline.limited and info.timeline.prev_batch:
                timeline = await self._fill_gap(
                    room_id, info.timeline.prev_batch, previous, timeline
                )
            batch.extend(await self._room_events(room_id, _after_own_join(timeline, self._me)))
        for room_id, event in self._pending.retry():
            batch.extend(self._convert(room_id, [event]))
        batch.extend(self._pending.expired())
        return batch

    @property
    def _me(self) -> str:
        return str(self._client.user_id)

    async def _fill_gap(
        self, room_id: str, prev_batch: str, stop_token: str, timeline: list[Any]
    ) -> list[Any]:
        """The events missed before ``timeline`` (oldest first), followed by ``timeline``."""
        known = {getattr(e, "event_id", None) for e in timeline} | set(self._seen)
        missed: list[Any] = []
        start = prev_batch
        for _ in range(GAP_MAX_PAGES):
            with translated("room history"):
                page = check(
                    await self._client.room_messages(
                        room_id, start=start, end=stop_token, limit=GAP_PAGE_SIZE
                    ),
                    "room history",
                )
            reached = False
            for event in page.chunk:
                if getattr(event, "event_id", None) in known:
                    reached = True
                    break
                missed.append(event)
                if _is_own_join(event, self._me):
                    reached = True
                    break
            if reached or not page.chunk or not page.end or page.end == start:
                break
            start = page.end
        if missed:
            log.info("Matrix: filled a gap of %d events in %s", len(missed), room_id)
        return list(reversed(missed)) + timeline

    async def _room_events(self, room_id: str, events: Iterable[Any]) -> list[ChatEvent]:
        ready: list[Any] = []
        for event in events:
            if isinstance(event, nio.MegolmEvent):
                await self._pending.hold(room_id, event)
            else:
                ready.append(event)
        return self._convert(room_id, ready)

    def _convert(self, room_id: str, events: Iterable[Any]) -> list[ChatEvent]:
        converted: list[ChatEvent] = []
        for event in events:
            source = getattr(event, "source", None)
            if not isinstance(source, dict) or source.get("sender") == self._me:
                continue
            event_id = source.get("event_id")
            if not isinstance(event_id, str) or event_id in self._seen:
                continue
            self._remember(event_id)
            chat_event = to_chat_event(source, room_id, bool(getattr(event, "decrypted", False)))
            if chat_event is not None:
                converted.append(chat_event)
        return converted

    def _remember(self, event_id: str) -> None:
        self._seen[event_id] = None
        while len(self._seen) > REMEMBERED_EVENT_IDS:
            self._seen.popitem(last=False)

    async def _is_handled(self, event: ChatEvent) -> bool:
        if self._handled is None or isinstance(event, ChatInvite):
            return False
        return await self._handled.is_event_handled(event.event_id)


def _is_own_join(event: Any, me: str) -> bool:
    source = getattr(event, "source", None) or {}
    if source.get("type") != "m.room.member" or source.get("state_key") != me:
        return False
    previous = (source.get("unsigned") or {}).get("prev_content") or {}
    joined = (source.get("content") or {}).get("membership") == "join"
    return joined and previous.get("membership") != "join"


def _after_own_join(events: list[Any], me: str) -> list[Any]:
    """Only the events after our latest join in this list (all of them if we joined earlier)."""
    for index in range(len(events) - 1, -1, -1):
        if _is_own_join(events[index], me):
            return events[index + 1 :]
    return events


def _backoff(failures: int, retry_after: float | None) -> float:
    """Exponential backoff with jitter and a cap; the server's ``retry_after`` wins."""
    if retry_after is not None:
        return retry_after
    base: float = min(BACKOFF_CAP_S, BACKOFF_FIRST_S * 2.0 ** (failures - 1))
    return base * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not cryptography
