"""The one clock of the daemon, injectable so tests and demos can move time.

Rules never read the time themselves: they get ``now`` from a ``Clock``.
``SystemClock`` is real time; ``ScaledClock`` starts at a chosen instant and runs
``speed`` times faster (``wijkbode run --now ... --speed N``); ``ManualClock``
only moves when a test tells it to.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

# Sleep in slices so a suspended laptop or a stepped system clock is noticed
# within this long instead of after the whole original sleep.
_MAX_SLICE_SECONDS = 30.0


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...

    async def sleep_until(self, when: datetime) -> None:
        """Return once ``now() >= when`` (or at once if it already is)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime) -> None:
        # Sliced sleeps, not an Event: nothing but time itself can end this wait.
        while (remaining := (when - self.now()).total_seconds()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(min(remaining, _MAX_SLICE_SECONDS))


class ScaledClock:
    """Starts at ``start`` and runs ``speed`` times as fast as real time."""

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._start = start.astimezone(UTC)
        self._speed = speed
        self._origin = time.monotonic()

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._origin) * self._speed
        return self._start + timedelta(seconds=elapsed)

    async def sleep_until(self, when: datetime) -> None:
        while (remaining := (when - self.now()).total_seconds()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(min(remaining / self._speed, _MAX_SLICE_SECONDS))


class ManualClock:
    """A clock for tests: time stands still until ``advance`` or ``set`` moves it."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self._now = start.astimezone(UTC)
        self._moved = asyncio.Condition()

    def now(self) -> datetime:
        return self._now

    async def set(self, when: datetime) -> None:
        self._now = when.astimezone(UTC)
        async with self._moved:
            self._moved.notify_all()

    async def advance(self, delta: timedelta) -> None:
        await self.set(self._now + delta)

    async def sleep_until(self, when: datetime) -> None:
        async with self._moved:
            await self._moved.wait_for(lambda: self._now >= when)
