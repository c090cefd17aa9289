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
from daemon.chat.parsing import (
    Command,
    MarkConfidential,
    ShowAgenda,
    ShowAgreements,
    ShowDeadlines,
    ShowHelp,
)
from daemon.engine.scheduler import EngineSettings
from daemon.filing.submission import FilingRules
from daemon.model import ItemId, ItemStatus, Kind, Offset, Series, SeriesId
from daemon.publish.scheduled import Targets
from daemon.rules.defaults import (
    AGREEMENT_REMINDERS,
    BEWONERSBIJEENKOMST,
    KERNGROEP,
    WIJKALLIANTIE,
)
from daemon.rules.visibility import SeriesVisibility, Surface
from daemon.store import Store

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
# The alliance's concept agenda (T-21d, 19:30 local): from then on its titles are public.
CONCEPT_OUT = datetime(2027, 3, 16, 18, 30, tzinfo=UTC)
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
        sid: Series(
            sid, sid.capitalize(), public, rules, timedelta(hours=2), "", public_agenda=public
        )
        for (sid, rules), public in zip(RULES.items(), (alliance_public, False), strict=True)
    }
    return ChatSettings(
        FilingRules(AMS, SeriesId(default), RULES),
        EngineSettings(AMS, series, AGREEMENT_REMINDERS, Targets()),
        visibility={sid: SeriesVisibility.of(s) for sid, s in series.items()},
    )


async def ask(
    store: Store,
    command: Command,
    surface: Surface,
    chat: ChatSettings | None = None,
    *,
    now: datetime = NOW,
) -> str:
    origin = Origin("!room:x", "$ev", "@resident:x", now, surface=surface)
    async with store.transaction() as tx:
        result = await run_command(tx, command, origin, chat or settings(), now)
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
        answer = await ask(world, ShowAgenda(ref), surface, now=CONCEPT_OUT)
        assert str(ALLIANCE.id) in answer
        assert "Bankjes" in answer
        assert "partner@" not in answer  # no submitters outside the core room
        assert private_named(answer) == []


@pytest.mark.parametrize("surface", ELSEWHERE)
async def test_agenda_titles_of_the_alliance_are_public_only_once_the_concept_agenda_is_out(
    world: Store, surface: Surface
) -> None:
    """RULES.md: a wijkalliantie's dates are public from the plan on, its agenda titles once
    the concept agenda is out (T-21d); the answer says when."""
    before = await ask(
        world, ShowAgenda("wijkalliantie"), surface, now=CONCEPT_OUT - timedelta(seconds=1)
    )
    assert str(ALLIANCE.id) in before  # the date is public
    assert "Bankjes" not in before
    assert "wordt openbaar op dinsdag 16 maart 2027, 19:30" in before
    assert "becomes public on" in before
    at = await ask(world, ShowAgenda("wijkalliantie"), surface, now=CONCEPT_OUT)
    assert "Bankjes" in at
    core = await ask(world, ShowAgenda("wijkalliantie"), Surface.CORE_ROOM)
    assert "Bankjes" in core  # the core room sees the agenda as it grows


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


# --- one item kept back: !vertrouwelijk / !openbaar (issue 16, point 2) -----------------


async def run(store: Store, command: Command, surface: Surface, now: datetime = CONCEPT_OUT) -> str:
    return await ask(store, command, surface, now=now)


async def test_a_confidential_item_stays_in_the_core_room_and_comes_back_when_made_public(
    world: Store,
) -> None:
    async with world.transaction() as tx:
        item = await file_item(tx, ALLIANCE.id, kind=Kind.AGENDAPUNT, title="Huurzaak Dijkstraat")
    label = f"WB-{item.id}"

    said = await run(world, MarkConfidential(item.id), Surface.CORE_ROOM)
    assert f"{label} is vertrouwelijk: “Huurzaak Dijkstraat” blijft weg van" in said
    assert f"{label} is confidential" in said
    assert said.index("vertrouwelijk") < said.index("confidential")  # Dutch, then English
    async with world.reading() as tx:
        kept = await tx.item(item.id)
        events = [(e.event, e.detail) for e in await tx.item_events(item.id)]
    assert kept is not None
    assert kept.confidential is True
    assert events[-1] == ("confidential", "by @resident:x in chat")

    core = await run(world, ShowAgenda("wijkalliantie"), Surface.CORE_ROOM)
    assert "Huurzaak Dijkstraat" in core
    assert "vertrouwelijk / confidential" in core  # the core room sees it is kept back
    for surface in ELSEWHERE:
        public = await run(world, ShowAgenda("wijkalliantie"), surface)
        assert "Bankjes" in public  # the rest of the agenda is still shown
        assert "Huurzaak" not in public
        assert label not in public

    again = await run(world, MarkConfidential(item.id), Surface.CORE_ROOM)
    assert f"{label} is al vertrouwelijk" in again
    async with world.reading() as tx:
        assert len(await tx.item_events(item.id)) == len(events)  # nothing twice

    opened = await run(world, MarkConfidential(item.id, confidential=False), Surface.CORE_ROOM)
    assert f"{label} is niet meer vertrouwelijk" in opened
    assert f"{label} is no longer confidential" in opened
    for surface in ELSEWHERE:
        assert "Huurzaak Dijkstraat" in await run(world, ShowAgenda("wijkalliantie"), surface)
    async with world.reading() as tx:
        assert (await tx.item_events(item.id))[-1].event == "public"


async def test_confidential_of_an_unknown_item_says_so(world: Store) -> None:
    answer = await run(world, MarkConfidential(ItemId(999)), Surface.CORE_ROOM)
    assert "Item WB-999 bestaat niet." in answer
    assert "There is no item WB-999." in answer


async def test_an_item_awaiting_acceptance_is_not_shown_elsewhere(world: Store) -> None:
    async with world.transaction() as tx:
        await file_item(
            tx, ALLIANCE.id, kind=Kind.AGENDAPUNT, title="Onbekende afzender",
            status=ItemStatus.AWAITING_ACCEPTANCE,
        )  # fmt: skip
    for surface in ELSEWHERE:
        assert "Onbekende afzender" not in await run(world, ShowAgenda("wijkalliantie"), surface)
    assert "Onbekende afzender" in await run(world, ShowAgenda("wijkalliantie"), Surface.CORE_ROOM)


BEWONERS = planned_meeting(8, series="bewonersbijeenkomst")  # Thu 2027-04-08 19:30 CEST
ANNOUNCED = datetime(2027, 3, 11, 18, 30, tzinfo=UTC)  # its T-28d: 19:30 CET


def with_bewoners(*, public_agenda: bool = True) -> ChatSettings:
    rules = {**RULES, SeriesId("bewonersbijeenkomst"): BEWONERSBIJEENKOMST}
    bewoners = Series(
        SeriesId("bewonersbijeenkomst"), "Bewonersbijeenkomst", True, BEWONERSBIJEENKOMST,
        timedelta(hours=2), "", public_agenda=public_agenda,
    )  # fmt: skip
    base = settings()
    return replace(
        base,
        filing=FilingRules(AMS, SeriesId("wijkalliantie"), rules),
        visibility={**base.visibility, bewoners.id: SeriesVisibility.of(bewoners)},
    )


@pytest.mark.parametrize("surface", ELSEWHERE)
async def test_a_bewonersbijeenkomst_is_shown_elsewhere_only_from_its_announcement(
    store: Store, surface: Surface
) -> None:
    async with store.transaction() as tx:
        await tx.sync_meetings([BEWONERS], at=NOW)
        await file_item(tx, BEWONERS.id, kind=Kind.AGENDAPUNT, title="Speeltuin")
    chat = with_bewoners()
    before = await ask(
        store,
        ShowAgenda("bewonersbijeenkomst"),
        surface,
        chat,
        now=ANNOUNCED - timedelta(seconds=1),
    )
    unknown = await ask(store, ShowAgenda("de kerstborrel"), surface, chat)
    assert before == unknown  # not published yet: as if it did not exist
    at = await ask(store, ShowAgenda("bewonersbijeenkomst"), surface, chat, now=ANNOUNCED)
    assert str(BEWONERS.id) in at
    assert "Speeltuin" in at
    core = await ask(store, ShowAgenda("bewonersbijeenkomst"), Surface.CORE_ROOM, chat)
    assert "Speeltuin" in core  # the core room sees it long before


async def test_a_series_without_a_public_agenda_shows_its_date_but_no_titles(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.sync_meetings([BEWONERS], at=NOW)
        await file_item(tx, BEWONERS.id, kind=Kind.AGENDAPUNT, title="Speeltuin")
    chat = with_bewoners(public_agenda=False)
    answer = await ask(
        store, ShowAgenda("bewonersbijeenkomst"), Surface.ANNOUNCE_ROOM, chat, now=ANNOUNCED
    )
    assert str(BEWONERS.id) in answer
    assert "Speeltuin" not in answer
    assert "De agenda van deze vergadering is niet openbaar." in answer
