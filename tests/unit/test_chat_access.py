"""Who may ask what where: core room, announcement rooms, elsewhere; invites."""

from __future__ import annotations

import pytest

from daemon.chat.access import RoomKind, Rooms, invite_accepted, needs_power_check, refusal
from daemon.chat.afspraak import RecordAgreement
from daemon.chat.parsing import (
    COMMANDS,
    BadCommand,
    FileItem,
    MarkConfidential,
    MarkDone,
    Request,
    ShowAgenda,
    ShowAgreements,
    ShowDeadlines,
    ShowHelp,
    UnknownCommand,
)
from daemon.chat.replies import CORE_ROOM_ONLY, NO_CORE_ROOM, NOT_HERE
from daemon.model import AgreementId, ItemId, Kind

ROOMS = Rooms("!core", frozenset({"!announce"}))
CHANGING: list[Request] = [
    FileItem(Kind.AGENDAPUNT, "x", ""),
    RecordAgreement("x", "jan", None),
    MarkDone(AgreementId(1)),
    MarkConfidential(ItemId(1)),  # only the core group keeps items back, or lets them out
    MarkConfidential(ItemId(1), confidential=False),
    ShowAgreements(),  # afspraken are the core group's business
    BadCommand(next(s for s in COMMANDS if s.name == "klaar")),
]
READING: list[Request] = [
    ShowAgenda(None),
    ShowDeadlines(),
    UnknownCommand("x", None),
    BadCommand(next(s for s in COMMANDS if s.name == "agenda")),
]


def test_room_kinds() -> None:
    kinds = [ROOMS.kind(r) for r in ("!core", "!announce", "!elsewhere")]
    assert kinds == [RoomKind.CORE, RoomKind.ANNOUNCE, RoomKind.OTHER]


@pytest.mark.parametrize("request_", [*CHANGING, *READING, ShowHelp()])
def test_everything_may_be_asked_in_the_core_room(request_: Request) -> None:
    assert refusal(request_, RoomKind.CORE, ROOMS) is None


@pytest.mark.parametrize("request_", CHANGING)
def test_changes_are_refused_in_the_announcement_rooms_and_elsewhere(request_: Request) -> None:
    assert refusal(request_, RoomKind.ANNOUNCE, ROOMS) == CORE_ROOM_ONLY
    assert refusal(request_, RoomKind.OTHER, ROOMS) == NOT_HERE


@pytest.mark.parametrize("request_", READING)
def test_reading_is_fine_in_the_announcement_rooms_only(request_: Request) -> None:
    assert refusal(request_, RoomKind.ANNOUNCE, ROOMS) is None
    assert refusal(request_, RoomKind.OTHER, ROOMS) == NOT_HERE


def test_help_is_answered_anywhere() -> None:
    assert refusal(ShowHelp(), RoomKind.OTHER, ROOMS) is None


def test_without_a_core_room_changes_say_so() -> None:
    assert refusal(MarkDone(AgreementId(1)), RoomKind.ANNOUNCE, Rooms(None)) == NO_CORE_ROOM


def test_power_level_is_looked_up_only_for_changes_when_configured() -> None:
    assert needs_power_check(MarkDone(AgreementId(1)), 50)
    assert not needs_power_check(MarkDone(AgreementId(1)), 0)
    assert not needs_power_check(ShowAgenda(None), 50)


@pytest.mark.parametrize(
    ("room", "inviter", "accepted"),
    [
        ("!core", "@stranger:x", True),
        ("!announce", "@stranger:x", True),
        ("!elsewhere", "@admin:x", True),
        ("!elsewhere", "@stranger:x", False),
    ],
)
def test_invites(room: str, inviter: str, accepted: bool) -> None:
    assert accepted is invite_accepted(room, inviter, ROOMS, ("@admin:x",))
