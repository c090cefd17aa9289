"""The engine's SQL (outbox and jobs) against a real SQLite store."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from daemon.ports.outbox import (
    CalendarWrite,
    ChannelName,
    ChatPost,
    EffectStatus,
    MailOut,
    NewEffect,
    decode_payload,
)
from daemon.store import Store
from daemon.store.engine import JobSpec, JobStatus, RetryOutcome, SubjectType

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
ROOM = "!core:example.org"


def post(key: str, destination: str = ROOM, text: str = "hallo") -> NewEffect:
    return NewEffect(
        ChannelName.MATRIX, destination, key, ChatPost(body=text, html=f"<p>{text}</p>")
    )


def spec(key: str, due: datetime = NOW, moment: str = "announce") -> JobSpec:
    return JobSpec(
        key=key,
        subject_type=SubjectType.MEETING,
        subject_id="bewonersbijeenkomst-2027-04-06",
        moment=moment,
        channel=ChannelName.MATRIX,
        due_at=due,
        target_at=due + timedelta(days=28),
        subject_at=due + timedelta(days=28),
    )


async def test_enqueue_stores_the_payload_and_reads_it_back(store: Store) -> None:
    mail = MailOut(
        to=("gemeente@example.org",),
        subject="Herinnering / Reminder",
        text="tekst",
        message_id="<wijkbode.1@example.org>",
        references=("<a@b>",),
    )
    async with store.transaction() as tx:
        assert await tx.enqueue(
            NewEffect(ChannelName.MAIL, "gemeente@example.org", "k1", mail), now=NOW
        )

    async with store.reading() as tx:
        effect = await tx.effect_by_key("k1")
    assert effect is not None
    assert (effect.payload, effect.status, effect.attempts, effect.created_at) == (
        mail,
        EffectStatus.PENDING,
        0,
        NOW,
    )


async def test_a_duplicate_key_is_ignored_and_the_first_row_stays(store: Store) -> None:
    async with store.transaction() as tx:
        first = await tx.enqueue(post("receipt/item/42", text="eerste"), now=NOW)
        second = await tx.enqueue(post("receipt/item/42", text="tweede"), now=NOW)

    async with store.reading() as tx:
        rows = await tx.effects()
    assert (first, second) == (True, False)
    assert [r.payload for r in rows] == [ChatPost(body="eerste", html="<p>eerste</p>")]


async def test_enqueue_in_a_rolled_back_transaction_leaves_nothing(store: Store) -> None:
    async def change_that_fails() -> None:
        async with store.transaction() as tx:
            await tx.enqueue(post("k1"), now=NOW)
            raise RuntimeError("the state change failed")

    with pytest.raises(RuntimeError):
        await change_that_fails()

    async with store.reading() as tx:
        assert await tx.effects() == []


async def test_pending_heads_are_the_oldest_pending_row_per_destination(store: Store) -> None:
    async with store.transaction() as tx:
        for key, room in [("a1", "!a"), ("b1", "!b"), ("a2", "!a"), ("b2", "!b")]:
            await tx.enqueue(post(key, room), now=NOW)
        await tx.enqueue(
            NewEffect(ChannelName.MAIL, "x@example.org", "m1", post("m").payload), now=NOW
        )
        first_a = await tx.effect_by_key("a1")
        assert first_a is not None
        await tx.mark_delivered(first_a.id, "$event", at=NOW)

    async with store.reading() as tx:
        heads = await tx.pending_heads(ChannelName.MATRIX)
    assert [h.key for h in heads] == ["b1", "a2"]


async def test_park_and_retry(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.enqueue(post("k1"), now=NOW)
        effect = await tx.effect_by_key("k1")
        assert effect is not None
        await tx.record_failed_attempt(effect.id, attempts=1, next_attempt_at=NOW, error="503")
        await tx.park(effect.id, attempts=2, reason="PermanentError: kicked")

    async with store.transaction() as tx:
        parked = await tx.effect(effect.id)
        outcome = await tx.retry_parked(effect.id)
        again = await tx.retry_parked(effect.id)
        unknown = await tx.retry_parked(999)
        retried = await tx.effect(effect.id)

    assert parked is not None
    assert retried is not None
    assert (parked.status, parked.attempts, parked.last_error) == (
        EffectStatus.PARKED,
        2,
        "PermanentError: kicked",
    )
    assert (outcome, again, unknown) == (
        RetryOutcome.RETRIED,
        RetryOutcome.NOT_PARKED,
        RetryOutcome.UNKNOWN,
    )
    assert (retried.status, retried.attempts, retried.next_attempt_at) == (
        EffectStatus.PENDING,
        0,
        None,
    )


async def test_delivered_rows_are_not_undelivered(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.enqueue(post("k1"), now=NOW)
        await tx.enqueue(post("k2"), now=NOW)
        first = await tx.effect_by_key("k1")
        assert first is not None
        await tx.mark_delivered(first.id, "$e1", at=NOW)

    async with store.reading() as tx:
        undelivered = await tx.undelivered()
        delivered = await tx.effect(first.id)
    assert [e.key for e in undelivered] == ["k2"]
    assert delivered is not None
    assert (delivered.status, delivered.remote_id, delivered.delivered_at) == (
        EffectStatus.DELIVERED,
        "$e1",
        NOW,
    )


async def test_destinations_reached_match_the_key_prefix_exactly(store: Store) -> None:
    """``_`` in an id is not a wildcard: a prefix is compared as text."""
    async with store.transaction() as tx:
        await tx.enqueue(post("job/meeting/a_b/announce/!x", "!x"), now=NOW)
        await tx.enqueue(post("job/meeting/a_b/announce/!y", "!y"), now=NOW)
        await tx.enqueue(post("job/meeting/aXb/announce/!z", "!z"), now=NOW)

    async with store.reading() as tx:
        reached = await tx.destinations_reached("job/meeting/a_b/", ChannelName.MATRIX)
        count = await tx.count_effects("job/meeting/a_b/", ChannelName.MATRIX)
    assert (reached, count) == (["!x", "!y"], 2)


async def test_calendar_payload_round_trips_through_json() -> None:
    write = CalendarWrite(
        uid="bewonersbijeenkomst-2027-04-06@example.org",
        action="cancel",
        summary="Bewonersbijeenkomst",
        start=datetime(2027, 4, 6, 17, 30, tzinfo=UTC),
        end=datetime(2027, 4, 6, 19, 30, tzinfo=UTC),
        location="Buurthuis",
        description="afgelast",
        sequence=2,
    )
    assert decode_payload(write.to_json()) == write


async def test_jobs_insert_replan_settle(store: Store) -> None:
    async with store.transaction() as tx:
        job = await tx.insert_job(spec("meeting/x/announce/28d/matrix"), now=NOW)
        later = spec("meeting/x/announce/28d/matrix", due=NOW + timedelta(days=7))
        await tx.replan_job(job.id, later, now=NOW)
        moved = await tx.job(job.id)
        first = await tx.settle_job(job.id, JobStatus.FIRED, "", now=NOW + timedelta(days=7))
        second = await tx.settle_job(job.id, JobStatus.SKIPPED, "", now=NOW + timedelta(days=8))
        settled = await tx.job(job.id)

    assert moved is not None
    assert settled is not None
    assert (moved.status, moved.due_at) == (JobStatus.PENDING, NOW + timedelta(days=7))
    assert (first, second) == (True, False)
    assert (settled.status, settled.fired_at) == (JobStatus.FIRED, NOW + timedelta(days=7))


async def test_a_job_key_is_unique(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.insert_job(spec("k"), now=NOW)
        with pytest.raises(ValueError, match="exists already"):
            await tx.insert_job(spec("k"), now=NOW)


async def test_due_jobs_and_next_due(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.insert_job(spec("late", due=NOW + timedelta(days=2)), now=NOW)
        await tx.insert_job(spec("soon", due=NOW + timedelta(hours=1)), now=NOW)
        await tx.insert_job(spec("past", due=NOW - timedelta(days=1)), now=NOW)

    async with store.reading() as tx:
        due = await tx.due_jobs(NOW + timedelta(hours=1))
        next_due = await tx.next_due_at()
    assert [j.key for j in due] == ["past", "soon"]
    assert next_due == NOW - timedelta(days=1)


async def test_outbox_status_is_checked_by_the_schema(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.enqueue(post("k1"), now=NOW)

    async def deliver_without_a_time() -> None:
        async with store.transaction() as tx:
            await tx._conn.execute("UPDATE outbox SET status = 'delivered'")

    # Delivered without a delivery time breaks the table's CHECK.
    with pytest.raises(sqlite3.IntegrityError):
        await deliver_without_a_time()


async def test_a_task_cancelled_while_beginning_leaves_the_store_usable(store: Store) -> None:
    """The engine's loops are cancelled at shutdown, at any await; the store must stay usable."""

    async def read_forever() -> None:
        while True:
            async with store.reading() as tx:
                await tx.effects()

    for _ in range(20):
        reader = asyncio.create_task(read_forever())
        await asyncio.sleep(0)
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)

    async with store.transaction() as tx:
        assert await tx.enqueue(post("after"), now=NOW)


async def test_a_writer_cancelled_at_any_point_leaves_the_store_usable(store: Store) -> None:
    """Cancelled before, during or after its BEGIN, statements or COMMIT: never half open."""

    async def write(key: str) -> None:
        async with store.transaction() as tx:
            await tx.enqueue(post(key), now=NOW)

    for steps in range(40):
        writer = asyncio.create_task(write(f"k{steps}"))
        for _ in range(steps):
            await asyncio.sleep(0)
        writer.cancel()
        outcome = (await asyncio.gather(writer, return_exceptions=True))[0]
        assert outcome is None or isinstance(outcome, asyncio.CancelledError)

    async with store.transaction() as tx:
        assert await tx.enqueue(post("after"), now=NOW)
