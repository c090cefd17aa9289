"""The feed outbox channel: a delivered ``CalendarWrite`` is the meeting's published state.

The scheduler fires a meeting's publication moment (and every later notice:
moved, cancelled, goes ahead) to the feed destination like to any channel;
delivering it here records the event in the store (``public_events``) and
tells the HTTP service to render again. A repeated delivery (after a crash
between this write and the outbox marking the row delivered) changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from daemon.errors import PermanentError
from daemon.model import MeetingId
from daemon.ports.outbox import CalendarWrite, ChannelName, Effect
from daemon.store import Store


class FeedChannel:
    name = ChannelName.FEED

    def __init__(self, store: Store, on_change: Callable[[], None]) -> None:
        self._store = store
        self._on_change = on_change

    async def deliver(self, effect: Effect) -> str:
        write = effect.payload
        if not isinstance(write, CalendarWrite):
            raise PermanentError(f"{effect.key}: not a calendar write ({type(write).__name__})")
        # The UID is "<meeting id>@<mail domain>" (daemon.publish.scheduled).
        meeting = MeetingId(write.uid.rpartition("@")[0] or write.uid)
        async with self._store.transaction() as tx:
            changed = await tx.record_publication(
                meeting, effect.destination, write, key=effect.key, at=effect.created_at
            )
        if changed:
            self._on_change()
        return write.uid
