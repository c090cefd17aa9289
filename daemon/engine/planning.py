"""Planning in from the core group's shared calendar: read what changed, and plan by it.

``PlanningReader.run`` reads the ``[caldav] planning_calendar`` every
``planning_poll_seconds`` and at once after a ``wake()`` (SIGHUP). Each read
asks the calendar only for what changed since the kept sync state (see
:mod:`daemon.ports.planning`), then in ONE transaction records the events it
saw, turns them into plan overrides (:func:`take_in`), keeps the new sync
state, and syncs the plan (:func:`daemon.engine.plan_sync.sync_plan_in`):
meetings added, moved or cancelled, their moments recomputed, a notice on
every channel that carried a changed meeting, and each new conflict with the
configuration reported to the core room. A calendar that cannot be reached
changes nothing; the next read asks again from the same state, so nothing is
lost and nothing is done twice.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from daemon.clock import Clock
from daemon.config import Config
from daemon.engine.outbox import wait_for_any
from daemon.engine.plan_sync import PlanSynced, sync_plan_in
from daemon.errors import ChannelError
from daemon.model import Meeting, MeetingId
from daemon.ports.planning import (
    CalendarDelta,
    PlannedEvent,
    PlanningCalendar,
    PlanOverride,
    PlanSource,
    PlanState,
)
from daemon.rules.planning import link_meeting, match_series
from daemon.store import Store, Tx
from daemon.store.core import MeetingChanges

log = logging.getLogger("wijkbode.planning")


@dataclass(frozen=True, slots=True)
class TakenIn:
    """What one read changed among the plan overrides."""

    events: int  # events read (new or changed)
    removed: int  # events gone from the calendar
    overrides: int  # overrides written


@dataclass(frozen=True, slots=True)
class PlanningRead:
    """One read of the planning calendar and what it did to the plan."""

    taken: TakenIn
    changes: MeetingChanges
    synced: PlanSynced


async def take_in(
    tx: Tx, calendar: str, delta: CalendarDelta, config: Config, now: datetime
) -> TakenIn:
    """Record ``delta`` and what its events say about the meetings, as plan overrides.

    An event is tied to one meeting the first time it plans one (see
    :func:`daemon.rules.planning.link_meeting`) and keeps it: moved, it moves
    that meeting; cancelled (``STATUS:CANCELLED``), removed, or no longer
    naming a series, it cancels it. The sync state is saved here too.
    """
    await tx.save_planning_state(calendar, delta.state, at=now)
    known = await tx.planning_events(calendar)
    gone: list[str] = []
    for href in delta.removed:
        entry = known.pop(href, None)
        await tx.delete_planning_event(calendar, href)
        if entry is not None:
            gone.append(entry[1])
    for event in delta.changed:
        before = known.get(event.href)
        if before is not None and before[1] != event.uid:
            gone.append(before[1])  # the href now holds another event
        known[event.href] = (event.etag, event.uid)
        await tx.put_planning_event(calendar, event.href, event.etag, event.uid)
    live = {uid for _, uid in known.values()}
    overrides = {o.external_id: o for o in await tx.plan_overrides(PlanSource.CALENDAR)}
    written = 0
    for uid in dict.fromkeys(gone):
        override = overrides.get(uid)
        if uid not in live and override is not None and not override.cancelled:
            await _put(tx, overrides, replace(override, cancelled=True), now)
            written += 1
    configured = config.meetings()
    for event in delta.changed:
        written += await _take_event(tx, event, overrides, live, configured, config, now)
    return TakenIn(len(delta.changed), len(delta.removed), written)


async def _take_event(
    tx: Tx,
    event: PlannedEvent,
    overrides: dict[str, PlanOverride],
    live: set[str],
    configured: list[Meeting],
    config: Config,
    now: datetime,
) -> int:
    """Write what ``event`` says; return how many overrides were written (0 or 1)."""
    matchers = () if config.caldav is None else config.caldav.planning_match
    series = match_series(event.summary, event.categories, matchers)
    if series is not None and (event.start is None or event.recurring):
        log.warning(
            "event %r in the planning calendar %s; it plans nothing",
            event.summary[:80],
            "repeats (put the rule in the configuration)" if event.recurring else "has no time",
        )
        series = None
    override = overrides.get(event.uid)
    if series is None or event.start is None:
        if override is None or override.cancelled:
            return 0
        await _put(tx, overrides, replace(override, cancelled=True), now)
        return 1  # it no longer plans a meeting: the meeting it planned is off
    entry = config.series[series]
    end = event.end or event.start + entry.series.default_duration
    if override is not None and override.series == series:
        updated = replace(
            override, start=event.start, end=end, location=event.location, cancelled=event.cancelled
        )
        if updated == override:
            return 0
        await _put(tx, overrides, updated, now)
        return 1
    if override is not None:  # it names another series now: a new meeting there
        await tx.delete_plan_override(PlanSource.CALENDAR, event.uid)
        del overrides[event.uid]
    taken = {o.meeting for o in overrides.values() if o.external_id in live}
    meeting = link_meeting(series, event.start, configured, taken, config.timezone)
    if meeting is None:
        log.warning(
            "event %r plans a meeting another event already plans; it is left out",
            event.summary[:80],
        )
        return 0
    base = await _replace_dead(tx, overrides, meeting)
    said = PlanState(event.start, event.cancelled)
    held = next((m for m in configured if m.id == meeting), None)
    if held is not None and said.same(PlanState.of(held)):
        base = PlanState.of(held)
    linked = PlanOverride(
        meeting=meeting,
        series=series,
        source=PlanSource.CALENDAR,
        external_id=event.uid,
        start=event.start,
        end=end,
        location=event.location,
        cancelled=event.cancelled,
        base=base,
    )
    await _put(tx, overrides, linked, now)
    return 1


async def _replace_dead(
    tx: Tx, overrides: dict[str, PlanOverride], meeting: MeetingId
) -> PlanState | None:
    """An event gone from the calendar left its word on ``meeting``; a new event takes its
    place (a meeting cancelled by removing its event, then planned again). Its base stays."""
    base: PlanState | None = None
    for uid, dead in list(overrides.items()):
        if dead.meeting == meeting:
            base = dead.base
            await tx.delete_plan_override(PlanSource.CALENDAR, uid)
            del overrides[uid]
    return base


async def _put(
    tx: Tx, overrides: dict[str, PlanOverride], override: PlanOverride, now: datetime
) -> None:
    await tx.put_plan_override(override, at=now)
    overrides[override.external_id] = override


class PlanningReader:
    """Reads the planning calendar on an interval and on ``wake()``; see the module docstring."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        calendar: PlanningCalendar,
        config: Config,
        *,
        on_changed: Callable[[], None] = lambda: None,
        poll_seconds: float | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._calendar = calendar
        self._config = config
        self._on_changed = on_changed
        default = 300 if config.caldav is None else config.caldav.planning_poll_seconds
        self._poll_seconds = float(default if poll_seconds is None else poll_seconds)
        self._wake = asyncio.Event()
        self._reading = asyncio.Lock()

    def wake(self) -> None:
        """Read now (SIGHUP)."""
        self._wake.set()

    def reconfigure(self, config: Config) -> None:
        """Plan by ``config`` from now on (the configuration was reloaded)."""
        self._config = config

    async def run(self) -> None:
        log.info("reading planning calendar %r", self._calendar.name)
        while True:
            self._wake.clear()
            try:
                await self.read_once()
            except ChannelError as failure:
                log.warning("planning calendar not read; trying again later: %s", failure)
            except sqlite3.OperationalError:
                log.exception("the planning could not be stored; trying again later")
            until = self._clock.now() + timedelta(seconds=self._poll_seconds)
            await wait_for_any(self._clock, self._wake, until, self._poll_seconds)

    async def read_once(self) -> PlanningRead | None:
        """One read; ``None`` when nothing changed. Raises ``ChannelError`` (nothing stored)."""
        async with self._reading:
            name = self._calendar.name
            async with self._store.reading() as tx:
                since = await tx.planning_state(name)
            delta = await self._calendar.changes(since)
            if delta.empty and delta.state.token == since.token and delta.state.ctag == since.ctag:
                return None
            now = self._clock.now()
            async with self._store.transaction() as tx:
                taken = await take_in(tx, name, delta, self._config, now)
                changes, replanned, synced = await sync_plan_in(
                    tx, self._config, now, daemon_effects=True
                )
            _log_read(name, taken, changes, synced)
            if not changes.empty or replanned.changed or synced.reported:
                self._on_changed()
            return PlanningRead(taken, changes, synced)


def _log_read(name: str, taken: TakenIn, changes: MeetingChanges, synced: PlanSynced) -> None:
    log.info(
        "planning calendar %r read: %d events, %d removed, %d overrides;"
        " plan: %d added, %d moved, %d cancelled, %d reinstated, %d removed;"
        " %d conflicts (%d new reports)",
        name, taken.events, taken.removed, taken.overrides,
        len(changes.added), len(changes.moved), len(changes.cancelled),
        len(changes.reinstated), len(changes.removed),
        len(synced.conflicts), synced.reported,
    )  # fmt: skip
