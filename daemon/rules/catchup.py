"""Catch-up: whether a due job still serves its purpose when it fires, possibly late.

The one place where each kind of job states its policy. The scheduler asks
``decide(job, subject, now)`` for every due job, on time or after downtime; a
``Skip`` is recorded with its reason, so ``wijkbode schedule`` shows why a
reminder never went out. A job on time takes the same path as a late one, so
"late" needs no special case: a policy only asks whether sending *now* helps.

One question comes before every policy: was the job's moment already past
when its subject came to exist? A reminder "7 days before" of an afspraak due
in 3 days, or of a meeting planned at short notice, would go out the moment
the subject is made, right beside its confirmation or announcement, and tell
nothing new: it is skipped and recorded. What such a subject does get is its
own short-notice rule: an announcement goes out at once saying it is short
notice, and a package or agenda goes out late rather than never.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from daemon.model import Agreement, AgreementStatus, Kind, Meeting
from daemon.rules.moments import (
    AGREEMENT_OVERDUE,
    AGREEMENT_REMINDER,
    ANNOUNCE,
    CONCEPT_AGENDA,
    FOLDER,
    MEETING_REMINDER,
)

# The scheduler's own moments, beside those of daemon.rules.moments: a meeting's
# audiences hear that it was cancelled, moved, or goes ahead after all.
CANCELLED_NOTICE = "cancelled_notice"
MOVED_NOTICE = "moved_notice"
REINSTATED_NOTICE = "reinstated_notice"
NOTICES = (CANCELLED_NOTICE, MOVED_NOTICE, REINSTATED_NOTICE)

DEADLINE_REMINDER_PREFIX = "reminder:"


class Job(Protocol):
    """What a policy reads of a stored job (``daemon.store.engine.Job`` has it)."""

    @property
    def moment(self) -> str: ...

    @property
    def target_at(self) -> datetime: ...

    @property
    def due_at(self) -> datetime: ...

    @property
    def created_at(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class Fire:
    """Send the job's effects now."""


@dataclass(frozen=True, slots=True)
class Skip:
    """Do not send; ``reason`` is recorded on the job (Dutch, then English)."""

    reason: str


Decision = Fire | Skip
Subject = Meeting | Agreement | None
Policy = Callable[[Job, Subject, datetime], Decision]

_STARTED = Skip("de vergadering is al begonnen (the meeting has already started)")
_CANCELLED = Skip("de vergadering is afgelast (the meeting is cancelled)")
_NOT_CANCELLED = Skip("de vergadering gaat toch door (the meeting is not cancelled)")
_NO_MEETING = Skip("de vergadering bestaat niet meer (the meeting no longer exists)")
_DEADLINE_PASSED = Skip("de termijn is al verstreken (the deadline has passed)")
_NO_AGREEMENT = Skip("de afspraak bestaat niet meer (the agreement no longer exists)")
_CLOSED = Skip("de afspraak is al gesloten (the agreement is already closed)")
_OVERDUE = Skip("de afspraak is al over tijd (the agreement is already overdue)")
_BEFORE_SUBJECT = Skip(
    "het moment was al voorbij toen het onderwerp ontstond"
    " (the moment had passed before its subject existed)"
)


def _meeting_ahead(job: Job, subject: Subject, now: datetime) -> Decision:
    """Useful while the meeting is planned and has not started.

    An announcement 28 days ahead missed by a day still goes out, and says
    nothing odd; a package or concept agenda goes out late rather than never.
    """
    if not isinstance(subject, Meeting):
        return _NO_MEETING
    if subject.cancelled:
        return _CANCELLED
    if now >= subject.start:
        return _STARTED
    return Fire()


def _before_deadline(job: Job, subject: Subject, now: datetime) -> Decision:
    """A reminder of a submission deadline is pointless once the deadline passed."""
    decision = _meeting_ahead(job, subject, now)
    if isinstance(decision, Skip):
        return decision
    return _DEADLINE_PASSED if now >= job.target_at else Fire()


def _cancellation_ahead(job: Job, subject: Subject, now: datetime) -> Decision:
    """Tell of a cancellation until the date it would have taken place."""
    if not isinstance(subject, Meeting):
        return _NO_MEETING
    if not subject.cancelled:
        return _NOT_CANCELLED
    return _STARTED if now >= subject.start else Fire()


def _agreement_open(subject: Subject) -> Skip | None:
    if not isinstance(subject, Agreement):
        return _NO_AGREEMENT
    if subject.status is not AgreementStatus.OPEN:
        return _CLOSED
    return None


def _agreement_not_due(job: Job, subject: Subject, now: datetime) -> Decision:
    """Remind an owner only before the afspraak is due; after that the overdue report speaks."""
    closed = _agreement_open(subject)
    if closed is not None:
        return closed
    return _OVERDUE if now >= job.target_at else Fire()


def _agreement_still_open(job: Job, subject: Subject, now: datetime) -> Decision:
    """ "Afspraak = afspraak": an open afspraak past its due date is always reported, once."""
    closed = _agreement_open(subject)
    return Fire() if closed is None else closed


POLICIES: Mapping[str, Policy] = {
    ANNOUNCE: _meeting_ahead,
    FOLDER: _meeting_ahead,
    CONCEPT_AGENDA: _meeting_ahead,
    MEETING_REMINDER: _meeting_ahead,
    # A deadline moment sends its package (agenda, stukken, addendum): late beats never.
    **{kind.value: _meeting_ahead for kind in Kind},
    MOVED_NOTICE: _meeting_ahead,
    REINSTATED_NOTICE: _meeting_ahead,
    CANCELLED_NOTICE: _cancellation_ahead,
    AGREEMENT_REMINDER: _agreement_not_due,
    AGREEMENT_OVERDUE: _agreement_still_open,
}


def policy_for(moment: str) -> Policy:
    """The policy of a moment name; ``reminder:<kind>`` share the deadline policy."""
    policy = POLICIES.get(moment)
    if policy is not None:
        return policy
    if moment.startswith(DEADLINE_REMINDER_PREFIX):
        return _before_deadline
    raise KeyError(f"no catch-up policy for moment {moment!r}")


def decide(job: Job, subject: Subject, now: datetime) -> Decision:
    """Whether ``job`` (due at or before ``now``) should fire now."""
    if _is_reminder(job.moment) and job.due_at < _existed_since(job, subject):
        return _BEFORE_SUBJECT
    return policy_for(job.moment)(job, subject, now)


def _is_reminder(moment: str) -> bool:
    """A moment that only reminds of something ahead (a deadline, a meeting, an afspraak)."""
    return moment == AGREEMENT_REMINDER or moment.startswith(DEADLINE_REMINDER_PREFIX)


def _existed_since(job: Job, subject: Subject) -> datetime:
    """Since when the subject exists: an afspraak since it was made; a meeting since
    Wijkbode planned the job (a meeting came to exist for it when it entered the plan)."""
    if isinstance(subject, Agreement):
        return subject.created_at
    return job.created_at
