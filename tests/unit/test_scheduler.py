"""Materialising jobs from meetings and afspraken, and keeping them right when plans change.

A real SQLite store in a temporary directory and a ``ManualClock``; meetings
enter the store as the plan sync puts them there (``sync_meetings``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from daemon.clock import ManualClock
from daemon.engine.scheduler import EngineSettings, Replanned, Scheduler, materialise
from daemon.model import (
    AgreementId,
    AgreementStatus,
    Meeting,
    MeetingStatus,
    Series,
    SeriesId,
    SeriesRules,
    meeting_id_for,
)
from daemon.ports.outbox import CalendarWrite, ChannelName, ChatPost, Effect, MailOut
from daemon.publish.scheduled import Targets
from daemon.rules.defaults import AGREEMENT_REMINDERS, BEWONERSBIJEENKOMST, KERNGROEP, WIJKALLIANTIE
from daemon.store import Store
from daemon.store.engine import Job, JobStatus, SubjectType

AMS = ZoneInfo("Europe/Amsterdam")
CORE = "!core:wijk.example.org"
ANNOUNCE_ROOM = "!buurt:wijk.example.org"
RESIDENTS = "bewoners@lists.example.org"
PARTNERS = ("gemeente@example.org", "ymere@example.org")
CALENDAR = "Openbare agenda"
TARGETS = Targets(
    core_room=CORE,
    announce_rooms=(ANNOUNCE_ROOM,),
    partner_addresses=PARTNERS,
    residents_address=RESIDENTS,
    calendar=CALENDAR,
    mail_domain="wijk.example.org",
)


def series(sid: str, public: bool, rules: SeriesRules) -> Series:
    return Series(SeriesId(sid), sid.capitalize(), public, rules, timedelta(hours=2), "Buurthuis")


SETTINGS = EngineSettings(
    tz=AMS,
    series={
        SeriesId("bewonersbijeenkomst"): series("bewonersbijeenkomst", True, BEWONERSBIJEENKOMST),
        SeriesId("wijkalliantie"): series("wijkalliantie", True, WIJKALLIANTIE),
        SeriesId("kerngroep"): series("kerngroep", False, KERNGROEP),
    },
    agreement_reminders=AGREEMENT_REMINDERS,
    targets=TARGETS,
)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMS)  # type: ignore[misc]


def meeting(sid: str, start: datetime) -> Meeting:
    return Meeting(
        id=meeting_id_for(SeriesId(sid), start.date()),
        series=SeriesId(sid),
        title=sid.capitalize(),
        start=start.astimezone(UTC),
        end=(start + timedelta(hours=2)).astimezone(UTC),
        location="Buurthuis De Punt",
    )


BEWONERS = meeting("bewonersbijeenkomst", local(2027, 4, 6, 19, 30))
ALLIANTIE = meeting("wijkalliantie", local(2027, 4, 6, 19, 30))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "state")
    try:
        yield opened
    finally:
        await opened.close()


async def plan(store: Store, clock: ManualClock, *meetings: Meeting) -> Replanned:
    """What the plan sync does: store the meetings and materialise, in one transaction."""
    async with store.transaction() as tx:
        await tx.sync_meetings(meetings, at=clock.now())
        return await materialise(
            tx, await tx.meetings(), await tx.open_agreements(), SETTINGS, clock.now()
        )


async def jobs_of(store: Store, subject: Meeting) -> list[Job]:
    async with store.reading() as tx:
        return await tx.jobs_of(SubjectType.MEETING, subject.id)


async def fire_at(store: Store, when: datetime) -> int:
    clock = ManualClock(when)
    return await Scheduler(store, clock, SETTINGS).fire_due()


async def effects(store: Store) -> list[Effect]:
    async with store.reading() as tx:
        return await tx.effects()


def table(jobs: list[Job]) -> set[tuple[str, str, datetime, JobStatus]]:
    return {(j.moment, j.channel.value, j.due_at.astimezone(AMS), j.status) for j in jobs}


async def test_a_public_meeting_gets_its_announcement_folder_and_reminder(store: Store) -> None:
    clock = ManualClock(local(2027, 1, 1, 12, 0))

    await plan(store, clock, BEWONERS)

    pending = JobStatus.PENDING
    assert table(await jobs_of(store, BEWONERS)) == {
        ("announce", "matrix", local(2027, 3, 9, 19, 30), pending),
        ("announce", "mail", local(2027, 3, 9, 19, 30), pending),
        ("announce", "caldav", local(2027, 3, 9, 19, 30), pending),
        ("folder", "matrix", local(2027, 3, 23, 19, 30), pending),
        ("reminder:meeting", "matrix", local(2027, 4, 4, 19, 30), pending),
        ("reminder:meeting", "mail", local(2027, 4, 4, 19, 30), pending),
    }


async def test_an_alliance_meeting_gets_every_deadline_and_its_reminders(store: Store) -> None:
    clock = ManualClock(local(2027, 1, 1, 12, 0))

    await plan(store, clock, ALLIANTIE)

    jobs = await jobs_of(store, ALLIANTIE)
    by_key = {j.key: j for j in jobs}
    stuk_reminder = by_key["meeting/wijkalliantie-2027-04-06/reminder:stuk/7d/mail"]
    assert stuk_reminder.due_at.astimezone(AMS) == local(2027, 3, 16, 19, 30)
    assert stuk_reminder.target_at.astimezone(AMS) == local(2027, 3, 23, 19, 30)
    actualiteit = by_key["meeting/wijkalliantie-2027-04-06/actualiteit/48h/matrix"]
    assert actualiteit.due_at.astimezone(AMS) == local(2027, 4, 4, 19, 30)
    # concept agenda, 4 deadlines, 4 × 2 reminders; all to the room, all but the
    # closing of the agenda also to the partners by mail.
    assert len(jobs) == (1 + 4 + 8) * 2 - 1
    assert "meeting/wijkalliantie-2027-04-06/agendapunt/15d/mail" not in by_key


async def test_materialising_again_changes_nothing(store: Store) -> None:
    clock = ManualClock(local(2027, 1, 1, 12, 0))
    await plan(store, clock, BEWONERS, ALLIANTIE)

    again = await plan(store, clock, BEWONERS, ALLIANTIE)

    assert again == Replanned()


async def test_a_moved_meeting_moves_its_pending_jobs_and_notifies_who_heard_of_it(
    store: Store,
) -> None:
    clock = ManualClock(local(2027, 1, 1, 12, 0))
    await plan(store, clock, BEWONERS)
    assert await fire_at(store, local(2027, 3, 9, 20, 0)) == 3  # the announcement
    announced = {j.key: j for j in await jobs_of(store, BEWONERS)}

    await clock.set(local(2027, 3, 12, 10, 0))
    moved = replace(
        BEWONERS, start=BEWONERS.start + timedelta(days=7), end=BEWONERS.end + timedelta(days=7)
    )
    await plan(store, clock, moved)

    jobs = {j.key: j for j in await jobs_of(store, BEWONERS)}
    for key, job in announced.items():
        if job.status is JobStatus.FIRED:
            assert jobs[key] == job  # fired stays fired, untouched
    folder = jobs["meeting/bewonersbijeenkomst-2027-04-06/folder/14d/matrix"]
    assert (folder.status, folder.due_at.astimezone(AMS)) == (
        JobStatus.PENDING,
        local(2027, 3, 30, 19, 30),
    )
    notices = {(j.moment, j.channel.value, j.status) for j in jobs.values() if "notice" in j.moment}
    assert notices == {
        ("moved_notice", "matrix", JobStatus.PENDING),
        ("moved_notice", "mail", JobStatus.PENDING),
        ("moved_notice", "caldav", JobStatus.PENDING),
    }

    before = len(await effects(store))
    await fire_at(store, clock.now())
    sent = (await effects(store))[before:]
    assert sorted((e.channel.value, e.destination) for e in sent) == [
        ("caldav", CALENDAR),
        ("mail", RESIDENTS),
        ("matrix", ANNOUNCE_ROOM),
        ("matrix", CORE),
    ]
    write = next(e.payload for e in sent if e.channel is ChannelName.CALDAV)
    assert isinstance(write, CalendarWrite)
    assert (write.action, write.start, write.sequence) == ("upsert", moved.start, 1)
    post = next(e.payload for e in sent if e.destination == CORE)
    assert isinstance(post, ChatPost)
    assert post.body.startswith(
        "Verplaatst: Bewonersbijeenkomst is nu op dinsdag 13 april 2027, 19:30"
    )

    # Planning the same again adds no second notice.
    assert await plan(store, clock, moved) == Replanned()


async def test_a_cancelled_meeting_cancels_pending_jobs_and_notifies_only_who_carried_it(
    store: Store,
) -> None:
    clock = ManualClock(local(2027, 1, 1, 12, 0))
    await plan(store, clock, ALLIANTIE)
    await fire_at(store, local(2027, 3, 16, 20, 0))  # concept agenda and first reminders

    await clock.set(local(2027, 3, 17, 9, 0))
    cancelled = replace(ALLIANTIE, status=MeetingStatus.CANCELLED)
    await plan(store, clock, cancelled)

    jobs = await jobs_of(store, ALLIANTIE)
    statuses = {j.status for j in jobs if "notice" not in j.moment and j.fired_at is None}
    assert statuses == {JobStatus.CANCELLED}
    notices = sorted((j.moment, j.channel.value) for j in jobs if "notice" in j.moment)
    assert notices == [("cancelled_notice", "mail"), ("cancelled_notice", "matrix")]

    before = len(await effects(store))
    await fire_at(store, clock.now())
    sent = (await effects(store))[before:]
    # The announce room never carried this meeting, so it hears nothing of it.
    assert sorted((e.channel.value, e.destination) for e in sent) == [
        ("mail", PARTNERS[0]),
        ("mail", PARTNERS[1]),
        ("matrix", CORE),
    ]
    mail = next(e.payload for e in sent if e.channel is ChannelName.MAIL)
    assert isinstance(mail, MailOut)
    assert mail.subject.startswith("Afgelast: Wijkalliantie")


async def test_a_cancelled_meeting_nobody_heard_of_gets_no_notice(store: Store) -> None:
    clock = ManualClock(local(2027, 1, 1, 12, 0))
    await plan(store, clock, BEWONERS)

    report = await plan(store, clock, replace(BEWONERS, status=MeetingStatus.CANCELLED))

    assert (len(report.cancelled), report.added) == (6, [])
    assert all(j.status is JobStatus.CANCELLED for j in await jobs_of(store, BEWONERS))


async def test_a_meeting_removed_from_the_plan_after_it_was_published_is_announced_cancelled(
    store: Store,
) -> None:
    clock = ManualClock(local(2027, 1, 1, 12, 0))
    await plan(store, clock, ALLIANTIE, BEWONERS)
    await fire_at(store, local(2027, 3, 16, 20, 0))  # the concept agenda went to the core room

    await clock.set(local(2027, 3, 17, 9, 0))
    await plan(store, clock, BEWONERS)  # taken out of the configuration

    async with store.reading() as tx:
        assert await tx.meeting(ALLIANTIE.id) == replace(ALLIANTIE, status=MeetingStatus.CANCELLED)
    notices = {(j.moment, j.channel.value) for j in await jobs_of(store, ALLIANTIE)}
    assert ("cancelled_notice", "matrix") in notices


async def test_a_meeting_removed_from_the_plan_before_anyone_heard_of_it_disappears(
    store: Store,
) -> None:
    clock = ManualClock(local(2027, 1, 1, 12, 0))
    await plan(store, clock, ALLIANTIE, BEWONERS)
    assert await jobs_of(store, ALLIANTIE)

    await plan(store, clock, BEWONERS)

    async with store.reading() as tx:
        assert [m.id for m in await tx.meetings()] == [BEWONERS.id]
    assert await jobs_of(store, ALLIANTIE) == []


async def test_a_cancelled_calendar_entry_is_cancelled_not_duplicated(store: Store) -> None:
    clock = ManualClock(local(2027, 1, 1, 12, 0))
    await plan(store, clock, BEWONERS)
    await fire_at(store, local(2027, 3, 9, 20, 0))

    await clock.set(local(2027, 3, 20, 9, 0))
    await plan(store, clock, replace(BEWONERS, status=MeetingStatus.CANCELLED))
    await fire_at(store, clock.now())

    writes = [e.payload for e in await effects(store) if e.channel is ChannelName.CALDAV]
    assert [(w.action, w.sequence) for w in writes if isinstance(w, CalendarWrite)] == [
        ("upsert", 0),
        ("cancel", 1),
    ]
    assert len({w.uid for w in writes if isinstance(w, CalendarWrite)}) == 1


async def test_a_reinstated_meeting_is_announced_as_going_ahead(store: Store) -> None:
    clock = ManualClock(local(2027, 1, 1, 12, 0))
    await plan(store, clock, BEWONERS)
    await fire_at(store, local(2027, 3, 9, 20, 0))
    await clock.set(local(2027, 3, 20, 9, 0))
    await plan(store, clock, replace(BEWONERS, status=MeetingStatus.CANCELLED))
    await fire_at(store, clock.now())

    await clock.set(local(2027, 3, 21, 9, 0))
    await plan(store, clock, BEWONERS)
    await fire_at(store, clock.now())

    jobs = {j.key: j for j in await jobs_of(store, BEWONERS)}
    reinstated = jobs["meeting/bewonersbijeenkomst-2027-04-06/reinstated_notice/1/matrix"]
    assert reinstated.status is JobStatus.FIRED
    reminder = jobs["meeting/bewonersbijeenkomst-2027-04-06/reminder:meeting/2d/matrix"]
    assert reminder.status is JobStatus.PENDING  # revived from cancelled
    writes = [e.payload for e in await effects(store) if isinstance(e.payload, CalendarWrite)]
    assert [(w.action, w.sequence) for w in writes] == [("upsert", 0), ("cancel", 1), ("upsert", 2)]


async def test_a_meeting_added_closer_than_its_announcement_is_announced_at_once(
    store: Store,
) -> None:
    clock = ManualClock(local(2027, 3, 27, 12, 0))  # ten days before

    await plan(store, clock, BEWONERS)
    assert await fire_at(store, clock.now()) == 4  # the announcement on 3 channels, the folder

    announce = {j.channel: j for j in await jobs_of(store, BEWONERS) if j.moment == "announce"}
    assert {j.status for j in announce.values()} == {JobStatus.FIRED}
    assert announce[ChannelName.MATRIX].note.startswith("short_notice")
    post = next(e.payload for e in await effects(store) if e.destination == ANNOUNCE_ROOM)
    assert isinstance(post, ChatPost)
    assert post.body.startswith(
        "Op korte termijn: Bewonersbijeenkomst op dinsdag 6 april 2027, 19:30"
    )
    assert "At short notice: Bewonersbijeenkomst on Tuesday 6 April 2027, 19:30" in post.body


async def test_a_meeting_moved_into_its_announcement_window_is_announced_at_once(
    store: Store,
) -> None:
    later = meeting("bewonersbijeenkomst", local(2027, 6, 1, 19, 30))
    clock = ManualClock(local(2027, 3, 27, 12, 0))
    await plan(store, clock, later)

    earlier = replace(later, start=BEWONERS.start, end=BEWONERS.end)
    await plan(store, clock, earlier)

    announce = [j for j in await jobs_of(store, later) if j.moment == "announce"]
    assert {(j.status, j.note) for j in announce} == {(JobStatus.PENDING, "short_notice")}
    assert all(j.due_at <= clock.now() for j in announce)


async def test_a_series_taken_out_of_the_configuration_loses_its_pending_jobs(
    store: Store,
) -> None:
    clock = ManualClock(local(2027, 1, 1, 12, 0))
    await plan(store, clock, BEWONERS)
    without = replace(
        SETTINGS,
        series={k: v for k, v in SETTINGS.series.items() if k != "bewonersbijeenkomst"},
    )

    async with store.transaction() as tx:
        report = await materialise(tx, await tx.meetings(), [], without, clock.now())

    assert len(report.cancelled) == 6
    assert {j.status for j in await jobs_of(store, BEWONERS)} == {JobStatus.CANCELLED}


async def test_meetings_that_already_started_get_no_new_jobs(store: Store) -> None:
    clock = ManualClock(local(2027, 4, 7, 12, 0))

    report = await plan(store, clock, BEWONERS)

    assert report == Replanned()


async def test_an_open_agreement_is_reminded_and_a_closed_one_no_longer(store: Store) -> None:
    clock = ManualClock(local(2027, 3, 1, 12, 0))
    async with store.transaction() as tx:
        agreement = await tx.add_agreement(
            "Buurtschouw plannen", "Fatima", date(2027, 4, 1), clock.now()
        )
    await plan(store, clock)

    async with store.reading() as tx:
        jobs = await tx.jobs_of(SubjectType.AGREEMENT, str(agreement.id))
    assert sorted((j.moment, j.due_at.astimezone(AMS)) for j in jobs) == [
        ("agreement_overdue", local(2027, 4, 2, 9, 0)),
        ("agreement_reminder", local(2027, 3, 25, 9, 0)),
        ("agreement_reminder", local(2027, 3, 31, 9, 0)),
    ]

    async with store.transaction() as tx:
        await tx.close_agreement(AgreementId(agreement.id), AgreementStatus.DONE, None, clock.now())
    report = await plan(store, clock)

    assert len(report.cancelled) == 3
