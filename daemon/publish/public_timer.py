"""Wakes the public surfaces' caches when their content changes by time alone.

A feed delivery, a plan reload or a filing invalidate the caches directly; what
changes with nothing but the clock (a deadline passing off the page, a meeting
ending) is found by :func:`daemon.publish.public_view.next_publication`, and at
that instant ``invalidate`` is called. ``wake()`` makes it look again (after a
plan change moved those instants).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from daemon.clock import Clock
from daemon.config import Config
from daemon.publish.public_view import next_publication
from daemon.store import Store

log = logging.getLogger("wijkbode.public")
_POLL_SECONDS = 3600.0  # a backstop; every change that matters wakes it or is computed


class PublicTimer:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        config: Callable[[], Config],
        invalidate: Callable[[], None],
    ) -> None:
        self._store = store
        self._clock = clock
        self._config = config
        self._invalidate = invalidate
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            async with self._store.reading() as tx:
                meetings = await tx.meetings()
            when = next_publication(self._config(), meetings, self._clock.now())
            sleepers: list[asyncio.Task[Any]] = [asyncio.create_task(self._wake.wait())]
            if when is not None:
                sleepers.append(asyncio.create_task(self._clock.sleep_until(when)))
            try:
                await asyncio.wait(
                    sleepers, timeout=_POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for sleeper in sleepers:
                    sleeper.cancel()
                await asyncio.gather(*sleepers, return_exceptions=True)
            if when is not None and self._clock.now() >= when:
                self._invalidate()
