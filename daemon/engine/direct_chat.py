"""The Matrix channel, with rows addressed to a member delivered in a direct chat.

An afspraak's reminder to its owner is an outbox row whose destination is the
owner's user id (``@bob:example.org``), not a room. This channel looks up the
direct chat Wijkbode opened with that member (migration 0015), opens one the first
time (a private room with the member invited) and remembers it at once, then
hands the row to the Matrix channel with the room as its destination. Every other
row goes to the Matrix channel as it is.

The room is remembered in its own transaction right after it was made; a crash
between the two can leave one unused room behind, never a second reminder in it.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from daemon.clock import Clock
from daemon.ports.chat import ChatClient
from daemon.ports.outbox import Channel, ChannelName, Effect
from daemon.store import Store


def is_member(destination: str) -> bool:
    """A Matrix user id (``@name:server``), as opposed to a room id or alias."""
    return destination.startswith("@") and ":" in destination


class DirectChat:
    """A ``Channel`` around the Matrix channel; see the module docstring."""

    def __init__(self, matrix: Channel, client: ChatClient, store: Store, clock: Clock) -> None:
        self._matrix = matrix
        self._client = client
        self._store = store
        self._clock = clock
        self._opening = asyncio.Lock()  # two rows for one member never open two rooms
        self.parallel = int(getattr(matrix, "parallel", 1))

    @property
    def name(self) -> ChannelName:
        return self._matrix.name

    async def deliver(self, effect: Effect) -> str:
        if not is_member(effect.destination):
            return await self._matrix.deliver(effect)
        room = await self.room_for(effect.destination)
        return await self._matrix.deliver(replace(effect, destination=room))

    async def room_for(self, user_id: str) -> str:
        """The direct chat with ``user_id``, opened the first time it is needed."""
        async with self._opening:
            async with self._store.reading() as tx:
                known = await tx.direct_room(user_id)
            if known is not None:
                return known
            room = await self._client.open_direct(user_id)
            async with self._store.transaction() as tx:
                await tx.remember_direct_room(user_id, room, self._clock.now())
            return room
