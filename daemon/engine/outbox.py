"""Outbox dispatchers: deliver each channel's rows in order per destination, exactly once.

One ``Dispatcher`` per channel runs in the app's engine ``TaskGroup``. It only
ever delivers the *head* of a destination (its oldest pending row), so rows
for one room or address arrive in the order they were written. A transient
failure gives the head a later ``next_attempt_at`` (exponential backoff with
full jitter, kept in the store so it survives a restart): the rows behind it
wait, other destinations go on. A permanent failure parks the row with its
reason and the destination's next row goes on. An exception the channel did not
foresee (a connector bug) is retried like a transient failure, but only
``max_unexpected`` times: then the row is parked with the traceback as its reason,
for ``wijkbode outbox``. A row is marked delivered only
after the channel returned, in its own transaction; a crash in between means
one more attempt with the same key, which the far side recognises.

Wake-ups: ``wake()`` after a commit that enqueued, the earliest
``next_attempt_at``, and a fallback poll that also sees rows another process
(the CLI) wrote.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sqlite3
import traceback
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from daemon.backoff import Backoff
from daemon.clock import Clock
from daemon.errors import PermanentError, TransientError
from daemon.health import Health
from daemon.ports.outbox import Channel, ChannelName, Effect
from daemon.store import Store
from daemon.store.engine import RetryOutcome

log = logging.getLogger("wijkbode.outbox")

_MAX_ERROR_CHARS = 1000
_MAX_TRACEBACK_CHARS = 6000
# A connector bug seldom heals by itself; a few tries cover a cause that does
# (a file being replaced, a server's odd moment), and then a person looks.
MAX_UNEXPECTED_FAILURES = 5


async def wait_for_any(
    clock: Clock, wake: asyncio.Event, until: datetime | None, poll_seconds: float
) -> None:
    """Return when ``wake`` is set, the clock reaches ``until``, or ``poll_seconds`` passed."""
    waiters: list[asyncio.Task[Any]] = [
        asyncio.create_task(wake.wait()),
        asyncio.create_task(asyncio.sleep(poll_seconds)),
    ]
    if until is not None:
        waiters.append(asyncio.create_task(clock.sleep_until(until)))
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)


@dataclass(slots=True)
class _Mark:
    """A delivery waiting to be recorded."""

    effect_id: int
    remote_id: str
    at: datetime
    recorded: bool = False


class Dispatcher:
    """Delivers one channel's outbox rows; see the module docstring for the guarantees."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        channel: Channel,
        *,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
        poll_seconds: float = 5.0,
        deliver_timeout: float = 120.0,
        stop_timeout: float = 30.0,
        max_unexpected: int = MAX_UNEXPECTED_FAILURES,
        health: Health | None = None,
        parallel: int = 1,
    ) -> None:
        self._store = store
        self._parallel = max(1, parallel)  # destinations delivered side by side
        # /healthz: a channel fails while its last delivery failed (not for a refusal,
        # which is the destination's answer, not the channel's outage).
        self._health = health
        self._clock = clock
        self._channel = channel
        self._backoff = backoff or Backoff()
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not secrecy)
        self._poll_seconds = poll_seconds
        self._deliver_timeout = deliver_timeout
        self._stop_timeout = stop_timeout
        self._max_unexpected = max_unexpected
        self._wake = asyncio.Event()
        # Deliveries that finished while another's mark was being committed, marked together.
        self._marks: list[_Mark] = []
        self._marking = asyncio.Lock()
        if health is not None:
            health.watch(self.part, within=None)

    @property
    def channel(self) -> ChannelName:
        return self._channel.name

    @property
    def part(self) -> str:
        """This channel's name in ``/healthz``."""
        return f"outbox:{self.channel}"

    def wake(self) -> None:
        """Look at the outbox now (call after a commit that enqueued for this channel)."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver until cancelled; a delivery in flight at cancellation is finished first."""
        log.info("dispatcher %s started", self.channel)
        while True:
            self._wake.clear()
            next_at: datetime | None = None
            try:
                if await self.deliver_ready():
                    continue
                next_at = await self.next_attempt_at()
            except sqlite3.OperationalError:
                # A busy database (another process holding a write) is worth another
                # try after the poll interval, not the end of the daemon.
                log.exception("the outbox could not be read or written; trying again")
            await wait_for_any(self._clock, self._wake, next_at, self._poll_seconds)

    async def deliver_ready(self) -> int:
        """One pass: try the head of every destination that is due; return how many were tried."""
        now = self._clock.now()
        async with self._store.reading(direct=True) as tx:
            heads = await tx.pending_heads(self.channel)
        ready = [e for e in heads if e.next_attempt_at is None or e.next_attempt_at <= now]
        if self._parallel == 1 or len(ready) == 1:
            for effect in ready:
                await self._attempt_to_the_end(effect)
            return len(ready)
        # Each head is another destination, so side by side keeps every destination's order.
        slots = asyncio.Semaphore(self._parallel)

        async def attempt(effect: Effect) -> None:
            async with slots:
                await self._attempt_to_the_end(effect)

        async with asyncio.TaskGroup() as group:
            for effect in ready:
                group.create_task(attempt(effect))
        return len(ready)

    async def next_attempt_at(self) -> datetime | None:
        """When the earliest waiting head may be tried again (``None``: nothing pending)."""
        async with self._store.reading() as tx:
            heads = await tx.pending_heads(self.channel)
        times = [e.next_attempt_at or self._clock.now() for e in heads]
        return min(times, default=None)

    async def _attempt_to_the_end(self, effect: Effect) -> None:
        """Run one attempt, shielded: on cancellation it may finish (bounded), then we stop."""
        attempt = asyncio.create_task(self._attempt(effect), name=f"deliver:{effect.key}")
        try:
            await asyncio.shield(attempt)
        except asyncio.CancelledError:
            log.info("stopping: finishing delivery of %s first", effect.key)
            with contextlib.suppress(Exception):
                # On timeout the attempt is cancelled; the row stays pending for next time.
                async with asyncio.timeout(self._stop_timeout):
                    await attempt
            raise

    async def _attempt(self, effect: Effect) -> None:
        try:
            async with asyncio.timeout(self._deliver_timeout):
                remote_id = await self._channel.deliver(effect)
        except TransientError as error:
            self._report(ok=False)
            await self._retry_later(effect, _describe(error), error.retry_after)
        except PermanentError as error:
            await self._park(effect, _describe(error))
        except TimeoutError:
            self._report(ok=False)
            await self._retry_later(effect, f"no answer within {self._deliver_timeout:g} s", None)
        except Exception as error:
            # A connector bug must not stop every delivery: treat it as transient, loudly,
            # and a bounded number of times.
            log.exception("channel %s failed unexpectedly on %s", self.channel, effect.key)
            self._report(ok=False)
            await self._unexpected(effect, error)
        else:
            self._report(ok=True)
            await self._mark_delivered(effect.id, remote_id)
            log.debug("delivered %s as %s", effect.key, remote_id)

    async def _mark_delivered(self, effect_id: int, remote_id: str) -> None:
        """Record a delivery; those that finish while a commit runs share the next one.

        A backlog's deliveries end side by side; one commit (an fsync) for each took
        much of the event loop's time. Nobody waits longer than the commit before theirs.
        """
        mine = _Mark(effect_id, remote_id, self._clock.now())
        self._marks.append(mine)
        async with self._marking:
            if mine.recorded:  # an earlier holder of the lock committed it
                return
            batch: list[_Mark] = []
            try:
                async with self._store.transaction(direct=True) as tx:
                    # Taken once the store is ours: marks that came while we waited join.
                    batch, self._marks = self._marks, []
                    for mark in batch:
                        await tx.mark_delivered(mark.effect_id, mark.remote_id, at=mark.at)
            except BaseException:
                # Not recorded: the others' marks wait for the next holder of the lock.
                self._marks[:0] = [mark for mark in batch if mark is not mine]
                raise
            for mark in batch:
                mark.recorded = True

    def _report(self, *, ok: bool) -> None:
        if self._health is not None:
            (self._health.succeeded if ok else self._health.failed)(self.part)

    async def _retry_later(self, effect: Effect, error: str, hint: float | None) -> None:
        attempts = effect.attempts + 1
        delay = self._backoff.delay(attempts, self._rng, hint)
        when = self._clock.now() + timedelta(seconds=delay)
        log.warning(
            "%s to %s failed (attempt %d), again in %.1f s: %s",
            effect.key,
            _where(effect),
            attempts,
            delay,
            error,
        )
        async with self._store.transaction() as tx:
            await tx.record_failed_attempt(
                effect.id, attempts=attempts, next_attempt_at=when, error=error
            )

    async def _unexpected(self, effect: Effect, error: Exception) -> None:
        """Retry later, or park with the traceback once it failed like this too often."""
        async with self._store.transaction() as tx:
            failures = await tx.count_unexpected_failure(effect.id)
        if failures < self._max_unexpected:
            await self._retry_later(effect, _describe(error), None)
            return
        summary = (
            f"geparkeerd na {failures} onverwachte fouten "
            f"(parked after {failures} unexpected failures): {_describe(error)}"
        )
        await self._park(effect, f"{summary[:_MAX_ERROR_CHARS]}\n{_traceback(error)}")

    async def _park(self, effect: Effect, reason: str) -> None:
        log.error("%s to %s parked: %s", effect.key, _where(effect), reason)
        async with self._store.transaction() as tx:
            await tx.park(effect.id, attempts=effect.attempts + 1, reason=reason)


def _describe(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    return text[:_MAX_ERROR_CHARS]


def _traceback(error: BaseException) -> str:
    """The traceback for the parked row's reason; its end (where it broke) when long."""
    text = "".join(traceback.format_exception(error)).rstrip()
    return text if len(text) <= _MAX_TRACEBACK_CHARS else "…" + text[-_MAX_TRACEBACK_CHARS:]


Runner = Callable[[], Coroutine[Any, Any, None]]


class Outbox:
    """The dispatchers of all configured channels, woken together after a commit."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        channels: Iterable[Channel],
        *,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
        poll_seconds: float = 5.0,
        health: Health | None = None,
        parallel: Mapping[ChannelName, int] | None = None,
    ) -> None:
        self._store = store
        side_by_side = parallel or {}
        self.dispatchers = {
            c.name: Dispatcher(
                store,
                clock,
                c,
                backoff=backoff,
                rng=rng,
                poll_seconds=poll_seconds,
                health=health,
                parallel=side_by_side.get(c.name, 1),
            )
            for c in channels
        }

    def wake(self) -> None:
        for dispatcher in self.dispatchers.values():
            dispatcher.wake()

    def runners(self) -> list[Runner]:
        """One long-running coroutine function per channel, for the app's engine phase."""
        return [dispatcher.run for dispatcher in self.dispatchers.values()]

    async def retry(self, effect_id: int) -> RetryOutcome:
        """Put a parked row back in line (``wijkbode outbox retry``) and wake its dispatcher."""
        async with self._store.transaction() as tx:
            outcome = await tx.retry_parked(effect_id)
        self.wake()
        return outcome


def _where(effect: Effect) -> str:
    """The destination for the log: a room or calendar by name, a mail address never
    (personal data; the key names the mail or item, ``wijkbode outbox`` shows the rest)."""
    return "a mail address" if effect.channel == ChannelName.MAIL else effect.destination
