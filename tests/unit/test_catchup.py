"""Catch-up policy: a due job fires late only while it still serves its purpose."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from daemon.model import (
    Agreement,
    AgreementId,
    AgreementStatus,
    Meeting,
    MeetingId,
    MeetingStatus,
    SeriesId,
)
from daemon.ports.outbox import ChannelName
from daemon.rules.catchup import (
    CANCELLED_NOTICE,
    MOVED_NOTICE,
    REINSTATED_NOTICE,
    Fire,
    Skip,
    decide,
    policy_for,
)
from daemon.store.engine import Job, JobStatus, SubjectType

START = datetime(2027, 4, 6, 17, 30, tzinfo=UTC)
MEETING = Meeting(
    id=MeetingId("bewonersbijeenkomst-2027-04-06"),
    series=SeriesId("bewonersbijeenkomst"),
    title="Bewonersbijeenkomst",
    start=START,
    end=START + timedelta(hours=2),
    location="Buurthuis",
)
CANCELLED = replace(MEETING, status=MeetingStatus.CANCELLED)
DUE_INSTANT = datetime(2027, 4, 1, 22, 0, tzinfo=UTC)  # start of 2 April, Amsterdam
AGREEMENT = Agreement(
    id=AgreementId(7),
    what="Buurtschouw plannen",
    owner="Fatima",
    due=date(2027, 4, 1),
    status=AgreementStatus.OPEN,
    motivation=None,
    created_at=datetime(2027, 1, 1, tzinfo=UTC),
)


def job(moment: str, due_at: datetime, target_at: datetime = START) -> Job:
    return Job(
        id=1,
        key=f"meeting/x/{moment}/matrix",
        subject_type=SubjectType.MEETING,
        subject_id=MEETING.id,
        moment=moment,
        channel=ChannelName.MATRIX,
        due_at=due_at,
        target_at=target_at,
        subject_at=START,
        status=JobStatus.PENDING,
        fired_at=None,
        note="",
        created_at=due_at,
        updated_at=due_at,
    )


ANNOUNCE = job("announce", START - timedelta(days=28))
STUK_DEADLINE = START - timedelta(days=14)
STUK_REMINDER = job("reminder:stuk", STUK_DEADLINE - timedelta(days=7), target_at=STUK_DEADLINE)


def test_an_announcement_missed_by_a_day_still_fires() -> None:
    assert decide(ANNOUNCE, MEETING, ANNOUNCE.due_at + timedelta(days=1)) == Fire()


def test_an_announcement_after_the_meeting_started_is_skipped() -> None:
    decision = decide(ANNOUNCE, MEETING, START)
    assert decision == Skip("de vergadering is al begonnen (the meeting has already started)")


def test_a_deadline_reminder_before_the_deadline_fires_even_late() -> None:
    assert decide(STUK_REMINDER, MEETING, STUK_DEADLINE - timedelta(seconds=1)) == Fire()


@pytest.mark.parametrize("after", [timedelta(0), timedelta(hours=1), timedelta(days=10)])
def test_a_deadline_reminder_once_the_deadline_passed_is_skipped(after: timedelta) -> None:
    decision = decide(STUK_REMINDER, MEETING, STUK_DEADLINE + after)
    assert decision == Skip("de termijn is al verstreken (the deadline has passed)")


def test_a_meeting_reminder_after_the_start_is_skipped_before_it_fires() -> None:
    reminder = job("reminder:meeting", START - timedelta(days=2))
    assert decide(reminder, MEETING, START - timedelta(minutes=1)) == Fire()
    assert isinstance(decide(reminder, MEETING, START + timedelta(minutes=1)), Skip)


@pytest.mark.parametrize("moment", ["concept_agenda", "stuk", "ter_kennisgeving", "folder"])
def test_a_package_fires_late_only_before_the_meeting(moment: str) -> None:
    package = job(moment, START - timedelta(days=14))
    assert decide(package, MEETING, START - timedelta(hours=1)) == Fire()
    assert isinstance(decide(package, MEETING, START + timedelta(hours=1)), Skip)


def test_regular_moments_of_a_cancelled_meeting_are_skipped() -> None:
    decision = decide(ANNOUNCE, CANCELLED, ANNOUNCE.due_at)
    assert decision == Skip("de vergadering is afgelast (the meeting is cancelled)")


def test_a_job_whose_meeting_is_gone_is_skipped() -> None:
    assert isinstance(decide(ANNOUNCE, None, ANNOUNCE.due_at), Skip)


def test_a_cancellation_notice_fires_until_the_date_it_would_have_been() -> None:
    notice = job(CANCELLED_NOTICE, START - timedelta(days=3))
    assert decide(notice, CANCELLED, START - timedelta(days=1)) == Fire()
    assert isinstance(decide(notice, CANCELLED, START), Skip)
    assert decide(notice, MEETING, START - timedelta(days=1)) == Skip(
        "de vergadering gaat toch door (the meeting is not cancelled)"
    )


@pytest.mark.parametrize("moment", [MOVED_NOTICE, REINSTATED_NOTICE])
def test_change_notices_fire_while_the_meeting_is_ahead(moment: str) -> None:
    notice = job(moment, START - timedelta(days=3))
    assert decide(notice, MEETING, START - timedelta(days=1)) == Fire()
    assert isinstance(decide(notice, CANCELLED, START - timedelta(days=1)), Skip)


def agreement_job(moment: str, due_at: datetime) -> Job:
    return replace(
        job(moment, due_at, target_at=DUE_INSTANT),
        subject_type=SubjectType.AGREEMENT,
        subject_id="7",
    )


def test_an_agreement_reminder_is_skipped_once_overdue() -> None:
    reminder = agreement_job("agreement_reminder", DUE_INSTANT - timedelta(days=7))
    assert decide(reminder, AGREEMENT, DUE_INSTANT - timedelta(days=1)) == Fire()
    assert decide(reminder, AGREEMENT, DUE_INSTANT) == Skip(
        "de afspraak is al over tijd (the agreement is already overdue)"
    )


def test_the_overdue_report_always_fires_while_the_agreement_is_open() -> None:
    overdue = agreement_job("agreement_overdue", DUE_INSTANT + timedelta(hours=9))
    assert decide(overdue, AGREEMENT, DUE_INSTANT + timedelta(days=60)) == Fire()
    done = replace(AGREEMENT, status=AgreementStatus.DONE)
    assert decide(overdue, done, DUE_INSTANT + timedelta(days=1)) == Skip(
        "de afspraak is al gesloten (the agreement is already closed)"
    )


def test_every_moment_the_rules_name_has_a_policy() -> None:
    names = [
        "announce",
        "folder",
        "concept_agenda",
        "reminder:meeting",
        "agendapunt",
        "stuk",
        "ter_kennisgeving",
        "actualiteit",
        "reminder:agendapunt",
        "reminder:stuk",
        "reminder:ter_kennisgeving",
        "reminder:actualiteit",
        "agreement_reminder",
        "agreement_overdue",
        CANCELLED_NOTICE,
        MOVED_NOTICE,
        REINSTATED_NOTICE,
    ]
    assert all(callable(policy_for(name)) for name in names)
    with pytest.raises(KeyError):
        policy_for("fireworks")
