"""Afspraken and ``!commands`` in the core group's room (encrypted and plain) and in a public
announcement room, answered by Wijkbode with real members; who may do what."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from chat_helpers import (
    FIRST,
    SECOND,
    TODAY,
    Setup,
    Watcher,
    Wijkbode,
    meeting_id,
    new_watcher,
    replies_to,
    room_with_bot,
    start_wijkbode,
    wait_bot_in,
)
from matrix_helpers import register

from daemon.filing.submission import FilingRules, Submission, file_submission
from daemon.model import AgreementStatus, Item, ItemId, ItemStatus, Kind
from daemon.rules.names import Names, anonymous
from daemon.store.core import ItemEvent
from daemon.store.engine import JobStatus, SubjectType
from harness.synapse import SynapseServer


@dataclass
class World:
    bot: Wijkbode
    alice: Watcher  # core-group member
    stranger: Watcher  # only in the announcement room
    core: str
    announce: str


@pytest_asyncio.fixture(scope="module", params=[True, False], ids=["encrypted", "plain"])
async def world(
    request: pytest.FixtureRequest, synapse: SynapseServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    base = tmp_path_factory.mktemp("chat-commands")
    alice = await new_watcher(synapse, "alice", base)
    stranger = await new_watcher(synapse, "stranger", base)
    account = await register(synapse, "wijkbode")
    core = await room_with_bot(alice, account.user_id, encrypted=request.param)
    announce = await room_with_bot(alice, account.user_id, encrypted=False, members=[stranger])
    setup = Setup(base / "bot", core_room=core, announce_rooms=(announce,))
    bot = await start_wijkbode(synapse, account, setup)
    try:
        await wait_bot_in(alice, core, bot)
        await wait_bot_in(alice, announce, bot)
        yield World(bot, alice, stranger, core, announce)
    finally:
        await bot.stop()
        await alice.close()
        await stranger.close()


def alice_typed(world: World) -> str:
    """``@`` and Alice's display name, as typed: Synapse names a new user by localpart."""
    return "@" + world.alice.user_id.removeprefix("@").split(":")[0]


async def ask(
    world: World,
    text: str,
    *,
    room: str | None = None,
    who: Watcher | None = None,
    formatted: str | None = None,
) -> str:
    """Send ``text`` (with its HTML, if ``formatted``) and return the body of Wijkbode's one
    answer to it."""
    person = who or world.alice
    where = room or world.core
    if formatted is None:
        event_id = await person.say(where, text)
    else:
        html = {"format": "org.matrix.custom.html", "formatted_body": formatted}
        event_id = await person.send(where, {"msgtype": "m.text", "body": text, **html})
    events = await person.wait(
        where, lambda got: bool(replies_to(got, world.bot, event_id)), world.bot
    )
    [answer] = replies_to(events, world.bot, event_id)
    assert answer["content"]["msgtype"] == "m.notice"
    assert answer["content"]["m.mentions"] == {}
    return str(answer["content"]["body"])


async def _item(world: World, item_id: ItemId) -> Item:
    async with world.bot.store.reading() as tx:
        item = await tx.item(item_id)
    assert item is not None
    return item


async def _file(world: World, title: str, kind: Kind, *, awaiting: bool = False) -> Item:
    """An item filed as the mail intake would (awaiting acceptance for unknown senders)."""
    submission = Submission(
        kind=kind,
        title=title,
        submitter="onbekend@example.org",
        received_at=datetime.now(UTC),
        source="mail",
        awaiting_acceptance=awaiting,
    )
    async with world.bot.store.transaction() as tx:
        filed = await file_submission(tx, submission, FilingRules.from_config(world.bot.config))
    return filed.item


# --- afspraken ----------------------------------------------------------------------


@pytest.mark.parametrize("owner", ["@alice", "@jan@buurt.test"], ids=["member", "by-mail"])
async def test_afspraak_with_owner_and_date_is_recorded_with_its_reminders(
    world: World, owner: str
) -> None:
    """The owner is a member of the room (typed by display name) or someone outside it,
    named by mail address (their reminders go by mail)."""
    due = TODAY + timedelta(days=20)
    what = {"@alice": "flyers rondbrengen", "@jan@buurt.test": "flyers drukken"}[owner]
    typed = alice_typed(world) if owner == "@alice" else owner
    answer = await ask(world, f"Afspraak: {what} {typed} voor {due.isoformat()}")

    async with world.bot.store.reading() as tx:
        [agreement] = [a for a in await tx.open_agreements() if a.what == what]
        jobs = await tx.jobs_of(SubjectType.AGREEMENT, str(agreement.id))
    expected = world.alice.user_id if owner == "@alice" else "jan@buurt.test"
    assert (agreement.owner, agreement.due) == (expected, due)
    assert f"Afspraak A-{agreement.id} genoteerd" in answer
    assert [JobStatus.PENDING] * len(jobs) == [job.status for job in jobs]
    assert jobs


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("Afspraak: zaal regelen voor vrijdag", "Wie doet het?"),
        ("Afspraak: zaal regelen {alice}", "Voor wanneer?"),
        ("Afspraak: zaal regelen {alice} voor de bijeenkomst", "“de bijeenkomst” niet als datum"),
        # A typed name that is nobody in the room (not bridged): asked, never kept as text.
        ("Afspraak: zaal regelen @piet voor vrijdag", "“@piet” ken ik niet in deze room"),
        ("Agreement: book the hall", "Who will do it?"),
    ],
)
async def test_afspraak_missing_owner_or_date_gets_a_question_and_nothing_is_stored(
    world: World, text: str, question: str
) -> None:
    async with world.bot.store.reading() as tx:
        before = await tx.agreements()
    answer = await ask(world, text.replace("{alice}", alice_typed(world)))
    async with world.bot.store.reading() as tx:
        after = await tx.agreements()
    assert question in answer
    assert "nog niets genoteerd" in answer
    assert before == after


def pill(user_id: str, shown: str) -> str:
    """A mention pill as Element writes it: a matrix.to link showing the display name."""
    return f'<a href="https://matrix.to/#/{user_id}">{shown}</a>'


async def test_a_pill_to_a_member_makes_the_owner(world: World) -> None:
    due = TODAY + timedelta(days=21)
    answer = await ask(
        world,
        f"Afspraak: stoelen klaarzetten Alice voor {due.isoformat()}",
        formatted=f"Afspraak: stoelen klaarzetten {pill(world.alice.user_id, 'Alice')}"
        f" voor {due.isoformat()}",
    )
    async with world.bot.store.reading() as tx:
        [agreement] = [a for a in await tx.agreements() if a.what == "stoelen klaarzetten"]
    assert (agreement.owner, agreement.due) == (world.alice.user_id, due)
    assert f"Afspraak A-{agreement.id} genoteerd" in answer


@pytest.mark.parametrize("how", ["pill", "typed-id"])
async def test_an_owner_outside_the_room_by_matrix_id_is_asked_about(
    world: World, how: str
) -> None:
    """The stranger sits in the announcement room, not in the core room: a pill to them
    (shown as a member's name) or their typed id makes no owner (security finding 5)."""
    stranger = world.stranger.user_id
    text = "Afspraak: kas tellen Alice voor vrijdag"
    formatted = None
    if how == "pill":
        formatted = f"Afspraak: kas tellen {pill(stranger, 'Alice')} voor vrijdag"
    else:
        text = f"Afspraak: kas tellen {stranger} voor vrijdag"
    async with world.bot.store.reading() as tx:
        before = await tx.agreements()
    answer = await ask(world, text, formatted=formatted)
    async with world.bot.store.reading() as tx:
        after = await tx.agreements()
    assert before == after
    assert "is geen lid van deze room en kan dus geen eigenaar zijn" in answer
    assert "is not a member of this room" in answer
    assert "nog niets genoteerd" in answer
    assert anonymous(stranger).removeprefix("@") in answer  # the id the pill links to


async def test_agreements_are_listed_closed_as_done_or_with_a_motivation(world: World) -> None:
    due = TODAY + timedelta(days=30)
    await ask(world, f"Afspraak: subsidie aanvragen @anna@buurt.test uiterlijk {due.isoformat()}")
    await ask(world, f"Afspraak: notulen delen {alice_typed(world)} binnen 2 weken")
    async with world.bot.store.reading() as tx:
        by_what = {a.what: a for a in await tx.open_agreements()}
    subsidy, minutes = by_what["subsidie aanvragen"], by_what["notulen delen"]

    listing = await ask(world, "!afspraken")
    # A word joiner after the @ keeps chat clients from making the address a link.
    assert f"A-{subsidy.id} “subsidie aanvragen” — anna@\u2060buurt.test — " in listing
    # Alice by her display name, through the one resolver (a random localpart with six
    # digits in a row reads as a phone number and is hidden), never by her id.
    alice = world.alice.user_id
    shown = Names({alice: alice_typed(world).removeprefix("@")}).of(alice)
    assert f"A-{minutes.id} “notulen delen” — {shown} — " in listing
    assert alice not in listing

    assert f"Afspraak A-{subsidy.id} is klaar" in await ask(world, f"!klaar A-{subsidy.id}")
    refused = await ask(world, f"!kan-niet A-{minutes.id}")
    assert "motivatie" in refused
    assert "Gebruik: !kan-niet" in refused
    async with world.bot.store.reading() as tx:
        still_open = await tx.agreement(minutes.id)
    assert still_open is not None
    assert still_open.status is AgreementStatus.OPEN
    answer = await ask(world, f"!cannot {minutes.id} de notulist is ziek")
    assert "de notulist is ziek" in answer

    async with world.bot.store.reading() as tx:
        done, cannot = await tx.agreement(subsidy.id), await tx.agreement(minutes.id)
        pending = await tx.pending_jobs(SubjectType.AGREEMENT)
    assert done is not None
    assert cannot is not None
    assert (done.status, cannot.status, cannot.motivation) == (
        AgreementStatus.DONE,
        AgreementStatus.CANNOT,
        "de notulist is ziek",
    )
    assert {str(subsidy.id), str(minutes.id)}.isdisjoint({job.subject_id for job in pending})
    assert "al gesloten" in await ask(world, f"!klaar {subsidy.id}")
    assert "bestaat niet" in await ask(world, "!klaar A-99999")


# --- read-only commands ---------------------------------------------------------------


async def test_help_lists_every_command_with_its_english_alias(world: World) -> None:
    answer = await ask(world, "!help")
    for usage in ("!agenda", "!deadlines", "!afspraken", "!klaar A-ID (!done)", "!kan-niet",
                  "!verplaats", "!intrekken", "!accepteer", "!weiger", "!besluitrijp",
                  "Afspraak:", "📌"):  # fmt: skip
        assert usage in answer


async def test_agenda_of_the_next_and_of_a_named_meeting(world: World) -> None:
    first = await _file(world, "Verslag buurtschouw", Kind.TER_KENNISGEVING)
    second = await _file(world, "Speeltuin", Kind.AGENDAPUNT)  # late for the first: moves on
    next_agenda = await ask(world, "!agenda")
    assert meeting_id(FIRST) in next_agenda
    assert f"WB-{first.id}" in next_agenda
    assert f"WB-{second.id}" not in next_agenda
    named = await ask(world, f"!agenda {SECOND.isoformat()}")
    assert meeting_id(SECOND) in named
    assert f"WB-{second.id}" in named
    assert "onbekend@\u2060example.org" in named  # the core room sees who submitted
    assert "Ik ken geen vergadering" in await ask(world, "!agenda de kerstborrel")


async def test_deadlines_lists_what_is_still_ahead(world: World) -> None:
    answer = await ask(world, "!deadlines")
    assert "Komende termijnen" in answer
    assert "actualiteit" in answer
    assert "Wijkalliantie" in answer


# --- changing commands --------------------------------------------------------------


async def test_move_withdraw_and_their_refusals(world: World) -> None:
    item = await _file(world, "Parkeren", Kind.TER_KENNISGEVING)
    assert item.meeting == meeting_id(FIRST)
    answer = await ask(world, f"!verplaats WB-{item.id} {SECOND.isoformat()}")
    assert f"WB-{item.id} verplaatst naar Wijkalliantie" in answer
    assert (await _item(world, item.id)).meeting == meeting_id(SECOND)
    assert "Ik ken geen vergadering" in await ask(world, f"!move {item.id} 1999-01-01")
    assert "bestaat niet" in await ask(world, "!intrekken WB-99999")

    assert f"WB-{item.id} is ingetrokken" in await ask(world, f"!intrekken WB-{item.id}")
    assert (await _item(world, item.id)).status is ItemStatus.WITHDRAWN
    assert "ingetrokken of geweigerd" in await ask(world, f"!withdraw {item.id}")
    events = [e.event for e in await _events(world, item.id)]
    assert events == ["filed", "moved", "withdrawn"]


async def _events(world: World, item_id: ItemId) -> list[ItemEvent]:
    async with world.bot.store.reading() as tx:
        return await tx.item_events(item_id)


async def test_accept_and_reject_items_awaiting_acceptance(world: World) -> None:
    welcome = await _file(world, "Vraag van een bewoner", Kind.TER_KENNISGEVING, awaiting=True)
    spam = await _file(world, "Goedkope zonnepanelen", Kind.TER_KENNISGEVING, awaiting=True)
    assert "is geaccepteerd" in await ask(world, f"!accepteer WB-{welcome.id}")
    assert "is geweigerd" in await ask(world, f"!reject {spam.id} reclame")
    assert (await _item(world, welcome.id)).status is ItemStatus.FILED
    assert (await _item(world, spam.id)).status is ItemStatus.REJECTED
    assert "wacht niet op acceptatie" in await ask(world, f"!accepteer {welcome.id}")


async def test_a_flood_awaiting_acceptance_is_rejected_with_one_message(world: World) -> None:
    """Security finding 1: one !weiger of a list and a range rejects every item in it that
    awaits acceptance, each with its own audit trail, skips the rest, and answers once."""
    flood = [
        await _file(world, f"Goedkope pillen {n}", Kind.TER_KENNISGEVING, awaiting=True)
        for n in range(6)
    ]
    welcome = await _file(world, "Vraag van een bewoner", Kind.TER_KENNISGEVING, awaiting=True)
    assert "is geaccepteerd" in await ask(world, f"!accepteer WB-{welcome.id}")
    first, last = flood[0].id, flood[-1].id
    assert [item.id for item in flood] == list(range(first, last + 1))
    unknown = welcome.id + 1000

    answer = await ask(
        world, f"!weiger WB-{first} t/m WB-{last}, WB-{welcome.id} WB-{unknown} spam"
    )

    dutch, english = answer.split("\n\n— English —\n")
    assert dutch.splitlines() == [
        f"Geweigerd: 6 (WB-{first} t/m WB-{last}).",
        f"Overgeslagen, wacht niet (meer) op acceptatie: WB-{welcome.id}.",
        f"Overgeslagen, bestaat niet: WB-{unknown}.",
    ]
    assert english.splitlines()[0] == f"Rejected: 6 (WB-{first} to WB-{last})."
    for item in flood:
        assert (await _item(world, item.id)).status is ItemStatus.REJECTED
        trail = [(e.event, e.detail) for e in await _events(world, item.id)]
        assert trail[-1] == ("rejected", f"by {world.alice.user_id} in chat: spam")
    assert (await _item(world, welcome.id)).status is ItemStatus.FILED

    too_many = await ask(world, f"!reject WB-{first} to WB-{first + 500}")
    assert "Eén opdracht noemt hoogstens 500 items" in too_many
    assert "Gebruik: !weiger ID [ID …] [reden]" in too_many


async def test_a_late_stuk_is_kept_for_discussion_on_its_meeting(world: World) -> None:
    late = await _file(world, "Begroting 2027", Kind.STUK)  # past T-14d of the first meeting
    assert (late.meeting, late.late) == (meeting_id(SECOND), True)
    answer = await ask(world, f"!besluitrijp WB-{late.id} ter-bespreking")
    assert "ter bespreking, geen besluit" in answer
    kept = await _item(world, late.id)
    assert (kept.meeting, kept.status, kept.decision_ready) == (
        meeting_id(FIRST),
        ItemStatus.TER_BESPREKING,
        False,
    )
    usage = await ask(world, f"!besluitrijp {late.id}")
    assert "Gebruik: !besluitrijp ID ter-bespreking" in usage
    on_time = await _file(world, "Op tijd", Kind.TER_KENNISGEVING)
    assert "geen te laat" in await ask(world, f"!besluitrijp {on_time.id} ter-bespreking")


async def test_a_wrong_command_gets_a_helpful_answer(world: World) -> None:
    assert "Bedoel je !agenda?" in await ask(world, "!agneda")
    unknown = await ask(world, "!koffie")
    assert "De opdracht “!koffie” ken ik niet" in unknown
    assert "!help" in unknown
    assert "Gebruik: !klaar A-ID" in await ask(world, "!klaar")


# --- who may do what --------------------------------------------------------------------


async def test_a_stranger_in_the_announcement_room_may_read_but_not_change(world: World) -> None:
    item = await _file(world, "Openbaar punt", Kind.TER_KENNISGEVING)
    await _file(world, "Nog niet geaccepteerd", Kind.TER_KENNISGEVING, awaiting=True)
    due = TODAY + timedelta(days=9)
    await ask(world, f"Afspraak: stoep vegen @kees@buurt.test voor {due.isoformat()}")
    async with world.bot.store.reading() as tx:
        [agreement] = [a for a in await tx.open_agreements() if a.what == "stoep vegen"]
        items_before = len(await tx.items_for_meeting(meeting_id(FIRST)))

    def public(text: str) -> Awaitable[str]:
        return ask(world, text, room=world.announce, who=world.stranger)

    agenda = await public("!agenda")
    assert f"WB-{item.id}" in agenda
    assert "onbekend@" not in agenda  # no submitters in a public room
    assert "Nog niet geaccepteerd" not in agenda
    assert "Komende termijnen" in await public("!deadlines")
    assert "!agenda" in await public("!help")
    for text in (f"!klaar A-{agreement.id}", "Agendapunt: Van buiten", "!afspraken",
                 f"!intrekken WB-{item.id}", "Afspraak: iets @jan@a.nl op 1-4",
                 f"!weiger WB-{item.id} t/m WB-{item.id + 5}"):  # fmt: skip
        assert "Dit kan alleen in de kamer van de kerngroep" in await public(text)

    async with world.bot.store.reading() as tx:
        still = await tx.agreement(agreement.id)
        items_after = len(await tx.items_for_meeting(meeting_id(FIRST)))
    assert still is not None
    assert still.status is AgreementStatus.OPEN
    assert items_before == items_after
    assert (await _item(world, item.id)).status is ItemStatus.FILED
