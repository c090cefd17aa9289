"""The decision commands and the poll closer against a real store (issue 12).

``run_decision_command`` as the chat intake calls it, ``take_poll_response`` as it takes
a poll response in, and ``PollCloser.close_due`` as the daemon's engine runs it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from store_samples import file_item, planned_meeting

from daemon.chat.actions import ChatSettings, Origin
from daemon.chat.chat_decisions import DecisionSettings, run_decision_command, take_poll_response
from daemon.chat.decision_requests import DecisionRequest
from daemon.chat.parsing import parse_request
from daemon.clock import Clock
from daemon.engine.polls import PollCloser, PollSettings
from daemon.engine.scheduler import EngineSettings
from daemon.errors import TransientError
from daemon.filing.submission import FilingRules
from daemon.model import ItemId, Series, SeriesId
from daemon.ports.chat import ChatPollResponse
from daemon.ports.outbox import ChannelName, ChatPoll, ChatPost
from daemon.publish.scheduled import Targets
from daemon.rules.defaults import AGREEMENT_REMINDERS, WIJKALLIANTIE
from daemon.rules.visibility import SeriesVisibility
from daemon.store import Store

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
ALLIANCE = planned_meeting(6)  # 2027-04-06
SID = SeriesId("wijkalliantie")
MEMBERS = frozenset({"@ayse:x", "@bram:x", "@cor:x"})


def chat_settings() -> ChatSettings:
    series = {SID: Series(SID, "Wijkalliantie", True, WIJKALLIANTIE, timedelta(hours=2), "")}
    return ChatSettings(
        FilingRules(AMS, SID, {SID: WIJKALLIANTIE}),
        EngineSettings(AMS, series, AGREEMENT_REMINDERS, Targets()),
        visibility={sid: SeriesVisibility.of(s) for sid, s in series.items()},
    )


DECISIONS = DecisionSettings(PollSettings(AMS), {"gemeente": ("Gemeente", "wijk@gemeente.example")})


class FixedClock(Clock):
    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at

    async def sleep_until(self, when: datetime) -> None:
        self.at = max(self.at, when)


def request(text: str) -> DecisionRequest:
    parsed = parse_request(text, received_at=NOW.astimezone(AMS))
    assert isinstance(parsed, DecisionRequest), parsed
    return parsed


async def ask(store: Store, text: str, event: str = "$cmd", now: datetime = NOW) -> str:
    origin = Origin("!core:x", event, "@ayse:x", now)
    async with store.transaction() as tx:
        reply = await run_decision_command(
            tx, request(text), origin, chat_settings(), DECISIONS, now, MEMBERS
        )
    assert reply.html
    return reply.body


async def setup(store: Store, *, late: bool = False) -> ItemId:
    async with store.transaction() as tx:
        await tx.sync_meetings([ALLIANCE], at=NOW)
        item = await file_item(tx, ALLIANCE.id, title="Bankjes op het plein")
        if late:
            await tx.update_item_assignment(
                item.id, meeting_id=ALLIANCE.id, late=True, decision_ready=False,
                status=item.status, event="moved", detail="test", at=NOW,
            )  # fmt: skip
    return item.id


async def deliver_start(store: Store, event_id: str = "$poll") -> None:
    async with store.transaction() as tx:
        for effect in await tx.effects(ChannelName.MATRIX):
            if isinstance(effect.payload, ChatPoll) and effect.payload.ends is None:
                await tx.mark_delivered(effect.id, event_id, at=NOW)


async def vote(store: Store, event_id: str, sender: str, answer: str, minutes: int) -> bool:
    response = ChatPollResponse(
        "!core:x", event_id, sender, "$poll", (answer,) if answer else (),
        NOW + timedelta(minutes=minutes),
    )  # fmt: skip
    async with store.transaction() as tx:
        return await take_poll_response(tx, response, NOW + timedelta(minutes=minutes))


async def test_a_decision_poll_counts_the_latest_vote_of_members_only_and_ends_with_the_rule(
    store: Store,
) -> None:
    item = await setup(store)
    answer = await ask(store, f"!besluit WB-{item} sluit 2u")
    assert f"WB-{item}" in answer
    assert "sluit" in answer
    async with store.reading() as tx:
        [start] = [e for e in await tx.effects(ChannelName.MATRIX) if e.key == "chat/$cmd/poll"]
    assert isinstance(start.payload, ChatPoll)
    assert [a for a, _ in start.payload.answers] == ["voor", "tegen", "onthouding"]
    assert "1. Voor / For" in start.payload.text  # the plain form numbers the options
    await deliver_start(store)
    await vote(store, "$v1", "@ayse:x", "voor", 1)
    await vote(store, "$v2", "@bram:x", "voor", 2)
    await vote(store, "$v3", "@cor:x", "voor", 3)
    await vote(store, "$v4", "@cor:x", "tegen", 4)  # changed before the end
    await vote(store, "$v4", "@cor:x", "tegen", 4)  # the same event again: no second vote
    await vote(store, "$v5", "@stranger:x", "tegen", 5)  # not a member when it started
    await vote(store, "$v6", "@bram:x", "tegen", 180)  # after the end
    clock = FixedClock(NOW + timedelta(minutes=30))
    closer = PollCloser(store, clock, PollSettings(AMS))
    assert await closer.close_due() == 0  # not yet
    clock.at = NOW + timedelta(hours=3)
    assert await closer.close_due() == 1
    assert await closer.close_due() == 0  # closed once
    async with store.reading() as tx:
        [decision] = await tx.decisions()
        [end] = [e for e in await tx.effects(ChannelName.MATRIX) if e.key.endswith("/end")]
    assert decision.outcome == "adopted"  # 2 voor against 1 tegen: 50%+1
    assert decision.counts == {"bewoners": {"voor": 2, "tegen": 1, "onthouding": 0}}
    assert decision.not_counted == ("@stranger:x",)
    assert isinstance(end.payload, ChatPoll)
    assert end.payload.ends == "$poll"
    assert "aangenomen volgens de 50%+1-regel" in end.payload.text
    assert "adopted by the 50%+1 rule" in end.payload.text
    assert "stranger:x" in end.payload.text
    assert start.payload.question.startswith("Besluit over WB-1: “Bankjes op het plein”? / ")


async def test_a_late_item_is_refused_with_the_reason(store: Store) -> None:
    item = await setup(store, late=True)
    answer = await ask(store, f"!besluit WB-{item}")
    assert "niet besluitrijp" in answer
    async with store.reading() as tx:
        assert await tx.open_polls() == []


async def test_votes_counted_at_the_meeting_per_party_with_weights_and_an_advice(
    store: Store,
) -> None:
    item = await setup(store)
    answer = await ask(
        store, f"!uitslag WB-{item} bewoners voor 4 tegen 0, partners voor 1 tegen 2"
    )
    assert "aangenomen volgens de 50%+1-regel" in answer
    assert "Gewichten: bewoners 1, partners 1" in answer
    answer = await ask(store, f"!advies WB-{item} gemeente", event="$adv")
    assert "niet-bindend advies" in answer
    assert "Gemeente" in answer
    listing = await ask(store, "!besluiten", event="$list")
    assert "Bankjes op het plein" in listing
    assert "Gemeente" in listing
    async with store.reading() as tx:
        [advice] = await tx.all_advice(open_only=True)
    # 28 days after the decision, which is before the series' next meeting (6 April).
    assert advice.due == date(2027, 3, 29)


async def test_a_tie_at_the_meeting_is_staking_van_stemmen_and_no_advice_follows(
    store: Store,
) -> None:
    item = await setup(store)
    answer = await ask(store, f"!uitslag WB-{item} voor 2 tegen 2 onthouding 1")
    assert "staking van stemmen" in answer
    answer = await ask(store, f"!advies WB-{item} gemeente", event="$adv")
    assert "niet aangenomen" in answer


async def test_closing_by_command_ends_the_poll_at_once(store: Store) -> None:
    item = await setup(store)
    await ask(store, f"!besluit WB-{item}")
    await deliver_start(store)
    await vote(store, "$v1", "@ayse:x", "voor", 1)
    later = NOW + timedelta(minutes=10)
    assert "sluit nu" in await ask(store, f"!sluit WB-{item}", event="$close", now=later)
    assert await PollCloser(store, FixedClock(later), PollSettings(AMS)).close_due() == 1
    async with store.reading() as tx:
        [decision] = await tx.decisions()
    assert decision.outcome == "consensus"


async def test_the_start_never_delivered_still_ends_with_a_plain_result(store: Store) -> None:
    item = await setup(store)
    await ask(store, f"!besluit WB-{item} sluit 1u")
    later = NOW + timedelta(hours=2)
    assert await PollCloser(store, FixedClock(later), PollSettings(AMS)).close_due() == 1
    async with store.reading() as tx:
        [end] = [e for e in await tx.effects(ChannelName.MATRIX) if e.key.endswith("/end")]
    assert isinstance(end.payload, ChatPost)
    assert "staking van stemmen" in end.payload.body  # nobody voted: nothing adopted


async def test_a_configured_residents_weight_is_used_and_shown(store: Store) -> None:
    item = await setup(store)
    heavier = DecisionSettings(PollSettings(AMS, {SID: 2}), {})
    origin = Origin("!core:x", "$w", "@ayse:x", NOW)
    async with store.transaction() as tx:
        reply = await run_decision_command(
            tx,
            request(f"!uitslag WB-{item} bewoners voor 2 tegen 0, partners voor 0 tegen 3"),
            origin,
            chat_settings(),
            heavier,
            NOW,
        )
    # 2 x 2 = 4 weighted voor against 3 tegen: adopted, where equal weights reject it.
    assert "aangenomen volgens de 50%+1-regel" in reply.body
    assert "Gewichten: bewoners 2, partners 1" in reply.body


async def test_a_vote_before_the_start_is_recorded_waits_instead_of_being_lost(
    store: Store,
) -> None:
    """A crash between sending the start and recording its event id: a vote that comes in
    first is taken in again later (a transient error), not dropped."""
    item = await setup(store)
    await ask(store, f"!besluit WB-{item}")
    with pytest.raises(TransientError):
        await vote(store, "$early", "@ayse:x", "voor", 1)
    await deliver_start(store)
    await vote(store, "$early", "@ayse:x", "voor", 1)
    async with store.reading() as tx:
        [poll] = await tx.open_polls()
        assert [r.event_id for r in await tx.poll_responses(poll.id)] == ["$early"]
    # Once it went out, a response to some other poll is simply not ours.
    response = ChatPollResponse("!core:x", "$other", "@bram:x", "$not-ours", ("1",), NOW)
    async with store.transaction() as tx:
        assert not await take_poll_response(tx, response, NOW)


async def test_a_date_poll_that_ends_after_the_meeting_started_moves_nothing(
    store: Store,
) -> None:
    await setup(store)
    answer = await ask(store, "!datumpoll 2027-04-06 2027-04-13 2027-04-20 sluit 60 dagen")
    assert "Datumpoll" in answer
    await deliver_start(store)
    await vote(store, "$d1", "@ayse:x", "2027-04-13", 1)
    await vote(store, "$d2", "@bram:x", "2027-04-13", 2)
    after = ALLIANCE.start + timedelta(days=10)  # the meeting began, 13 April has passed
    closer = PollCloser(store, FixedClock(after), PollSettings(AMS))
    async with store.transaction() as tx:
        [poll] = await tx.open_polls()
        await tx.set_poll_closes_at(poll.id, after)
    assert await closer.close_due() == 1
    async with store.reading() as tx:
        [end] = [e for e in await tx.effects(ChannelName.MATRIX) if e.key.endswith("/end")]
        assert await tx.plan_overrides() == []
    assert isinstance(end.payload, ChatPoll)
    assert "de vergadering verhuist niet" in end.payload.text
    assert "dinsdag 13 april 2027: 2" in end.payload.text


async def test_a_poll_that_cannot_be_closed_does_not_stop_the_others(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import daemon.engine.polls as polls

    first = await setup(store)
    async with store.transaction() as tx:
        other = await file_item(tx, ALLIANCE.id, title="Speeltuin")
    await ask(store, f"!besluit WB-{first} sluit 1u", event="$a")
    await ask(store, f"!besluit WB-{other.id} sluit 1u", event="$b")
    real = polls.close_poll_in

    async def failing(tx, poll, settings, config, now):  # type: ignore[no-untyped-def]
        if poll.item == first:
            raise RuntimeError("odd data")
        return await real(tx, poll, settings, config, now)

    monkeypatch.setattr(polls, "close_poll_in", failing)
    later = NOW + timedelta(hours=2)
    assert await PollCloser(store, FixedClock(later), PollSettings(AMS)).close_due() == 1
    async with store.reading() as tx:
        assert [p.item for p in await tx.open_polls()] == [first]
