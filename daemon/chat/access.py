"""Who may ask what, where (issue 5, "Who may do what"). Pure.

- Filing, afspraken and every command that changes something: only in the core
  group's room (its members are the core group), optionally only from members
  with at least ``min_power_level`` there; configured admins always may.
- ``!agenda``, ``!deadlines`` and ``!help``: also in the announcement rooms, which
  see only public series (:mod:`daemon.rules.visibility`, through ``surface_of``).
- ``!help`` is answered anywhere; anything else elsewhere gets a polite refusal.
- Invites are accepted only to configured rooms or from configured admins.

An announcement room is public: its agenda hides submitters and unvetted items.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass

from daemon.chat.parsing import (
    COMMANDS,
    BadCommand,
    Request,
    ShowAgenda,
    ShowDeadlines,
    ShowHelp,
    UnknownCommand,
)
from daemon.chat.replies import CORE_ROOM_ONLY, NO_CORE_ROOM, NOT_HERE
from daemon.rules.visibility import Surface


class RoomKind(enum.Enum):
    CORE = "core"
    ANNOUNCE = "announce"
    OTHER = "other"


class Need(enum.Enum):
    """Where a request may be made."""

    ANYWHERE = "anywhere"
    CORE_OR_ANNOUNCE = "core_or_announce"
    CORE = "core"


@dataclass(frozen=True, slots=True)
class Rooms:
    """The configured rooms by room id (aliases already resolved)."""

    core: str | None
    announce: frozenset[str] = frozenset()

    def kind(self, room_id: str) -> RoomKind:
        if self.core is not None and room_id == self.core:
            return RoomKind.CORE
        if room_id in self.announce:
            return RoomKind.ANNOUNCE
        return RoomKind.OTHER

    def configured(self, room_id: str) -> bool:
        return self.kind(room_id) is not RoomKind.OTHER


_SURFACES = {
    RoomKind.CORE: Surface.CORE_ROOM,
    RoomKind.ANNOUNCE: Surface.ANNOUNCE_ROOM,
    RoomKind.OTHER: Surface.OTHER_CHAT,
}


def surface_of(room: RoomKind) -> Surface:
    """The visibility surface a room is: who reads what is answered there."""
    return _SURFACES[room]


_PUBLIC_COMMANDS = {spec.name for spec in COMMANDS if spec.announce_rooms}


def need_for(request: Request) -> Need:
    """Where ``request`` may be made."""
    if isinstance(request, ShowHelp):
        return Need.ANYWHERE
    if isinstance(request, ShowAgenda | ShowDeadlines | UnknownCommand):
        return Need.CORE_OR_ANNOUNCE
    if isinstance(request, BadCommand) and request.spec.name in _PUBLIC_COMMANDS:
        return Need.CORE_OR_ANNOUNCE
    return Need.CORE


def refusal(request: Request, room: RoomKind, rooms: Rooms) -> str | None:
    """Why ``request`` cannot be made in ``room`` (a msgid), or ``None`` when it may."""
    need = need_for(request)
    if need is Need.ANYWHERE or room is RoomKind.CORE:
        return None
    if need is Need.CORE_OR_ANNOUNCE:
        return None if room is RoomKind.ANNOUNCE else NOT_HERE
    if rooms.core is None:
        return NO_CORE_ROOM
    return CORE_ROOM_ONLY if room is RoomKind.ANNOUNCE else NOT_HERE


def needs_power_check(request: Request, min_power_level: int) -> bool:
    """Whether the sender's power level in the core room must be looked up."""
    return min_power_level > 0 and need_for(request) is Need.CORE


def invite_accepted(room_id: str, inviter: str, rooms: Rooms, admins: Collection[str]) -> bool:
    return rooms.configured(room_id) or inviter in admins
