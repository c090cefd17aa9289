"""RULES.md's clock: offsets, deadlines and every moment of a meeting or afspraak.

Pure functions of (meeting, rules, time zone). A day offset keeps the local
wall-clock time across DST; an hour offset is exact elapsed time. Times come
back timezone-aware in the deployment's time zone.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from daemon.model import (
    Agreement,
    AgreementId,
    AgreementStatus,
    Kind,
    Meeting,
    MeetingId,
    Offset,
    OffsetUnit,
    SeriesId,
    SeriesRules,
)

# Moment names, as the CLI's ``deadlines --json`` and the engine's jobs show them.
CONCEPT_AGENDA = "concept_agenda"
ANNOUNCE = "announce"
FOLDER = "folder"
MEETING_REMINDER = "reminder:meeting"
AGREEMENT_REMINDER = "agreement_reminder"
AGREEMENT_OVERDUE = "agreement_overdue"

# Afspraak reminders and overdue reports go out at this local time, not at midnight.
AGREEMENT_NOTICE_TIME = time(9, 0)


def reminder_name(kind: Kind) -> str:
    """The name of a reminder before a submission deadline, e.g. ``reminder:stuk``."""
    return f"reminder:{kind.value}"


def utc(instant: datetime) -> datetime:
    """``instant`` in UTC, for comparing and sorting.

    Python compares two datetimes of the same zone by wall-clock time, ignoring
    ``fold``, which misorders instants in the autumn's repeated hour.
    """
    return instant.astimezone(UTC)


def localize(naive: datetime, tz: ZoneInfo) -> datetime:
    """Attach ``tz`` to a local wall-clock time, resolving DST gaps and overlaps.

    An ambiguous time (autumn) takes its first occurrence (fold=0); a time in the
    spring gap is read with the offset before the gap and normalised through UTC,
    so 02:30 on the spring day becomes 03:30 summer time.
    """
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC).astimezone(tz)


def apply_offset(instant: datetime, offset: Offset, tz: ZoneInfo) -> datetime:
    """The moment ``offset`` before ``instant``, in ``tz``.

    ``Nd`` is the same local wall-clock time N calendar days earlier; ``Nh`` is
    exactly N hours of elapsed time earlier.
    """
    if offset.unit is OffsetUnit.HOURS:
        # Through UTC: aware datetime arithmetic in one zone is wall-clock arithmetic.
        return (instant.astimezone(UTC) - timedelta(hours=offset.amount)).astimezone(tz)
    local = instant.astimezone(tz)
    if offset.amount == 0:
        return local
    return localize(local.replace(tzinfo=None) - timedelta(days=offset.amount), tz)


def deadline(meeting: Meeting, kind: Kind, rules: SeriesRules, tz: ZoneInfo) -> datetime:
    """Until when ``kind`` can be submitted for ``meeting`` (on time at the instant itself).

    A kind without a configured deadline can be submitted until the meeting starts.
    """
    offset = rules.deadlines.get(kind)
    if offset is None:
        return meeting.start.astimezone(tz)
    return apply_offset(meeting.start, offset, tz)


@dataclass(frozen=True, slots=True)
class Moment:
    """A point in time a meeting's rules act on (a deadline, a package, a reminder).

    ``offset`` is the span that produced ``at``: before the meeting start, or for
    ``reminder:<kind>`` before that kind's deadline.
    """

    meeting: MeetingId
    series: SeriesId
    name: str
    at: datetime
    offset: Offset

    @property
    def key(self) -> str:
        """A stable unique key, ``<meeting>/<name>/<offset>``, e.g.
        ``wijkalliantie-2027-04-06/reminder:stuk/7d``.

        It does not contain ``at``: when a meeting moves, its moments keep their
        keys and only their instants change. A changed offset gives a new key.
        """
        return f"{self.meeting}/{self.name}/{self.offset}"


def moments(meeting: Meeting, rules: SeriesRules, tz: ZoneInfo) -> list[Moment]:
    """Every moment of ``meeting`` under ``rules``, sorted by time; none if cancelled."""
    if meeting.cancelled:
        return []
    found = [
        Moment(meeting.id, meeting.series, name, at, offset)
        for name, at, offset in _meeting_moments(meeting, rules, tz)
    ]
    return sorted(found, key=lambda m: (utc(m.at), m.name, m.key))


def _meeting_moments(
    meeting: Meeting, rules: SeriesRules, tz: ZoneInfo
) -> Iterator[tuple[str, datetime, Offset]]:
    """(name, at, offset) for each configured moment of one meeting."""
    before_start = (
        (CONCEPT_AGENDA, rules.concept_agenda),
        (ANNOUNCE, rules.announce),
        (FOLDER, rules.folder),
        (MEETING_REMINDER, rules.meeting_reminder),
    )
    for name, offset in before_start:
        if offset is not None:
            yield name, apply_offset(meeting.start, offset, tz), offset
    # dict.fromkeys: a reminder configured twice is one reminder (and one key).
    reminders = tuple(dict.fromkeys(rules.deadline_reminders))
    for kind, offset in rules.deadlines.items():
        closes = apply_offset(meeting.start, offset, tz)
        yield kind.value, closes, offset
        for reminder in reminders:
            yield reminder_name(kind), apply_offset(closes, reminder, tz), reminder


def upcoming_moments(
    meetings_by_series: Mapping[SeriesId, Sequence[Meeting]],
    rules_by_series: Mapping[SeriesId, SeriesRules],
    tz: ZoneInfo,
    now: datetime,
) -> list[Moment]:
    """Every moment of every meeting with ``at >= now``, sorted by (at, meeting, name).

    Raises ``KeyError`` for a series that has meetings but no rules.
    """
    found = [
        moment
        for series, meetings in meetings_by_series.items()
        for meeting in meetings
        for moment in moments(meeting, rules_by_series[series], tz)
        if utc(moment.at) >= utc(now)
    ]
    return sorted(found, key=lambda m: (utc(m.at), m.meeting, m.name, m.key))


@dataclass(frozen=True, slots=True)
class AgreementMoment:
    """A reminder to an afspraak's owner, or the report that it is overdue.

    ``offset`` is the reminder's span before the due date; ``None`` for the overdue report.
    """

    agreement: AgreementId
    owner: str
    name: str
    at: datetime
    offset: Offset | None

    @property
    def key(self) -> str:
        """A stable unique key: ``agreement/<id>/<name>[/<offset>]``."""
        base = f"agreement/{self.agreement}/{self.name}"
        return base if self.offset is None else f"{base}/{self.offset}"


def agreement_due_at(due: date, tz: ZoneInfo) -> datetime:
    """The instant an afspraak due on ``due`` becomes overdue: the start of the next local day."""
    return localize(datetime.combine(due + timedelta(days=1), time()), tz)


def agreement_moments(
    agreement: Agreement, reminders: Sequence[Offset], tz: ZoneInfo
) -> list[AgreementMoment]:
    """Reminders before an open afspraak is due, and its overdue report, sorted by time.

    A due date D means "done during day D". A day reminder ``Nd`` goes out at
    09:00 local on D-N; an hour reminder ``Nh`` exactly N hours before the
    start of D+1; the overdue report at 09:00 local on D+1. Closed afspraken
    (done, or closed with a motivation) have no moments.
    """
    if agreement.status is not AgreementStatus.OPEN:
        return []
    found = [
        AgreementMoment(
            agreement.id, agreement.owner, AGREEMENT_REMINDER, _reminder_at(agreement.due, r, tz), r
        )
        for r in dict.fromkeys(reminders)
    ]
    overdue_at = _notice_at(agreement.due + timedelta(days=1), tz)
    found.append(
        AgreementMoment(agreement.id, agreement.owner, AGREEMENT_OVERDUE, overdue_at, None)
    )
    return sorted(found, key=lambda m: (utc(m.at), m.key))


def _reminder_at(due: date, reminder: Offset, tz: ZoneInfo) -> datetime:
    if reminder.unit is OffsetUnit.DAYS:
        return _notice_at(due - timedelta(days=reminder.amount), tz)
    return apply_offset(agreement_due_at(due, tz), reminder, tz)


def _notice_at(day: date, tz: ZoneInfo) -> datetime:
    return localize(datetime.combine(day, AGREEMENT_NOTICE_TIME), tz)
