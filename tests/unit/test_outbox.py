"""The outbox dispatcher's contract, with a real SQLite store and an in-memory channel.

``MemoryChannel`` is a test double of a channel: it records what it was asked
to deliver, keeps one copy per idempotency key (as a Matrix homeserver keeps one
event per transaction id), and can be told to fail for a destination.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from daemon.backoff import Backoff
from daemon.clock import ManualClock
from daemon.engine.outbox import MAX_UNEXPECTED_FAILURES, Dispatcher, Outbox
from daemon.errors import PermanentError, TransientError
from daemon.ports.outbox import ChannelName, ChatPost, Effect, EffectStatus, NewEffect
from daemon.store import Store
from daemon.store.engine import RetryOutcome

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
# Long enough that no test waits on it: wake-ups must come from wake() or the clock.
NO_POLL = 3600.0


class MemoryChannel:
    """Delivers into a dict keyed by idempotency key, so a repeat is dropped like far away."""

    name = ChannelName.MATRIX

    def __init__(self) -> None:
        self.calls: list[str] = []  # every key deliver() was called with, in order
        self.received: dict[str, str] = {}  # key -> destination, one entry per key
        self.order: list[str] = []  # keys in the order they first arrived
        self.down: set[str] = set()  # destinations failing transiently
        self.refusing: set[str] = set()  # destinations failing permanently
        self.lose_answer: set[str] = set()  # keys that arrive, but the answer is lost
        self.gate: asyncio.Event | None = None  # when set up, deliver waits for it
        self.started = asyncio.Event()
        self.arrived = asyncio.Event()
        self.failed = asyncio.Event()

    async def deliver(self, effect: Effect) -> str:
        self.calls.append(effect.key)
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        if effect.destination in self.down:
            self.failed.set()
            raise TransientError("502 Bad Gateway")
        if effect.destination in self.refusing:
            raise PermanentError("M_FORBIDDEN: not in room")
        if effect.key not in self.received:
            self.received[effect.key] = effect.destination
            self.order.append(effect.key)
        self.arrived.set()
        if effect.key in self.lose_answer:
            self.lose_answer.discard(effect.key)
            raise TransientError("connection reset before the answer")
        return f"$event-{effect.key}"


class Highest(random.Random):
    """An RNG that always draws the top of the range: backoff at its ceiling."""

    def uniform(self, a: float, b: float) -> float:
        return b


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "state")
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def channel() -> MemoryChannel:
    return MemoryChannel()


def dispatcher(
    store: Store, clock: ManualClock, channel: MemoryChannel, **options: object
) -> Dispatcher:
    options.setdefault("poll_seconds", NO_POLL)
    return Dispatcher(store, clock, channel, rng=Highest(), **options)  # type: ignore[arg-type]


async def enqueue(store: Store, clock: ManualClock, *rows: tuple[str, str]) -> None:
    """Enqueue ``(key, room)`` rows in one transaction."""
    async with store.transaction() as tx:
        for key, room in rows:
            payload = ChatPost(body=key, html=f"<p>{key}</p>")
            await tx.enqueue(NewEffect(ChannelName.MATRIX, room, key, payload), now=clock.now())


async def drain(d: Dispatcher) -> None:
    """Deliver until nothing is ready at the clock's current time."""
    while await d.deliver_ready():
        pass


async def row(store: Store, key: str) -> Effect:
    async with store.reading() as tx:
        effect = await tx.effect_by_key(key)
    assert effect is not None
    return effect


async def test_rows_for_one_destination_arrive_in_order(
    store: Store, clock: ManualClock, channel: MemoryChannel
) -> None:
    await enqueue(store, clock, ("a1", "!a"), ("b1", "!b"), ("a2", "!a"), ("a3", "!a"))

    await drain(dispatcher(store, clock, channel))

    assert channel.order == ["a1", "b1", "a2", "a3"]
    assert [(await row(store, k)).status for k in ("a1", "a2", "a3", "b1")] == [
        EffectStatus.DELIVERED
    ] * 4


class Slow(MemoryChannel):
    """Each delivery takes a moment; records how many were in flight at once."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight = 0
        self.most_in_flight = 0

    async def deliver(self, effect: Effect) -> str:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.01)
            return await super().deliver(effect)
        finally:
            self.in_flight -= 1


async def test_destinations_are_delivered_side_by_side_up_to_the_bound_each_in_order(
    store: Store, clock: ManualClock
) -> None:
    channel = Slow()
    rows = [(f"{room}{n}", f"!{room}") for n in range(3) for room in "abcdefgh"]
    await enqueue(store, clock, *rows)

    await drain(dispatcher(store, clock, channel, parallel=3))

    assert channel.most_in_flight == 3
    for room in "abcdefgh":
        assert [k for k in channel.order if k[0] == room] == [f"{room}{n}" for n in range(3)]
    assert {(await row(store, key)).status for key, _ in rows} == {EffectStatus.DELIVERED}


async def test_a_failing_destination_holds_its_own_rows_back_but_not_others(
    store: Store, clock: ManualClock, channel: MemoryChannel
) -> None:
    await enqueue(
        store, clock, ("a1", "!a"), ("a2", "!a"), ("b1", "!b"), ("a3", "!a"), ("b2", "!b")
    )
    channel.down.add("!a")
    d = dispatcher(store, clock, channel)

    await drain(d)

    assert channel.order == ["b1", "b2"]
    assert channel.calls.count("a1") == 1
    assert "a2" not in channel.calls  # never tried while the head of !a waits
    head = await row(store, "a1")
    assert (head.status, head.attempts, head.last_error) == (
        EffectStatus.PENDING,
        1,
        "TransientError: 502 Bad Gateway",
    )

    # A simulated day of downtime: the head is retried with backoff, nothing else moves.
    for _ in range(30):
        await clock.set(await d.next_attempt_at() or clock.now())
        await drain(d)
    assert (await row(store, "a1")).attempts == 31
    assert "a2" not in channel.calls

    channel.down.clear()
    await clock.set(await d.next_attempt_at() or clock.now())
    await drain(d)

    assert channel.order == ["b1", "b2", "a1", "a2", "a3"]
    assert await d.next_attempt_at() is None


async def test_backoff_is_stored_grows_and_is_capped(
    store: Store, clock: ManualClock, channel: MemoryChannel
) -> None:
    await enqueue(store, clock, ("a1", "!a"))
    channel.down.add("!a")
    d = dispatcher(store, clock, channel, backoff=Backoff(base=2.0, cap=60.0))
    waits: list[float] = []

    for _ in range(8):
        await drain(d)
        head = await row(store, "a1")
        assert head.next_attempt_at is not None
        waits.append((head.next_attempt_at - clock.now()).total_seconds())
        await clock.set(head.next_attempt_at)

    assert waits == [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]


def test_backoff_is_jittered_below_its_ceiling() -> None:
    backoff = Backoff(base=2.0, cap=900.0)
    rng = random.Random(7)

    draws = [backoff.delay(5, rng) for _ in range(50)]

    assert all(0.0 <= d <= 32.0 for d in draws)
    assert len(set(draws)) == 50
    assert max(backoff.delay(40, rng) for _ in range(50)) <= 900.0


def test_a_servers_retry_hint_is_a_floor_within_the_cap() -> None:
    backoff = Backoff(base=2.0, cap=900.0)
    rng = random.Random(7)

    assert backoff.delay(1, rng, hint=30.0) >= 30.0
    assert backoff.delay(1, Highest(), hint=5000.0) == 900.0


async def test_a_permanent_failure_parks_the_row_and_the_next_goes_on(
    store: Store, clock: ManualClock, channel: MemoryChannel
) -> None:
    await enqueue(store, clock, ("a1", "!a"), ("a2", "!a"))
    channel.refusing.add("!a")
    d = dispatcher(store, clock, channel)

    await drain(d)

    parked = await row(store, "a1")
    assert (parked.status, parked.last_error) == (
        EffectStatus.PARKED,
        "PermanentError: M_FORBIDDEN: not in room",
    )
    assert (await row(store, "a2")).status is EffectStatus.PARKED
    assert channel.calls == ["a1", "a2"]


async def test_retry_puts_a_parked_row_back_and_it_is_delivered(
    store: Store, clock: ManualClock, channel: MemoryChannel
) -> None:
    await enqueue(store, clock, ("a1", "!a"))
    channel.refusing.add("!a")
    outbox = Outbox(store, clock, [channel], poll_seconds=NO_POLL, rng=Highest())
    d = outbox.dispatchers[ChannelName.MATRIX]
    await drain(d)
    parked = await row(store, "a1")

    channel.refusing.clear()
    outcome = await outbox.retry(parked.id)
    await drain(d)

    assert outcome is RetryOutcome.RETRIED
    delivered = await row(store, "a1")
    assert (delivered.status, delivered.attempts, delivered.remote_id) == (
        EffectStatus.DELIVERED,
        0,
        "$event-a1",
    )
    assert await outbox.retry(parked.id) is RetryOutcome.NOT_PARKED
    assert await outbox.retry(12345) is RetryOutcome.UNKNOWN


async def test_a_row_is_delivered_only_after_the_channel_confirms(
    store: Store, clock: ManualClock, channel: MemoryChannel
) -> None:
    """The send arrived but the answer was lost: the retry carries the same key, no double."""
    await enqueue(store, clock, ("a1", "!a"))
    channel.lose_answer.add("a1")
    d = dispatcher(store, clock, channel)

    await drain(d)
    unconfirmed = await row(store, "a1")
    await clock.set(await d.next_attempt_at() or clock.now())
    await drain(d)

    assert unconfirmed.status is EffectStatus.PENDING
    assert channel.calls == ["a1", "a1"]
    assert channel.received == {"a1": "!a"}
    assert (await row(store, "a1")).status is EffectStatus.DELIVERED


async def test_an_unexpected_channel_error_is_retried_not_fatal(
    store: Store, clock: ManualClock
) -> None:
    class Broken(MemoryChannel):
        async def deliver(self, effect: Effect) -> str:
            self.calls.append(effect.key)
            raise KeyError("bug in a connector")

    broken = Broken()
    await enqueue(store, clock, ("a1", "!a"))

    await drain(dispatcher(store, clock, broken))

    failed = await row(store, "a1")
    assert (failed.status, failed.attempts, failed.last_error) == (
        EffectStatus.PENDING,
        1,
        "KeyError: 'bug in a connector'",
    )


class Buggy(MemoryChannel):
    """A channel with a bug for one destination: an exception it did not foresee."""

    async def deliver(self, effect: Effect) -> str:
        if effect.destination == "!bug":
            self.calls.append(effect.key)
            raise UnicodeEncodeError("ascii", "jdöe", 2, 3, "ordinal not in range(128)")
        return await super().deliver(effect)


async def test_an_unexpected_error_parks_the_row_after_a_bound_with_its_traceback(
    store: Store, clock: ManualClock
) -> None:
    """A connector bug is retried a few times, not forever; the reason keeps the traceback,
    and ``outbox retry`` starts the count again."""
    buggy = Buggy()
    await enqueue(store, clock, ("a1", "!bug"), ("a2", "!bug"), ("b1", "!ok"))
    outbox = Outbox(store, clock, [buggy], poll_seconds=NO_POLL, rng=Highest())
    d = outbox.dispatchers[ChannelName.MATRIX]

    for _ in range(20):
        await drain(d)
        await clock.set(await d.next_attempt_at() or clock.now())
    await drain(d)

    parked = await row(store, "a1")
    assert parked.status is EffectStatus.PARKED
    assert buggy.calls.count("a1") == MAX_UNEXPECTED_FAILURES
    assert parked.last_error is not None
    first_line, *trace = parked.last_error.splitlines()
    assert first_line.startswith(
        f"geparkeerd na {MAX_UNEXPECTED_FAILURES} onverwachte fouten"
        f" (parked after {MAX_UNEXPECTED_FAILURES} unexpected failures): UnicodeEncodeError"
    )
    assert trace[0] == "Traceback (most recent call last):"
    assert any("in deliver" in line for line in trace)
    # The rows behind it are not held back for ever either, and others were never held.
    assert (await row(store, "a2")).status is EffectStatus.PARKED
    assert (await row(store, "b1")).status is EffectStatus.DELIVERED

    assert await outbox.retry(parked.id) is RetryOutcome.RETRIED
    await drain(d)
    again = await row(store, "a1")
    assert (again.status, buggy.calls.count("a1")) == (
        EffectStatus.PENDING,
        MAX_UNEXPECTED_FAILURES + 1,
    )


async def test_the_running_dispatcher_delivers_when_woken(
    store: Store, clock: ManualClock, channel: MemoryChannel
) -> None:
    d = dispatcher(store, clock, channel)
    task = asyncio.create_task(d.run())
    try:
        await enqueue(store, clock, ("a1", "!a"))
        d.wake()
        await asyncio.wait_for(channel.arrived.wait(), 10)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    assert channel.order == ["a1"]


async def test_the_running_dispatcher_retries_when_the_clock_reaches_the_backoff(
    store: Store, clock: ManualClock, channel: MemoryChannel
) -> None:
    channel.down.add("!a")
    await enqueue(store, clock, ("a1", "!a"))
    d = dispatcher(store, clock, channel)
    task = asyncio.create_task(d.run())
    try:
        await asyncio.wait_for(channel.failed.wait(), 10)
        # The failure is recorded in a write transaction that this read waits for.
        assert (await row(store, "a1")).attempts == 1
        channel.down.clear()
        await clock.advance(timedelta(seconds=2))
        await asyncio.wait_for(channel.arrived.wait(), 10)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    assert channel.calls == ["a1", "a1"]


async def test_stopping_finishes_the_delivery_in_flight(
    store: Store, clock: ManualClock, channel: MemoryChannel
) -> None:
    channel.gate = asyncio.Event()
    await enqueue(store, clock, ("a1", "!a"), ("a2", "!a"))
    task = asyncio.create_task(dispatcher(store, clock, channel).run())
    await asyncio.wait_for(channel.started.wait(), 10)

    task.cancel()
    await asyncio.sleep(0)
    channel.gate.set()
    results = await asyncio.gather(task, return_exceptions=True)

    assert isinstance(results[0], asyncio.CancelledError)
    assert (await row(store, "a1")).status is EffectStatus.DELIVERED
    assert (await row(store, "a2")).status is EffectStatus.PENDING
    assert channel.calls == ["a1"]


async def test_a_delivery_that_does_not_finish_in_time_stays_pending(
    store: Store, clock: ManualClock, channel: MemoryChannel
) -> None:
    channel.gate = asyncio.Event()  # never opened
    await enqueue(store, clock, ("a1", "!a"))
    task = asyncio.create_task(dispatcher(store, clock, channel, stop_timeout=0.01).run())
    await asyncio.wait_for(channel.started.wait(), 10)

    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    assert (await row(store, "a1")).status is EffectStatus.PENDING
    assert channel.received == {}


async def test_rows_survive_a_restart_with_their_backoff(
    tmp_path: Path, clock: ManualClock, channel: MemoryChannel
) -> None:
    first = await Store.open(tmp_path / "state")
    await enqueue(first, clock, ("a1", "!a"), ("a2", "!a"))
    channel.down.add("!a")
    await drain(dispatcher(first, clock, channel))
    await first.close()

    channel.down.clear()
    second = await Store.open(tmp_path / "state")
    try:
        d = dispatcher(second, clock, channel)
        await drain(d)
        waiting = channel.order[:]
        await clock.set(await d.next_attempt_at() or clock.now())
        await drain(d)
    finally:
        await second.close()

    assert waiting == []  # the stored backoff still held after the restart
    assert channel.order == ["a1", "a2"]


async def test_a_channel_is_failing_in_healthz_while_its_last_delivery_failed(
    store: Store,
) -> None:
    from daemon.health import Health

    health = Health()
    channel = MemoryChannel()
    clock = ManualClock(START)
    dispatcher = Dispatcher(store, clock, channel, poll_seconds=NO_POLL, health=health)
    assert health.report().failing == ()  # nothing to send is no failure
    channel.down.add("!room:a")
    async with store.transaction() as tx:
        await tx.enqueue(
            NewEffect(ChannelName.MATRIX, "!room:a", "k1", ChatPost("a", "a")), now=START
        )
    await dispatcher.deliver_ready()
    assert health.report().failing == ("outbox:matrix",)
    channel.down.clear()
    await clock.advance(timedelta(hours=1))
    await dispatcher.deliver_ready()
    assert health.report().failing == ()


async def test_deliveries_that_end_while_the_store_is_busy_are_recorded_in_one_commit(
    store: Store, clock: ManualClock, channel: MemoryChannel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backlog's deliveries end side by side while the intake writes: they share one
    transaction instead of one commit (an fsync) each, and every row is delivered."""
    rooms = [f"!room{n}" for n in range(6)]
    await enqueue(store, clock, *((f"k{n}", room) for n, room in enumerate(rooms)))
    direct_transactions = 0
    opened = store.transaction

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal direct_transactions
        direct_transactions += bool(kwargs.get("direct"))
        return opened(*args, **kwargs)

    monkeypatch.setattr(store, "transaction", counting)
    channel.gate = asyncio.Event()
    delivering = asyncio.create_task(drain(dispatcher(store, clock, channel, parallel=6)))
    await wait_until(lambda: len(channel.calls) == len(rooms))  # all six in flight
    async with opened():  # the intake holds the store while every delivery ends
        channel.gate.set()
        await wait_until(lambda: len(channel.received) == len(rooms))
        await asyncio.sleep(0.05)  # each is waiting to record its delivery
    async with asyncio.timeout(10):
        await delivering

    assert {(await row(store, f"k{n}")).status for n in range(6)} == {EffectStatus.DELIVERED}
    assert direct_transactions == 1  # the first waited for the store; the other five joined


async def wait_until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110 (a test's poll of plain state)
            await asyncio.sleep(0.005)
