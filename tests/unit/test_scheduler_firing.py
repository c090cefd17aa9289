"""Firing jobs: once, on time, or late after downtime only when still sensible; across restarts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from test_scheduler import (
    ALLIANTIE,
    AMS,
    ANNOUNCE_ROOM,
    BEWONERS,
    SETTINGS,
    effects,
    jobs_of,
    local,
    plan,
)

from daemon.clock import ManualClock
from daemon.engine.scheduler import EngineSettings, Scheduler
from daemon.ports.outbox import ChatPost
from daemon.store import Store
from daemon.store.engine import EngineQueries, Job, JobStatus

FIRED, SKIPPED, PENDING = JobStatus.FIRED, JobStatus.SKIPPED, JobStatus.PENDING


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "state")
    try:
        yield opened
    finally:
        await opened.close()


def statuses(jobs: list[Job]) -> dict[str, JobStatus]:
    """Status per (moment/offset), over all channels; channels of one moment always agree."""
    found: dict[str, set[JobStatus]] = {}
    for job in jobs:
        moment = job.key.split("/")[2] + "/" + job.key.split("/")[3]
        found.setdefault(moment, set()).add(job.status)
    assert all(len(s) == 1 for s in found.values()), found
    return {moment: next(iter(s)) for moment, s in found.items()}


async def test_after_weeks_of_downtime_only_what_still_makes_sense_fires_once(
    store: Store,
) -> None:
    clock = ManualClock(local(2027, 2, 1, 12, 0))
    await plan(store, clock, ALLIANTIE, BEWONERS)

    # Down from 1 February to 31 March: the scheduler starts afresh.
    await clock.set(local(2027, 3, 31, 12, 0))
    handled = await Scheduler(store, clock, SETTINGS).fire_due()

    assert statuses(await jobs_of(store, ALLIANTIE)) == {
        "concept_agenda/21d": FIRED,
        "agendapunt/15d": FIRED,
        "stuk/14d": FIRED,
        "ter_kennisgeving/7d": SKIPPED,  # nothing came in for it: an empty addendum
        "actualiteit/48h": PENDING,
        "reminder:agendapunt/7d": SKIPPED,
        "reminder:agendapunt/2d": SKIPPED,
        "reminder:stuk/7d": SKIPPED,
        "reminder:stuk/2d": SKIPPED,
        "reminder:ter_kennisgeving/7d": SKIPPED,
        "reminder:ter_kennisgeving/2d": SKIPPED,
        "reminder:actualiteit/7d": FIRED,  # its deadline is still ahead
        "reminder:actualiteit/2d": PENDING,
    }
    assert statuses(await jobs_of(store, BEWONERS)) == {
        "announce/28d": FIRED,
        "folder/14d": FIRED,
        "reminder:meeting/2d": PENDING,
    }
    skipped = [j for j in await jobs_of(store, ALLIANTIE) if j.status is SKIPPED]
    assert {j.note for j in skipped} == {
        "de termijn is al verstreken (the deadline has passed)",
        "leeg addendum, niets te versturen (empty addendum, nothing to send)",
    }
    # Alliance: 7 fired (concept 2, agendapunt 1, stuk 2, reminder 2) and 14 skipped (the
    # empty ter-kennisgeving addendum on 2 channels among them); residents' meeting: the
    # announcement on 3 channels and the folder.
    assert handled == 7 + 14 + 4

    # A late announcement says nothing odd, only the log knows it was late.
    post = next(e.payload for e in await effects(store) if e.destination == ANNOUNCE_ROOM)
    assert isinstance(post, ChatPost)
    assert post.body.startswith("Bewonersbijeenkomst op dinsdag 6 april 2027, 19:30")
    announce = next(j for j in await jobs_of(store, BEWONERS) if j.moment == "announce")
    # 9 March 19:30 CET to 31 March 12:00 CEST.
    assert announce.note == "laat: 21d 15u 30m (late: 21d 15h 30m)"

    # Once: a second pass, or a second scheduler, finds nothing left to do.
    sent = len(await effects(store))
    assert await Scheduler(store, clock, SETTINGS).fire_due() == 0
    assert len(await effects(store)) == sent


async def test_jobs_left_pending_past_the_meeting_are_skipped_not_sent(store: Store) -> None:
    clock = ManualClock(local(2027, 3, 31, 12, 0))
    await plan(store, clock, BEWONERS)
    await Scheduler(store, clock, SETTINGS).fire_due()
    sent = len(await effects(store))

    await clock.set(local(2027, 4, 7, 9, 0))
    await Scheduler(store, clock, SETTINGS).fire_due()

    reminder = [j for j in await jobs_of(store, BEWONERS) if j.moment == "reminder:meeting"]
    assert {(j.status, j.note) for j in reminder} == {
        (SKIPPED, "de vergadering is al begonnen (the meeting has already started)")
    }
    assert len(await effects(store)) == sent


async def test_jobs_fire_once_across_a_restart(tmp_path: Path) -> None:
    clock = ManualClock(local(2027, 3, 9, 19, 30))
    first = await Store.open(tmp_path / "state")
    await plan(first, clock, BEWONERS)
    assert await Scheduler(first, clock, SETTINGS).fire_due() == 3
    await first.close()

    second = await Store.open(tmp_path / "state")
    try:
        again = await Scheduler(second, clock, SETTINGS).fire_due()
        await clock.set(local(2027, 3, 23, 19, 30))
        folder = await Scheduler(second, clock, SETTINGS).fire_due()
        rows = await effects(second)
    finally:
        await second.close()

    assert (again, folder) == (0, 1)
    assert len(rows) == 4 + 1  # announce: 2 rooms, residents, calendar; folder: core room
    assert len({r.key for r in rows}) == len(rows)


async def test_a_crash_while_firing_leaves_the_job_pending_and_no_effect(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job's status and its outbox rows commit together, or neither does."""
    clock = ManualClock(local(2027, 3, 9, 19, 30))
    await plan(store, clock, BEWONERS)

    async def crash(*args: object, **kwargs: object) -> bool:
        raise SystemExit("killed between enqueue and settle")

    with monkeypatch.context() as patch:
        patch.setattr(EngineQueries, "settle_job", crash)
        with pytest.raises(SystemExit):
            await Scheduler(store, clock, SETTINGS).fire_due()
    assert await effects(store) == []
    assert {j.status for j in await jobs_of(store, BEWONERS)} == {PENDING}

    assert await Scheduler(store, clock, SETTINGS).fire_due() == 3
    assert len(await effects(store)) == 4


async def test_a_job_that_cannot_be_built_fails_and_the_rest_go_on(store: Store) -> None:
    clock = ManualClock(local(2027, 3, 31, 12, 0))
    await plan(store, clock, BEWONERS, ALLIANTIE)
    without_alliance = EngineSettings(
        tz=AMS,
        series={k: v for k, v in SETTINGS.series.items() if k != "wijkalliantie"},
        agreement_reminders=SETTINGS.agreement_reminders,
        targets=SETTINGS.targets,
    )

    await Scheduler(store, clock, without_alliance).fire_due()

    failed = [j for j in await jobs_of(store, ALLIANTIE) if j.status is JobStatus.FAILED]
    assert {j.note for j in failed} == {"LookupError: series wijkalliantie is not configured"}
    assert {j.status for j in await jobs_of(store, BEWONERS) if j.moment == "announce"} == {FIRED}


class Enqueued:
    """``on_enqueued`` for a test: counts commits that enqueued, wakes a waiter at ``wanted``."""

    def __init__(self, wanted: int) -> None:
        self.count = 0
        self.wanted = wanted
        self.reached = asyncio.Event()

    def __call__(self) -> None:
        self.count += 1
        if self.count >= self.wanted:
            self.reached.set()


async def test_the_running_scheduler_fires_when_the_clock_reaches_a_job(store: Store) -> None:
    clock = ManualClock(local(2027, 3, 1, 12, 0))
    enqueued = Enqueued(wanted=3)  # the announcement's three channels
    scheduler = Scheduler(store, clock, SETTINGS, on_enqueued=enqueued, poll_seconds=3600)
    async with store.transaction() as tx:
        await tx.sync_meetings([BEWONERS], at=clock.now())
    await scheduler.refresh()
    task = asyncio.create_task(scheduler.run())
    try:
        await clock.set(local(2027, 3, 9, 19, 30))
        await asyncio.wait_for(enqueued.reached.wait(), 10)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    announce = [j for j in await jobs_of(store, BEWONERS) if j.moment == "announce"]
    assert {(j.status, j.fired_at) for j in announce} == {(FIRED, local(2027, 3, 9, 19, 30))}
    folder = [j for j in await jobs_of(store, BEWONERS) if j.moment == "folder"]
    assert {j.status for j in folder} == {PENDING}


async def test_a_refresh_wakes_the_scheduler_for_a_job_due_now(store: Store) -> None:
    clock = ManualClock(local(2027, 3, 27, 12, 0))
    enqueued = Enqueued(wanted=4)  # the announcement (short notice) and the folder
    scheduler = Scheduler(store, clock, SETTINGS, on_enqueued=enqueued, poll_seconds=3600)
    task = asyncio.create_task(scheduler.run())
    try:
        async with store.transaction() as tx:
            await tx.sync_meetings([BEWONERS], at=clock.now())
        await scheduler.refresh()
        await asyncio.wait_for(enqueued.reached.wait(), 10)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    when = {j.fired_at for j in await jobs_of(store, BEWONERS) if j.moment == "announce"}
    assert when == {clock.now()}


def test_local_helper_is_amsterdam_time() -> None:
    assert local(2027, 4, 6, 19, 30).utcoffset() == timedelta(hours=2)
    assert isinstance(local(2027, 4, 6, 19, 30), datetime)
