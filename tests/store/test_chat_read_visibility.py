"""The chat read commands ask the visibility rule (issue 9, point 1): outside the core room
a non-public series' meetings, items and afspraken are never shown, and a refusal reads the
same as "no such meeting". A real SQLite store; ``run_command`` as the chat intake calls it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from store_samples import file_item, planned_meeting

from daemon.chat.actions import ChatSettings, Origin
from daemon.chat.commands import run_command
from daemon.chat.parsing import Command, ShowAgenda, ShowAgreements, ShowDeadlines, ShowHelp
from daemon.engine.scheduler import EngineSettings
from daemon.filing.submission import FilingRules
from daemon.model import Kind, Offset, Series, SeriesId
from daemon.publish.scheduled import Targets
from daemon.rules.defaults import AGREEMENT_REMINDERS, KERNGROEP, WIJKALLIANTIE
from daemon.rules.visibility import SeriesVisibility, Surface
from daemon.store import Store

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
ALLIANCE = planned_meeting(6, series="wijkalliantie")  # 2027-04-06, public
KERN = planned_meeting(13, series="kerngroep")  # 2027-04-13, private
KERN_SAME_DAY_AS_ALLIANCE = planned_meeting(6, series="kerngroep")
SECRET = "Huurachterstand familie Jansen"
SECRET_AGREEMENT = "dossier Jansen ophalen"
PUBLIC_AGREEMENT = "zaal boeken"
# The kerngroep with a deadline, so that !deadlines has something private to leave out.
KERN_RULES = replace(KERNGROEP, deadlines={Kind.AGENDAPUNT: Offset.parse("5d")})
RULES = {SeriesId("wijkalliantie"): WIJKALLIANTIE, SeriesId("kerngroep"): KERN_RULES}
ELSEWHERE = (Surface.ANNOUNCE_ROOM, Surface.OTHER_CHAT)


def settings(default: str = "wijkalliantie", *, alliance_public: bool = True) -> ChatSettings:
    series = {
        sid: Series(sid, sid.capitalize(), public, rules, timedelta(hours=2), "")
        for (sid, rules), public in zip(RULES.items(), (alliance_public, False), strict=True)
    }
    return ChatSettings(
        FilingRules(AMS, SeriesId(default), RULES),
        EngineSettings(AMS, series, AGREEMENT_REMINDERS, Targets()),
        visibility={sid: SeriesVisibility.of(s) for sid, s in series.items()},
    )


async def ask(
    store: Store, command: Command, surface: Surface, chat: ChatSettings | None = None
) -> str:
    origin = Origin("!room:x", "$ev", "@resident:x", NOW, surface=surface)
    async with store.transaction() as tx:
        result = await run_command(tx, command, origin, chat or settings(), NOW)
    assert result.reply.html  # the same answer goes out as HTML too
    return result.reply.body


@pytest.fixture
async def world(store: Store) -> Store:
    async with store.transaction() as tx:
        await tx.sync_meetings([ALLIANCE, KERN], at=NOW)
        await file_item(tx, KERN.id, kind=Kind.AGENDAPUNT, title=SECRET)
        await file_item(tx, ALLIANCE.id, kind=Kind.AGENDAPUNT, title="Bankjes")
        await tx.add_agreement(SECRET_AGREEMENT, "kees", date(2027, 3, 20), NOW, KERN.id)
        await tx.add_agreement("notulen delen", "piet", date(2027, 3, 21), NOW)  # no meeting
        await tx.add_agreement(PUBLIC_AGREEMENT, "anna", date(2027, 3, 22), NOW, ALLIANCE.id)
    return store


def private_named(answer: str) -> list[str]:
    """What of the kerngroep an answer names ("kerngroep" alone also means the core group)."""
    secrets = (SECRET, KERN.title, str(KERN.id), "13 april", "13 April", SECRET_AGREEMENT,
               "notulen delen", "!agenda kerngroep")  # fmt: skip
    return [secret for secret in secrets if secret in answer]


REFUSAL_NL = "In deze kamer laat ik alleen openbare vergaderingen zien"
REFUSAL_EN = "In this room I only show public meetings"


@pytest.mark.parametrize("surface", ELSEWHERE)
async def test_agenda_of_a_private_meeting_reads_as_no_such_meeting(
    world: Store, surface: Surface
) -> None:
    asked = ["kerngroep", "Kerngroep", "2027-04-13", "13 april", str(KERN.id)]
    answers = [await ask(world, ShowAgenda(ref), surface) for ref in asked]
    nothing = await ask(world, ShowAgenda("2027-04-14"), surface)  # nobody meets that day
    unknown = await ask(world, ShowAgenda("de kerstborrel"), surface)
    for answer in answers:
        assert answer == nothing == unknown  # never confirms that the meeting exists
    assert private_named(nothing) == []
    assert nothing.index(REFUSAL_NL) < nothing.index(REFUSAL_EN)  # Dutch, then English


async def test_agenda_of_a_private_meeting_in_the_core_room_as_before(world: Store) -> None:
    for ref in ("kerngroep", "2027-04-13", str(KERN.id)):
        answer = await ask(world, ShowAgenda(ref), Surface.CORE_ROOM)
        assert str(KERN.id) in answer
        assert SECRET in answer
        assert "partner@\u2060example.org" in answer  # the core room sees submitters
    unknown = await ask(world, ShowAgenda("2027-04-14"), Surface.CORE_ROOM)
    assert "Ik ken geen vergadering “2027-04-14”" in unknown


@pytest.mark.parametrize("surface", ELSEWHERE)
async def test_agenda_of_a_public_meeting_is_still_shown_elsewhere(
    world: Store, surface: Surface
) -> None:
    for ref in (None, "wijkalliantie", "2027-04-06", str(ALLIANCE.id)):
        answer = await ask(world, ShowAgenda(ref), surface)
        assert str(ALLIANCE.id) in answer
        assert "Bankjes" in answer
        assert "partner@" not in answer  # no submitters outside the core room
        assert private_named(answer) == []


async def test_a_date_both_series_meet_on_shows_only_the_public_one_elsewhere(
    store: Store,
) -> None:
    async with store.transaction() as tx:
        await tx.sync_meetings([ALLIANCE, KERN_SAME_DAY_AS_ALLIANCE], at=NOW)
        await file_item(tx, KERN_SAME_DAY_AS_ALLIANCE.id, kind=Kind.AGENDAPUNT, title=SECRET)
    chat = settings(default="kerngroep")
    public = await ask(store, ShowAgenda("2027-04-06"), Surface.ANNOUNCE_ROOM, chat)
    assert str(ALLIANCE.id) in public
    assert SECRET not in public
    core = await ask(store, ShowAgenda("2027-04-06"), Surface.CORE_ROOM, chat)
    assert str(KERN_SAME_DAY_AS_ALLIANCE.id) in core


async def test_bare_agenda_skips_a_private_default_series_outside_the_core_room(
    world: Store,
) -> None:
    chat = settings(default="kerngroep")
    assert str(KERN.id) in await ask(world, ShowAgenda(None), Surface.CORE_ROOM, chat)
    public = await ask(world, ShowAgenda(None), Surface.ANNOUNCE_ROOM, chat)
    assert str(ALLIANCE.id) in public
    assert private_named(public) == []

    nothing_public = settings(default="kerngroep", alliance_public=False)
    answer = await ask(world, ShowAgenda(None), Surface.ANNOUNCE_ROOM, nothing_public)
    assert "nog geen openbare vergadering gepland" in answer
    assert private_named(answer) == []
    assert "Bankjes" not in answer


@pytest.mark.parametrize("surface", ELSEWHERE)
async def test_deadlines_leave_out_a_private_series_elsewhere(
    world: Store, surface: Surface
) -> None:
    answer = await ask(world, ShowDeadlines(), surface)
    assert private_named(answer) == []
    assert ALLIANCE.title in answer
    assert "Hier laat ik alleen openbare vergaderingen zien" in answer
    core = await ask(world, ShowDeadlines(), Surface.CORE_ROOM)
    assert KERN.title in core
    assert ALLIANCE.title in core
    assert "alleen openbare" not in core


@pytest.mark.parametrize("surface", ELSEWHERE)
async def test_afspraken_of_a_private_series_or_of_no_meeting_stay_in_the_core_room(
    world: Store, surface: Surface
) -> None:
    answer = await ask(world, ShowAgreements(), surface)
    assert private_named(answer) == []
    assert PUBLIC_AGREEMENT in answer
    assert "Hier laat ik alleen openbare vergaderingen zien" in answer
    core = await ask(world, ShowAgreements(), Surface.CORE_ROOM)
    for what in (SECRET_AGREEMENT, "notulen delen", PUBLIC_AGREEMENT):
        assert what in core


@pytest.mark.parametrize("surface", ELSEWHERE)
async def test_help_examples_name_only_the_series_shown_there(
    world: Store, surface: Surface
) -> None:
    answer = await ask(world, ShowHelp(), surface)
    assert "!agenda wijkalliantie" in answer
    assert "!agenda 2027-05-18" in answer
    assert private_named(answer) == []
    core = await ask(world, ShowHelp(), Surface.CORE_ROOM)
    assert "!agenda wijkalliantie · !agenda kerngroep · !agenda 2027-05-18" in core
