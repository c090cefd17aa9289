"""RULES.md "Decisions (besluiten) and date polls": outcome, readiness, advice due, polls."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.model import Item, ItemId, ItemStatus, Kind, Meeting, MeetingId, MeetingStatus, SeriesId
from daemon.rules.decisions import (
    Counts,
    Outcome,
    Party,
    PollResponse,
    Readiness,
    advice_due,
    date_poll_winner,
    may_decide,
    outcome,
    poll_votes,
    tally,
)

TZ = ZoneInfo("Europe/Amsterdam")
B, P = Party.BEWONERS, Party.PARTNERS
END = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)

counts = st.builds(
    Counts,
    st.integers(min_value=0, max_value=30),
    st.integers(min_value=0, max_value=30),
    st.integers(min_value=0, max_value=30),
)
weights = st.integers(min_value=1, max_value=5)


# --- outcome --------------------------------------------------------------------------


def test_a_tie_is_staking_van_stemmen_and_not_adopted() -> None:
    result = outcome({B: Counts(voor=3, tegen=3, onthouding=1)}, {B: 1})
    assert result is Outcome.TIE
    assert not result.adopted
    assert result.rule == "staking van stemmen"


def test_all_abstaining_adopts_nothing() -> None:
    result = outcome({B: Counts(onthouding=4), P: Counts(onthouding=2)}, {B: 1, P: 1})
    assert result is Outcome.TIE
    assert not result.adopted


def test_a_single_voter_for_is_consensus_and_against_is_rejected() -> None:
    assert outcome({B: Counts(voor=1)}, {B: 1}) is Outcome.CONSENSUS
    assert outcome({B: Counts(tegen=1)}, {B: 1}) is Outcome.REJECTED


def test_consensus_needs_no_tegen_and_abstentions_do_not_block_it() -> None:
    assert outcome({B: Counts(voor=1, onthouding=9)}, {B: 1}) is Outcome.CONSENSUS
    assert outcome({B: Counts(voor=9, tegen=1)}, {B: 1}) is Outcome.ADOPTED


def test_residents_weighing_more_turn_a_rejection_into_adoption() -> None:
    votes = {B: Counts(voor=2), P: Counts(tegen=3)}
    assert outcome(votes, {B: 1, P: 1}) is Outcome.REJECTED
    assert outcome(votes, {B: 2, P: 1}) is Outcome.ADOPTED  # 4 > 7/2
    result = tally(votes, {B: 2, P: 1})
    assert (result.weighted_voor, result.weighted_tegen) == (4, 3)
    assert result.weights == {B: 2, P: 1}


def test_weights_below_one_are_refused() -> None:
    with pytest.raises(ValueError, match="weight"):
        outcome({B: Counts(voor=1)}, {B: 0})


@given(counts, counts, weights, weights)
def test_outcome_follows_the_rulebook(bew: Counts, par: Counts, wb: int, wp: int) -> None:
    result = outcome({B: bew, P: par}, {B: wb, P: wp})
    voor = bew.voor * wb + par.voor * wp
    tegen = bew.tegen * wb + par.tegen * wp
    if bew.voor + par.voor > 0 and bew.tegen + par.tegen == 0:
        assert result is Outcome.CONSENSUS
    elif voor == tegen:
        assert result is Outcome.TIE
    else:
        assert result is (Outcome.ADOPTED if voor > (voor + tegen) / 2 else Outcome.REJECTED)
    # Abstentions never change the result.
    no_abstentions = {B: Counts(bew.voor, bew.tegen), P: Counts(par.voor, par.tegen)}
    assert outcome(no_abstentions, {B: wb, P: wp}) is result


@given(counts, counts, weights)
def test_equal_weights_greater_than_one_change_nothing(bew: Counts, par: Counts, w: int) -> None:
    assert outcome({B: bew, P: par}, {B: w, P: w}) is outcome({B: bew, P: par}, {B: 1, P: 1})


@given(counts, counts, weights, weights)
def test_more_weight_for_the_side_voting_for_never_hurts(
    bew: Counts, par: Counts, wb: int, wp: int
) -> None:
    before = outcome({B: bew, P: par}, {B: wb, P: wp})
    after = outcome({B: bew, P: par}, {B: wb + 1, P: wp})
    if bew.voor >= bew.tegen and before.adopted:
        assert after.adopted


# --- may an item be decided ---------------------------------------------------------


def _item(**changes: object) -> Item:
    fields: dict[str, object] = {
        "id": ItemId(4),
        "kind": Kind.AGENDAPUNT,
        "title": "Bankjes",
        "submitter": "a@example.org",
        "received_at": END,
        "meeting": MeetingId("wijkalliantie-2027-03-16"),
        "late": False,
        "decision_ready": True,
        "status": ItemStatus.FILED,
        "source": "chat",
    }
    fields.update(changes)
    return Item(**fields)  # type: ignore[arg-type]


def test_only_a_besluitrijp_item_may_be_decided() -> None:
    assert may_decide(_item()) is Readiness.READY
    assert may_decide(_item(late=True, decision_ready=False)) is Readiness.NOT_READY
    kept = _item(late=True, decision_ready=False, status=ItemStatus.TER_BESPREKING)
    assert may_decide(kept) is Readiness.FOR_DISCUSSION
    assert may_decide(_item(status=ItemStatus.WITHDRAWN)) is Readiness.NOT_ON_AGENDA
    assert may_decide(_item(meeting=None, status=ItemStatus.UNPLANNED)) is Readiness.NOT_ON_AGENDA


# --- advice due -----------------------------------------------------------------------


def _meeting(day: date, cancelled: bool = False) -> Meeting:
    start = datetime(day.year, day.month, day.day, 19, 30, tzinfo=TZ)
    return Meeting(
        MeetingId(f"wijkalliantie-{day}"),
        SeriesId("wijkalliantie"),
        "Wijkalliantie",
        start,
        start + timedelta(hours=2),
        "Buurthuis",
        MeetingStatus.CANCELLED if cancelled else MeetingStatus.PLANNED,
    )


def test_advice_is_due_in_28_days_or_the_day_before_the_next_meeting() -> None:
    decided = date(2027, 3, 1)
    assert advice_due(decided, [], TZ) == date(2027, 3, 29)
    assert advice_due(decided, [_meeting(date(2027, 3, 16))], TZ) == date(2027, 3, 15)
    assert advice_due(decided, [_meeting(date(2027, 4, 20))], TZ) == date(2027, 3, 29)
    # A cancelled meeting, or the meeting that decided it, does not count.
    later = [_meeting(date(2027, 3, 16), cancelled=True), _meeting(date(2027, 3, 1))]
    assert advice_due(decided, later, TZ) == date(2027, 3, 29)


@given(st.integers(min_value=0, max_value=60), st.integers(min_value=1, max_value=60))
def test_advice_due_is_never_later_than_28_days_nor_earlier_than_the_decision(
    offset: int, days: int
) -> None:
    decided = date(2027, 3, 1)
    due = advice_due(decided, [_meeting(decided + timedelta(days=offset))], TZ, days)
    assert decided <= due <= decided + timedelta(days=days)


# --- polls ------------------------------------------------------------------------------

ANSWERS = ("voor", "tegen", "onthouding")


def test_a_vote_changed_before_the_end_counts_as_changed() -> None:
    responses = [
        PollResponse("@a:x", END - timedelta(hours=2), "voor", 1),
        PollResponse("@b:x", END - timedelta(hours=2), "voor", 2),
        PollResponse("@a:x", END - timedelta(hours=1), "tegen", 3),
    ]
    counted = poll_votes(responses, {"@a:x", "@b:x"}, END, ANSWERS)
    assert counted.votes == {"@a:x": "tegen", "@b:x": "voor"}


def test_a_change_after_the_end_and_a_non_member_do_not_count() -> None:
    responses = [
        PollResponse("@a:x", END - timedelta(hours=2), "voor", 1),
        PollResponse("@a:x", END + timedelta(seconds=1), "tegen", 2),
        PollResponse("@stranger:x", END - timedelta(hours=1), "tegen", 3),
        PollResponse("@b:x", END - timedelta(hours=1), "no-such-answer", 4),
    ]
    counted = poll_votes(responses, {"@a:x", "@b:x"}, END, ANSWERS)
    assert counted.votes == {"@a:x": "voor"}
    assert counted.not_counted == {"@stranger:x"}


def test_a_vote_taken_back_before_the_end_is_no_vote() -> None:
    """MSC3381: a response without a valid answer is spoiled; as the latest, no vote."""
    responses = [
        PollResponse("@a:x", END - timedelta(hours=2), "voor", 1),
        PollResponse("@a:x", END - timedelta(hours=1), "", 2),
    ]
    assert poll_votes(responses, {"@a:x"}, END, ANSWERS).votes == {}


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["@a:x", "@b:x", "@c:x", "@d:x"]),
            st.integers(min_value=-100, max_value=100),
            st.sampled_from(ANSWERS),
        ),
        max_size=30,
    )
)
def test_the_latest_response_per_member_before_the_end_counts(
    raw: list[tuple[str, int, str]],
) -> None:
    members = {"@a:x", "@b:x", "@c:x"}
    responses = [
        PollResponse(who, END + timedelta(minutes=minutes), answer, order)
        for order, (who, minutes, answer) in enumerate(raw)
    ]
    counted = poll_votes(responses, members, END, ANSWERS)
    assert set(counted.votes) <= members
    for member in members:
        theirs = [r for r in responses if r.sender == member and r.at <= END]
        if not theirs:
            assert member not in counted.votes
        else:
            assert counted.votes[member] == max(theirs, key=lambda r: (r.at, r.order)).answer
    # Replaying the same responses (a restart) counts nothing twice.
    assert poll_votes(responses + responses, members, END, ANSWERS).votes == counted.votes


def test_a_date_poll_needs_more_than_half_of_the_votes_cast() -> None:
    assert date_poll_winner({"a": "d1", "b": "d1", "c": "d2"}) == "d1"
    assert date_poll_winner({"a": "d1", "b": "d2"}) is None
    assert date_poll_winner({"a": "d1", "b": "d2", "c": "d3"}) is None
    assert date_poll_winner({}) is None


@given(st.dictionaries(st.text(min_size=1, max_size=3), st.sampled_from(["d1", "d2", "d3"])))
def test_a_date_poll_winner_has_a_strict_majority(votes: dict[str, str]) -> None:
    winner = date_poll_winner(votes)
    if winner is not None:
        assert 2 * list(votes.values()).count(winner) > len(votes)
    else:
        assert all(2 * list(votes.values()).count(o) <= len(votes) for o in set(votes.values()))


# --- the residents' weight per series (configuration) ------------------------------------


def test_the_residents_weight_is_configured_per_series_default_one() -> None:
    from pathlib import Path

    from daemon.config import parse_config
    from daemon.engine.polls import PollSettings
    from daemon.errors import ConfigError

    text = (
        'timezone = "Europe/Amsterdam"\n'
        "[series.wijkalliantie]\nresident_weight = 2\n"
        "[series.wijkalliantie.plan]\ndates = [2027-04-06T19:30:00]\n"
        "[series.kerngroep]\n"
        "[series.kerngroep.plan]\ndates = [2027-04-13T19:30:00]\n"
    )
    config = parse_config(text, Path("/etc/wijkbode.toml"))
    weights = PollSettings.from_config(config)
    assert weights.weights(SeriesId("wijkalliantie")) == {B: 2, P: 1}
    assert weights.weights(SeriesId("kerngroep")) == {B: 1, P: 1}
    with pytest.raises(ConfigError, match="resident_weight"):
        parse_config(text.replace("= 2", "= 0"), Path("/etc/wijkbode.toml"))


# --- the commands: parsed, listed by !help, refused outside the core room --------------


@pytest.mark.parametrize(
    "text",
    [
        "!besluit WB-4",
        "!decide 4 sluit morgen 20:00",
        "!uitslag WB-4 voor 5 tegen 2 onthouding 1",
        "!result 4 residents for 4 against 0, partners for 1 against 2",
        "!advies WB-4 Gemeente",
        "!datumpoll 2027-04-15 2027-04-22 2027-04-29",
        "!sluit WB-4",
        "!besluiten",
        "!decisions 2027-04-15",
    ],
)
def test_decision_commands_only_in_the_core_room(text: str) -> None:
    from daemon.chat.access import RoomKind, Rooms, refusal
    from daemon.chat.decision_requests import DecisionRequest
    from daemon.chat.parsing import parse_request
    from daemon.chat.replies import CORE_ROOM_ONLY, NOT_HERE

    request = parse_request(text, received_at=END)
    assert isinstance(request, DecisionRequest), request
    rooms = Rooms("!core:x", frozenset({"!wijk:x"}))
    assert refusal(request, RoomKind.CORE, rooms) is None
    assert refusal(request, RoomKind.ANNOUNCE, rooms) == CORE_ROOM_ONLY
    assert refusal(request, RoomKind.OTHER, rooms) == NOT_HERE


def test_per_party_counts_and_bad_votes_get_the_usage() -> None:
    from daemon.chat.decision_requests import RecordResult
    from daemon.chat.parsing import BadCommand, parse_request

    parsed = parse_request(
        "!uitslag WB-4 bewoners voor 4 tegen 0, partners voor 1 tegen 2", received_at=END
    )
    assert parsed == RecordResult(
        ItemId(4), ((B, Counts(voor=4, tegen=0)), (P, Counts(voor=1, tegen=2)))
    )
    bad_ones = (
        "!uitslag WB-4 voor",
        "!uitslag WB-4 voor vijf",
        "!uitslag WB-4 voor 1 voor 2",
        "!uitslag WB-4 voor 1, bewoners tegen 1",
        "!datumpoll 2027-04-15 2027-04-22",
    )
    for bad in bad_ones:
        assert isinstance(parse_request(bad, received_at=END), BadCommand), bad


def test_help_lists_the_decision_commands() -> None:
    from zoneinfo import ZoneInfo

    from daemon.chat.listings import help_reply

    body = help_reply(ZoneInfo("Europe/Amsterdam")).body
    for usage in ("!besluit ID", "!uitslag ID", "!advies ID", "!datumpoll", "!sluit", "!besluiten"):
        assert usage in body
