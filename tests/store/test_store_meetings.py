"""sync_meetings and the meeting queries against a real SQLite store."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from store_samples import NOW, file_item, planned_meeting

from daemon.model import Meeting, MeetingId, MeetingStatus, SeriesId
from daemon.store import Store
from daemon.store.core import MeetingChanges

APRIL = planned_meeting(6)
MAY = planned_meeting(11, month=5)
KERNGROEP = planned_meeting(13, series="kerngroep")


async def _sync(store: Store, *plan: Meeting) -> MeetingChanges:
    async with store.transaction() as tx:
        return await tx.sync_meetings(plan, at=NOW)


async def test_a_new_plan_adds_every_meeting(store: Store) -> None:
    changes = await _sync(store, APRIL, MAY)

    assert changes == MeetingChanges(added=[APRIL, MAY])
    async with store.reading() as tx:
        assert await tx.meetings() == [APRIL, MAY]


async def test_the_same_plan_twice_changes_nothing(store: Store) -> None:
    await _sync(store, APRIL, MAY)

    again = await _sync(store, APRIL, MAY)

    assert again == MeetingChanges()
    assert again.empty


async def test_the_same_instant_in_another_time_zone_is_no_change(store: Store) -> None:
    await _sync(store, APRIL)
    amsterdam = ZoneInfo("Europe/Amsterdam")
    local = replace(
        APRIL, start=APRIL.start.astimezone(amsterdam), end=APRIL.end.astimezone(amsterdam)
    )

    assert (await _sync(store, local)).empty


async def test_a_meeting_in_the_repeated_autumn_hour_syncs_once(store: Store) -> None:
    """02:30 on 31 October 2027 happens twice in Amsterdam; either one is stable."""
    amsterdam = ZoneInfo("Europe/Amsterdam")
    for fold in (0, 1):
        start = datetime(2027, 10, 31, 2, 30, tzinfo=amsterdam, fold=fold)
        night = replace(
            APRIL,
            id=MeetingId(f"kerngroep-nacht-{fold}"),
            start=start,
            end=start + timedelta(hours=1),
        )
        added = await _sync(store, night)
        assert [m.start for m in added.added] == [start.astimezone(UTC)]
        assert (await _sync(store, night)).empty


async def test_a_new_start_or_place_is_a_move(store: Store) -> None:
    await _sync(store, APRIL, MAY)
    later = replace(APRIL, start=APRIL.start + timedelta(days=1), end=APRIL.end + timedelta(days=1))
    elsewhere = replace(MAY, location="Sporthal")

    changes = await _sync(store, later, elsewhere)

    assert changes == MeetingChanges(moved=[(APRIL, later), (MAY, elsewhere)])
    async with store.reading() as tx:
        assert await tx.meeting(APRIL.id) == later
        assert await tx.meeting(MAY.id) == elsewhere


async def test_a_new_title_is_stored_but_not_news(store: Store) -> None:
    await _sync(store, APRIL)
    renamed = replace(APRIL, title="Wijkalliantie (voorjaar)")

    assert (await _sync(store, renamed)).empty
    async with store.reading() as tx:
        assert await tx.meeting(APRIL.id) == renamed


async def test_a_meeting_the_plan_cancels_is_cancelled(store: Store) -> None:
    await _sync(store, APRIL, MAY)
    cancelled = replace(MAY, status=MeetingStatus.CANCELLED)

    changes = await _sync(store, APRIL, cancelled)

    assert changes == MeetingChanges(cancelled=[cancelled])
    assert (await _sync(store, APRIL, cancelled)).empty


async def test_a_meeting_gone_from_the_plan_is_cancelled_not_deleted(store: Store) -> None:
    """Items may point at it, so the row stays, marked cancelled."""
    await _sync(store, APRIL, MAY)
    async with store.transaction() as tx:
        item = await file_item(tx, MAY.id)

    changes = await _sync(store, APRIL)

    gone = replace(MAY, status=MeetingStatus.CANCELLED)
    assert changes == MeetingChanges(cancelled=[gone])
    assert (await _sync(store, APRIL)).empty
    async with store.reading() as tx:
        assert await tx.meetings() == [APRIL, gone]
        assert [i.id for i in await tx.items_for_meeting(MAY.id)] == [item.id]


async def test_a_meeting_nobody_heard_of_gone_from_the_plan_is_deleted(store: Store) -> None:
    """No job of it fired and nothing points at it: a mistake taken out again."""
    await _sync(store, APRIL, MAY)

    changes = await _sync(store, APRIL)

    assert changes == MeetingChanges(removed=[MAY])
    assert (await _sync(store, APRIL)).empty
    async with store.reading() as tx:
        assert await tx.meetings() == [APRIL]


async def test_a_cancelled_meeting_back_in_the_plan_is_reinstated(store: Store) -> None:
    await _sync(store, APRIL, MAY)
    async with store.transaction() as tx:
        await file_item(tx, MAY.id)  # published: it stays, cancelled, when taken out
    await _sync(store, APRIL)

    changes = await _sync(store, APRIL, MAY)

    assert changes == MeetingChanges(reinstated=[MAY])
    async with store.reading() as tx:
        assert await tx.meeting(MAY.id) == MAY


async def test_a_plan_naming_a_meeting_twice_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="twice"):
        await _sync(store, APRIL, replace(APRIL, location="Elders"))
    async with store.reading() as tx:
        assert await tx.meetings() == []


async def test_meetings_filter_by_series_and_sort_by_start(store: Store) -> None:
    await _sync(store, MAY, KERNGROEP, APRIL)

    async with store.reading() as tx:
        assert await tx.meetings() == [APRIL, KERNGROEP, MAY]
        assert await tx.meetings(SeriesId("wijkalliantie")) == [APRIL, MAY]
        assert await tx.meetings(SeriesId("kerngroep")) == [KERNGROEP]
        assert await tx.meetings(SeriesId("bewonersbijeenkomst")) == []


async def test_an_unknown_meeting_is_none(store: Store) -> None:
    async with store.reading() as tx:
        assert await tx.meeting(MeetingId("wijkalliantie-2099-01-01")) is None


async def test_a_meeting_ending_before_it_starts_is_refused(store: Store) -> None:
    backwards = replace(APRIL, end=APRIL.start - timedelta(minutes=1))
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        await _sync(store, backwards)
