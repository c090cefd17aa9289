"""Every command the parser makes of any message, carried out on a real store: an answer
(Dutch and English, bounded), never an exception; and outside the core room no answer
ever names the private series' meeting, item or afspraak, whatever was asked.

The store (a temporary SQLite, one per test module) holds a public and a private
meeting with an item and an afspraak each; commands that change things change it as
they go, as in a room.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fuzz_settings import FUZZ
from hypothesis import event, example, given
from hypothesis import strategies as st

from daemon.chat.access import RoomKind, Rooms, refusal
from daemon.chat.actions import ChatSettings, Origin
from daemon.chat.commands import run_command
from daemon.chat.parsing import COMMANDS, Command, parse_request
from daemon.engine.scheduler import EngineSettings
from daemon.filing.submission import FilingRules
from daemon.model import ItemStatus, Kind, Meeting, MeetingId, MeetingStatus, Series, SeriesId
from daemon.publish.scheduled import Targets
from daemon.rules.defaults import AGREEMENT_REMINDERS, KERNGROEP, WIJKALLIANTIE
from daemon.rules.visibility import SeriesVisibility, Surface
from daemon.store import Store

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
SECRET = "Huurachterstand familie Jansen"
SECRET_AGREEMENT = "dossier Jansen ophalen"
RULES = {SeriesId("wijkalliantie"): WIJKALLIANTIE, SeriesId("kerngroep"): KERNGROEP}
WORDS = [name for spec in COMMANDS for name in (spec.name, *spec.aliases)]
REFS = st.sampled_from(["WB-1", "WB-2", "#2", "2", "A-1", "A-2", "a2", "WB-999999999", ""])
REST = st.lists(
    st.sampled_from(["kerngroep", "wijkalliantie", "2027-04-13", "13 april", "2027-04-06",
                     "6 april", "volgende", "week", "uit", "aan", "want", "{0}", "%s", "x" * 300,
                     "\u200b", "", "de", "vergadering"]),
    max_size=3,
).map(" ".join)  # fmt: skip
ARGS = st.builds(lambda ref, rest: f"{ref} {rest}".strip(), REFS, REST)


def meeting(day: int, series: str) -> Meeting:
    start = datetime(2027, 4, day, 17, 30, tzinfo=UTC)
    return Meeting(MeetingId(f"{series}-2027-04-{day:02d}"), SeriesId(series),
                   series.capitalize(), start, start + timedelta(hours=2), "Buurthuis",
                   MeetingStatus.PLANNED)  # fmt: skip


ALLIANCE, KERN = meeting(6, "wijkalliantie"), meeting(13, "kerngroep")
ROOMS = Rooms("!core:x", frozenset({"!announce:x"}))
ROOM_OF = {Surface.CORE_ROOM: RoomKind.CORE, Surface.ANNOUNCE_ROOM: RoomKind.ANNOUNCE,
           Surface.OTHER_CHAT: RoomKind.OTHER}  # fmt: skip
PRIVATE = (SECRET, SECRET_AGREEMENT, str(KERN.id), "13 april", "13 April")


def chat_settings() -> ChatSettings:
    series = {
        sid: Series(sid, sid.capitalize(), public, rules, timedelta(hours=2), "",
                    public_agenda=public)
        for (sid, rules), public in zip(RULES.items(), (True, False), strict=True)
    }  # fmt: skip
    return ChatSettings(
        FilingRules(AMS, SeriesId("wijkalliantie"), RULES),
        EngineSettings(AMS, series, AGREEMENT_REMINDERS, Targets()),
        visibility={sid: SeriesVisibility.of(s) for sid, s in series.items()},
    )


@dataclass
class World:
    runner: asyncio.Runner
    store: Store
    settings: ChatSettings

    def ask(self, command: Command, surface: Surface) -> str:
        async def go() -> str:
            origin = Origin("!room:x", "$ev", "@lid:x", NOW, surface=surface)
            async with self.store.transaction() as tx:
                result = await run_command(tx, command, origin, self.settings, NOW)
            assert result.reply.html
            return result.reply.body

        return self.runner.run(go())


async def _seeded(path: Path) -> Store:
    store = await Store.open(path)
    async with store.transaction() as tx:
        await tx.sync_meetings([ALLIANCE, KERN], at=NOW)
        for meeting_id, title in ((ALLIANCE.id, "Bankjes"), (KERN.id, SECRET)):
            await tx.add_item(
                kind=Kind.AGENDAPUNT, title=title, submitter="p@x.test", received_at=NOW,
                meeting_id=meeting_id, late=False, decision_ready=True, status=ItemStatus.FILED,
                source="mail",
            )  # fmt: skip
        await tx.add_agreement("zaal boeken", "anna", date(2027, 3, 22), NOW, ALLIANCE.id)
        await tx.add_agreement(SECRET_AGREEMENT, "kees", date(2027, 3, 20), NOW, KERN.id)
    return store


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with tempfile.TemporaryDirectory() as directory, asyncio.Runner() as runner:
        store = runner.run(_seeded(Path(directory) / "state"))
        try:
            yield World(runner, store, chat_settings())
        finally:
            runner.run(store.close())


@FUZZ
@given(st.sampled_from(WORDS), ARGS, st.sampled_from(list(ROOM_OF)))
@example("agenda", "kerngroep", Surface.ANNOUNCE_ROOM)
@example("agenda", "2027-04-13", Surface.ANNOUNCE_ROOM)
@example("verplaats", "WB-2 " + "x" * 300, Surface.CORE_ROOM)
def test_any_command_is_answered_and_keeps_private_things_private(
    world: World, word: str, args: str, surface: Surface
) -> None:
    request = parse_request(f"!{word} {args}", received_at=NOW.astimezone(AMS))
    if not isinstance(request, Command):
        return  # a usage line or an unknown command: rendered in test_fuzz_chat.py
    if refusal(request, ROOM_OF[surface], ROOMS) is not None:
        return  # refused before it is carried out (tests/unit/test_chat_access.py)
    event(f"ran {type(request).__name__} in {surface.name}")
    answer = world.ask(request, surface)
    assert answer
    assert "— English —" in answer or "\n" in answer
    assert len(answer) < 20_000
    if surface is not Surface.CORE_ROOM:
        assert [p for p in PRIVATE if p in answer] == [], answer
