"""Building the Matrix parts from the configuration, for the composition root.

The client is created here but started by the chat intake (which retries while
the homeserver is away); the outbox channel waits for that start through a
shared ``ready`` event. ``close()`` goes on the app's exit stack and never logs out.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from dataclasses import dataclass

from connectors.matrix.channel import MatrixChannel
from connectors.matrix.client import MatrixChatClient
from connectors.matrix.session import MatrixSettings
from daemon.config import Config
from daemon.health import Health
from daemon.ports.chat import HandledEvents
from daemon.store import Store


@dataclass(frozen=True, slots=True)
class MatrixParts:
    client: MatrixChatClient
    channel: MatrixChannel
    ready: asyncio.Event  # set by the intake once the client has started


class StoreHandledEvents:
    """The connector's view of the store's handled-event record (a read, outside any write)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def is_event_handled(self, event_id: str) -> bool:
        async with self._store.reading() as tx:
            return await tx.is_event_handled(event_id)


def matrix_parts(
    config: Config, store: Store, resources: AsyncExitStack, health: Health | None = None
) -> MatrixParts | None:
    """The client and channel when ``[matrix]`` is configured, else ``None``."""
    matrix = config.matrix
    if matrix is None:
        return None
    settings = MatrixSettings(
        homeserver=matrix.homeserver,
        user_id=matrix.user_id,
        state_dir=config.state_dir,
        password=matrix.password.reveal() if matrix.password else None,
        access_token=matrix.access_token.reveal() if matrix.access_token else None,
        device_name=matrix.device_name,
    )
    handled: HandledEvents = StoreHandledEvents(store)
    client = MatrixChatClient(settings, handled=handled, health=health)
    resources.push_async_callback(client.close)
    ready = asyncio.Event()
    return MatrixParts(client, MatrixChannel(client, store.documents, ready), ready)
