"""RULES.md "Afspraak = afspraak": reminders before an afspraak is due, a report when overdue."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from daemon.model import Agreement, AgreementId, AgreementStatus, Offset
from daemon.rules import defaults
from daemon.rules.assignment import agreement_due_at, agreement_moments

TZ = ZoneInfo("Europe/Amsterdam")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def afspraak(due: date, status: AgreementStatus = AgreementStatus.OPEN) -> Agreement:
    return Agreement(
        id=AgreementId(7),
        what="Buurtschouw plannen",
        owner="@ayse:example.org",
        due=due,
        status=status,
        motivation=None if status is AgreementStatus.OPEN else "Geen tijd",
        created_at=utc("2027-01-10 12:00"),
    )


def test_open_afspraak_is_reminded_at_nine_and_reported_the_morning_after_its_due_date() -> None:
    """Due Thu 1 April: reminders at 09:00 local on 25 and 31 March, overdue 09:00 on 2 April."""
    found = agreement_moments(afspraak(date(2027, 4, 1)), defaults.AGREEMENT_REMINDERS, TZ)
    assert [
        ("agreement/7/agreement_reminder/7d", utc("2027-03-25 08:00")),  # 09:00 CET
        ("agreement/7/agreement_reminder/1d", utc("2027-03-31 07:00")),  # 09:00 CEST
        ("agreement/7/agreement_overdue", utc("2027-04-02 07:00")),
    ] == [(m.key, m.at.astimezone(UTC)) for m in found]
    assert {"@ayse:example.org"} == {m.owner for m in found}


def test_afspraak_is_overdue_from_the_start_of_the_next_local_day() -> None:
    """Due 1 April means done during 1 April: overdue from 2 April 00:00 local."""
    assert utc("2027-04-01 22:00") == agreement_due_at(date(2027, 4, 1), TZ)


def test_hour_reminder_counts_back_from_the_end_of_the_due_date() -> None:
    """A ``24h`` reminder is exactly 24 hours before 2 April 00:00 local."""
    [reminder, _overdue] = agreement_moments(afspraak(date(2027, 4, 1)), [Offset.parse("24h")], TZ)
    assert ("agreement/7/agreement_reminder/24h", utc("2027-03-31 22:00")) == (
        reminder.key,
        reminder.at.astimezone(UTC),
    )


@pytest.mark.parametrize("status", [AgreementStatus.DONE, AgreementStatus.CANNOT])
def test_closed_afspraak_has_no_moments(status: AgreementStatus) -> None:
    """Done, or closed with a motivation: nobody is reminded."""
    assert (
        agreement_moments(afspraak(date(2027, 4, 1), status), defaults.AGREEMENT_REMINDERS, TZ)
        == []
    )
