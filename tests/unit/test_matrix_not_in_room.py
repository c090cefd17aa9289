"""'Not in room' is transient (the client joins before the next attempt), until the
Matrix channel's limit: then the row is parked. Other M_FORBIDDEN stay permanent."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import nio
import pytest

from connectors.matrix.channel import NOT_IN_ROOM_ATTEMPTS, MatrixChannel
from connectors.matrix.errors import NotInRoomError, error_from_response
from daemon.errors import PermanentError, TransientError
from daemon.ports.chat import OutgoingChat
from daemon.ports.outbox import ChannelName, ChatPost, Effect, EffectStatus
from daemon.store.documents import DocumentStore

ROOM = "!core:example.org"


def test_not_in_room_is_transient_and_other_refusals_permanent() -> None:
    refused = nio.RoomSendError(
        f"User @wijkbode:example.org not in room {ROOM} (None)", "M_FORBIDDEN"
    )
    assert isinstance(error_from_response(refused, "send"), NotInRoomError)
    assert isinstance(error_from_response(refused, "send"), TransientError)
    not_allowed = nio.RoomSendError("You don't have permission to post that", "M_FORBIDDEN")
    assert isinstance(error_from_response(not_allowed, "send"), PermanentError)


class _ShutOut:
    """A chat client the room keeps refusing, as after a kick or ban."""

    async def resolve_room(self, room: str) -> str:
        return room

    async def send(
        self, room_id: str, message: OutgoingChat, txn_id: str, *, resend: bool = False
    ) -> str:
        raise NotInRoomError(f"Wijkbode is geen lid van {room_id} (not a member)")


def _effect(attempts: int) -> Effect:
    return Effect(
        id=1,
        channel=ChannelName.MATRIX,
        destination=ROOM,
        key="k1",
        payload=ChatPost("hallo", ""),
        created_at=datetime(2027, 1, 1, tzinfo=UTC),
        status=EffectStatus.PENDING,
        attempts=attempts,
        next_attempt_at=None,
        last_error=None,
        delivered_at=None,
        remote_id=None,
    )


async def test_the_channel_retries_not_in_room_then_parks(tmp_path: Path) -> None:
    channel = MatrixChannel(_ShutOut(), DocumentStore(tmp_path))  # type: ignore[arg-type]
    with pytest.raises(NotInRoomError):
        await channel.deliver(_effect(0))
    with pytest.raises(NotInRoomError):
        await channel.deliver(_effect(NOT_IN_ROOM_ATTEMPTS - 2))
    with pytest.raises(PermanentError, match="still not a member after"):
        await channel.deliver(_effect(NOT_IN_ROOM_ATTEMPTS - 1))
