"""A reminder whose moment had passed before its subject existed is skipped and recorded.

An afspraak due in 3 days has no "7 days before": that reminder would go out
half a second after the confirmation. A meeting planned at short notice keeps
its own short-notice rules (the announcement at once, saying so; the folder
late rather than never), but not a reminder that lies before it was planned.
A reminder planned in time and missed by downtime still follows the ordinary
catch-up policy.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from test_catchup import AGREEMENT, MEETING, job
from test_scheduler import BEWONERS, SETTINGS, jobs_of, local, plan

from daemon.clock import ManualClock
from daemon.engine.scheduler import Scheduler, materialise
from daemon.model import AgreementStatus
from daemon.publish.scheduled import SHORT_NOTICE
from daemon.rules.catchup import Fire, Skip, decide
from daemon.store import Store
from daemon.store.engine import JobStatus, SubjectType

BEFORE_SUBJECT = "(the moment had passed before its subject existed)"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "state")
    try:
        yield opened
    finally:
        await opened.close()


def test_an_afspraak_reminder_before_the_afspraak_existed_is_skipped() -> None:
    made = datetime(2027, 3, 29, 10, 0, tzinfo=UTC)  # due 1 April: 3 days later
    agreement = replace(AGREEMENT, created_at=made)
    seven_days_before = replace(
        job("agreement_reminder", datetime(2027, 3, 25, 8, 0, tzinfo=UTC)), created_at=made
    )
    decision = decide(seven_days_before, agreement, made)
    assert isinstance(decision, Skip)
    assert BEFORE_SUBJECT in decision.reason


def test_an_afspraak_reminder_missed_by_downtime_still_fires_before_it_is_due() -> None:
    reminder = job("agreement_reminder", datetime(2027, 3, 25, 8, 0, tzinfo=UTC))
    reminder = replace(reminder, created_at=datetime(2027, 3, 1, tzinfo=UTC))
    assert decide(reminder, AGREEMENT, datetime(2027, 3, 26, tzinfo=UTC)) == Fire()


@pytest.mark.parametrize("moment", ["reminder:meeting", "reminder:stuk"])
def test_a_meeting_reminder_before_the_meeting_was_planned_is_skipped(moment: str) -> None:
    due = MEETING.start - timedelta(days=9)
    reminder = replace(
        job(moment, due, target_at=MEETING.start), created_at=due + timedelta(hours=1)
    )
    decision = decide(reminder, MEETING, due + timedelta(hours=1))
    assert isinstance(decision, Skip)
    assert BEFORE_SUBJECT in decision.reason


@pytest.mark.parametrize("moment", ["announce", "folder", "stuk", "concept_agenda"])
def test_short_notice_rules_stay_for_what_is_not_a_reminder(moment: str) -> None:
    due = MEETING.start - timedelta(days=20)
    late_born = replace(job(moment, due), created_at=MEETING.start - timedelta(days=5))
    assert decide(late_born, MEETING, late_born.created_at) == Fire()


async def test_an_afspraak_due_in_three_days_gets_no_immediate_reminder(store: Store) -> None:
    now = local(2027, 3, 29, 14, 0)
    async with store.transaction() as tx:
        agreement = await tx.add_agreement("Huurcommissie bellen", "@bob:x", date(2027, 4, 1), now)
        await materialise(tx, [], await tx.open_agreements(), SETTINGS, now)

    await Scheduler(store, ManualClock(now), SETTINGS).fire_due()

    async with store.reading() as tx:
        jobs = await tx.jobs_of(SubjectType.AGREEMENT, str(agreement.id))
        sent = await tx.effects()
    seven, one = (
        [j for j in jobs if j.moment == "agreement_reminder" and j.key.split("/")[-2] == offset]
        for offset in ("7d", "1d")
    )
    assert {j.status for j in seven} == {JobStatus.SKIPPED}
    assert all(BEFORE_SUBJECT in j.note for j in seven)
    assert {j.status for j in one} == {JobStatus.PENDING}
    assert sent == []
    assert agreement.status is AgreementStatus.OPEN


async def test_a_meeting_planned_at_short_notice_is_announced_but_not_reminded_at_once(
    store: Store,
) -> None:
    clock = ManualClock(BEWONERS.start.astimezone(SETTINGS.tz) - timedelta(days=1))
    await plan(store, clock, BEWONERS)

    await Scheduler(store, clock, SETTINGS).fire_due()

    by_moment: dict[str, set[JobStatus]] = {}
    for planned in await jobs_of(store, BEWONERS):
        by_moment.setdefault(planned.moment, set()).add(planned.status)
        if planned.moment == "announce":
            assert SHORT_NOTICE in planned.note
        if planned.moment == "reminder:meeting":
            assert BEFORE_SUBJECT in planned.note
    assert by_moment == {
        "announce": {JobStatus.FIRED},
        "folder": {JobStatus.FIRED},
        "reminder:meeting": {JobStatus.SKIPPED},
    }
