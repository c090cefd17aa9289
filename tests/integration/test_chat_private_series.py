"""A private series stays in the core room (issue 9, point 1): a real Synapse, real members.

The kerngroep is a non-public series. A resident who is not in the core group
asks about it in the announcement room (``!agenda kerngroep``, ``!agenda`` on a
kerngroep date or by its id, ``!deadlines``, ``!afspraken``, ``!help``) and gets
a plain refusal that names none of its meetings, items or afspraken, and that
reads the same whether or not the kerngroep meets that day. In the core room
the same questions still list everything.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from chat_helpers import (
    FIRST,
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
from daemon.model import Item, Kind, SeriesId
from harness.synapse import SynapseServer

KERN = TODAY + timedelta(days=20)  # the kerngroep's meeting
NO_MEETING = TODAY + timedelta(days=21)  # no series meets that day
KERN_ID = f"kerngroep-{KERN.isoformat()}"
SECRET_ITEM = "Huurachterstand familie Jansen"
SECRET_AGREEMENT = "dossier Jansen ophalen"

KERNGROEP = f"""
[series.kerngroep]
title = "Kernoverleg"
public = false
duration = "1h30m"

[series.kerngroep.deadlines]
agendapunt = "5d"

[series.kerngroep.plan]
dates = [{KERN.isoformat()}T20:00:00]
"""

REFUSED_NL = "In deze kamer laat ik alleen openbare vergaderingen zien"
REFUSED_EN = "In this room I only show public meetings"


@dataclass
class World:
    bot: Wijkbode
    alice: Watcher  # core-group member
    resident: Watcher  # not in the core group: only in the announcement room
    core: str
    announce: str
    secret: Item


@pytest_asyncio.fixture(scope="module")
async def world(
    synapse: SynapseServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    base = tmp_path_factory.mktemp("chat-private")
    alice = await new_watcher(synapse, "alice", base)
    resident = await new_watcher(synapse, "resident", base)
    account = await register(synapse, "wijkbode")
    core = await room_with_bot(alice, account.user_id, encrypted=True)
    announce = await room_with_bot(alice, account.user_id, encrypted=False, members=[resident])
    setup = Setup(base / "bot", core_room=core, announce_rooms=(announce,), config_extra=KERNGROEP)
    bot = await start_wijkbode(synapse, account, setup)
    try:
        await wait_bot_in(alice, core, bot)
        await wait_bot_in(alice, announce, bot)
        secret = await _file_for_kerngroep(bot)
        yield World(bot, alice, resident, core, announce, secret)
    finally:
        await bot.stop()
        await alice.close()
        await resident.close()


async def _file_for_kerngroep(bot: Wijkbode) -> Item:
    submission = Submission(
        kind=Kind.AGENDAPUNT,
        title=SECRET_ITEM,
        submitter="kern@example.org",
        received_at=datetime.now(UTC),
        source="mail",
        series=SeriesId("kerngroep"),
    )
    async with bot.store.transaction() as tx:
        filed = await file_submission(tx, submission, FilingRules.from_config(bot.config))
    assert filed.item.meeting == KERN_ID
    return filed.item


async def ask(world: World, text: str, *, room: str, who: Watcher) -> str:
    """Send ``text`` and return the body of Wijkbode's one answer to it."""
    event_id = await who.say(room, text)
    events = await who.wait(room, lambda got: bool(replies_to(got, world.bot, event_id)), world.bot)
    [answer] = replies_to(events, world.bot, event_id)
    return str(answer["content"]["body"])


def _names_nothing_private(answer: str) -> None:
    # "kerngroep" alone is also the Dutch word for the core group ("de kamer van de kerngroep").
    for secret in (SECRET_ITEM, "Kernoverleg", "WB-", KERN_ID, "!agenda kerngroep",
                   SECRET_AGREEMENT):  # fmt: skip
        assert secret not in answer, answer


async def test_a_resident_in_the_announcement_room_learns_nothing_of_the_kerngroep(
    world: World,
) -> None:
    def public(text: str, who: Watcher | None = None) -> Awaitable[str]:
        return ask(world, text, room=world.announce, who=who or world.resident)

    by_series = await public("!agenda kerngroep")
    by_date = await public(f"!agenda {KERN.isoformat()}")
    by_id = await public(f"!agenda {KERN_ID}")
    no_meeting = await public(f"!agenda {NO_MEETING.isoformat()}")
    for answer in (by_series, by_date, by_id, no_meeting):
        _names_nothing_private(answer)
        assert REFUSED_NL in answer
        assert answer.index(REFUSED_NL) < answer.index(REFUSED_EN)  # Dutch first
    # One answer for "the kerngroep meets that day" and "nobody meets that day".
    assert by_series == by_date == by_id == no_meeting

    # A core-group member asking there gets the same: the whole room reads the answer.
    assert await public(f"!agenda {KERN.isoformat()}", world.alice) == no_meeting

    deadlines = await public("!deadlines")
    _names_nothing_private(deadlines)
    assert "Wijkalliantie" in deadlines  # the public series' deadlines still show
    assert "alleen openbare vergaderingen" in deadlines

    agreements = await public("!afspraken")
    _names_nothing_private(agreements)
    assert "Dit kan alleen in de kamer van de kerngroep" in agreements

    help_text = await public("!help")
    _names_nothing_private(help_text)
    assert "!agenda wijkalliantie" in help_text

    agenda = await public("!agenda")  # the next public meeting is still shown
    assert meeting_id(FIRST) in agenda
    _names_nothing_private(agenda)


async def test_the_core_room_still_sees_the_kerngroep(world: World) -> None:
    def core(text: str) -> Awaitable[str]:
        return ask(world, text, room=world.core, who=world.alice)

    due = TODAY + timedelta(days=12)
    assert "genoteerd" in await core(
        f"Afspraak: {SECRET_AGREEMENT} {world.alice.user_id} voor {due.isoformat()}"
    )
    for text in ("!agenda kerngroep", f"!agenda {KERN.isoformat()}", f"!agenda {KERN_ID}"):
        answer = await core(text)
        assert KERN_ID in answer
        assert f"WB-{world.secret.id}" in answer
        assert SECRET_ITEM in answer
    deadlines = await core("!deadlines")
    assert "Kernoverleg" in deadlines
    assert "Wijkalliantie" in deadlines
    assert SECRET_AGREEMENT in await core("!afspraken")
    assert "!agenda kerngroep" in await core("!help")
