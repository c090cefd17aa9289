"""Decisions, polls, their responses and advice in the store (migration 0013)."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta

import pytest
from store_samples import NOW, file_item, planned_meeting

from daemon.ports.outbox import ChannelName, ChatPost, NewEffect
from daemon.store import Store


async def _poll_with_delivered_start(store: Store) -> int:
    meeting = planned_meeting(6)
    async with store.transaction() as tx:
        await tx.sync_meetings([meeting], at=NOW)
        item = await file_item(tx, meeting.id)
        await tx.enqueue(
            NewEffect(ChannelName.MATRIX, "!core:x", "poll/1/start", ChatPost("poll", "")),
            now=NOW,
        )
        poll = await tx.add_poll(
            kind="decision",
            item=item.id,
            meeting=meeting.id,
            room_id="!core:x",
            question="Besluit over WB-1",
            answers=[("voor", "Voor"), ("tegen", "Tegen"), ("onthouding", "Onthouding")],
            members=["@a:x", "@b:x"],
            start_key="poll/1/start",
            started_by="@a:x",
            started_at=NOW,
            closes_at=NOW + timedelta(hours=72),
        )
        assert poll.start_event is None  # not delivered yet
        effect = (await tx.effects(ChannelName.MATRIX))[0]
        await tx.mark_delivered(effect.id, "$start", at=NOW)
    return poll.id


async def test_a_response_delivered_twice_is_one_row_and_the_poll_is_found_by_its_start(
    store: Store,
) -> None:
    poll_id = await _poll_with_delivered_start(store)
    async with store.transaction() as tx:
        found = await tx.poll_by_start_event("$start")
        assert found is not None
        assert found.id == poll_id
        assert found.members == {"@a:x", "@b:x"}
        assert await tx.add_poll_response(poll_id, "$r1", "@a:x", "voor", NOW, NOW)
        assert not await tx.add_poll_response(poll_id, "$r1", "@a:x", "voor", NOW, NOW)
        assert await tx.add_poll_response(poll_id, "$r2", "@a:x", "tegen", NOW, NOW)
        responses = await tx.poll_responses(poll_id)
    assert [(r.event_id, r.answer) for r in responses] == [("$r1", "voor"), ("$r2", "tegen")]


async def test_one_open_poll_per_item_and_a_poll_closes_once(store: Store) -> None:
    poll_id = await _poll_with_delivered_start(store)
    async with store.transaction() as tx:
        poll = await tx.poll(poll_id)
        assert poll is not None
        assert poll.item is not None
        with pytest.raises(sqlite3.IntegrityError):
            await tx.add_poll(
                kind="decision",
                item=poll.item,
                meeting=poll.meeting,
                room_id="!core:x",
                question="again",
                answers=[("voor", "Voor"), ("tegen", "Tegen")],
                members=[],
                start_key="poll/2/start",
                started_by="@a:x",
                started_at=NOW,
                closes_at=NOW,
            )
    async with store.transaction() as tx:
        assert await tx.close_poll(poll_id, {"outcome": "consensus"}, NOW)
        assert not await tx.close_poll(poll_id, {"outcome": "rejected"}, NOW)
        closed = await tx.poll(poll_id)
        assert closed is not None
        assert closed.result == {"outcome": "consensus"}
        assert await tx.open_polls() == []


async def test_a_decision_and_its_advice_are_kept_with_counts_weights_and_motivation(
    store: Store,
) -> None:
    meeting = planned_meeting(6)
    async with store.transaction() as tx:
        await tx.sync_meetings([meeting], at=NOW)
        item = await file_item(tx, meeting.id)
        decision = await tx.add_decision(
            item=item.id,
            meeting=meeting.id,
            method="meeting",
            poll=None,
            outcome="adopted",
            counts={"bewoners": {"voor": 4, "tegen": 0, "onthouding": 0}},
            weights={"bewoners": 2, "partners": 1},
            not_counted=[],
            recorded_by="@a:x",
            decided_at=NOW,
        )
        advice = await tx.add_advice(
            decision=decision.id,
            partner="Gemeente",
            address="wijk@gemeente.example",
            due=date(2027, 3, 29),
            requested_by="@a:x",
            requested_at=NOW,
        )
    async with store.transaction() as tx:
        assert [d.id for d in await tx.decisions(meeting.id)] == [decision.id]
        assert (await tx.latest_decision(item.id)) == decision
        assert decision.weights == {"bewoners": 2, "partners": 1}
        assert [a.id for a in await tx.all_advice(open_only=True)] == [advice.id]
        assert await tx.answer_advice(advice.id, "Geen budget dit jaar.", NOW)
        assert not await tx.answer_advice(advice.id, "second", NOW)
        assert await tx.all_advice(open_only=True) == []
        answered = await tx.advice_for_decision(decision.id)
    assert answered is not None
    assert answered.motivation == "Geen budget dit jaar."
