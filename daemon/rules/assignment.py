"""RULES.md's submission rules: which meeting an item belongs to, lateness, decisions.

Pure functions, read next to RULES.md ("Submission kinds and deadlines"). An
item goes to the first meeting whose deadline for its kind it makes; a late
item moves on to the next meeting of the series; cancelled meetings take no
items; with no meeting left the item waits as "not planned yet". Moments and
deadlines live in :mod:`daemon.rules.moments` and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from daemon.model import ItemStatus, Kind, Meeting, MeetingId, SeriesRules
from daemon.rules.moments import (
    AGREEMENT_OVERDUE,
    AGREEMENT_REMINDER,
    ANNOUNCE,
    CONCEPT_AGENDA,
    FOLDER,
    MEETING_REMINDER,
    AgreementMoment,
    Moment,
    agreement_due_at,
    agreement_moments,
    apply_offset,
    deadline,
    moments,
    reminder_name,
    upcoming_moments,
    utc,
)

__all__ = [
    "AGREEMENT_OVERDUE",
    "AGREEMENT_REMINDER",
    "ANNOUNCE",
    "CONCEPT_AGENDA",
    "FOLDER",
    "MEETING_REMINDER",
    "AgreementMoment",
    "Assignment",
    "Moment",
    "agreement_due_at",
    "agreement_moments",
    "apply_offset",
    "assign",
    "deadline",
    "is_decision_ready",
    "is_late",
    "keep_for_discussion",
    "moments",
    "next_meeting",
    "reminder_name",
    "upcoming_moments",
    "utc",
]


@dataclass(frozen=True, slots=True)
class Assignment:
    """Where an item received at some time goes, and what that means for it.

    ``moved_from`` is the meeting the item was meant for when it went elsewhere
    (it missed that meeting's deadline, or that meeting was cancelled).
    ``meeting`` is ``None`` (status ``UNPLANNED``) when no suitable meeting is planned yet.
    """

    meeting: Meeting | None
    late: bool
    decision_ready: bool
    moved_from: Meeting | None
    status: ItemStatus


def next_meeting(meetings: Sequence[Meeting], now: datetime) -> Meeting | None:
    """The first meeting that is not cancelled and starts after ``now``."""
    return next(
        (m for m in _in_order(meetings) if not m.cancelled and utc(m.start) > utc(now)), None
    )


def is_late(
    kind: Kind, received_at: datetime, meeting: Meeting, rules: SeriesRules, tz: ZoneInfo
) -> bool:
    """Whether ``received_at`` misses the deadline for ``kind``; the instant itself is on time."""
    return utc(received_at) > utc(deadline(meeting, kind, rules, tz))


def is_decision_ready(
    kind: Kind, received_at: datetime, meeting: Meeting, rules: SeriesRules, tz: ZoneInfo
) -> bool:
    """The two-week rule: the information was there ``decision_offset`` before the meeting.

    A stuk ter kennisgeving is for information only, so never up for a decision.
    """
    if kind is Kind.TER_KENNISGEVING:
        return False
    return utc(received_at) <= utc(apply_offset(meeting.start, rules.decision_offset, tz))


def assign(
    kind: Kind,
    received_at: datetime,
    meetings: Sequence[Meeting],
    rules: SeriesRules,
    tz: ZoneInfo,
    *,
    target: MeetingId | None = None,
    direct: bool = False,
) -> Assignment:
    """Which meeting of one series an item of ``kind`` received at ``received_at`` goes to.

    The intended meeting is ``target`` (a subject tag or chat command naming it)
    or else the next meeting. An unknown ``target`` is ignored, so a mistyped tag
    files the item as if it had none. ``direct`` (an agendapunt put on the next
    agenda during a meeting by the core group) skips the deadline check; a
    meeting that has already started still takes nothing.
    """
    ordered = _in_order(meetings)
    intended = _intended(ordered, received_at, target)
    if intended is None:
        return _unplanned(late=False, moved_from=None)
    late = False
    for meeting in ordered[ordered.index(intended) :]:
        if meeting.cancelled:
            continue
        if _takes(kind, received_at, meeting, rules, tz, direct=direct):
            return _filed(kind, received_at, meeting, rules, tz, late=late, intended=intended)
        late = True
    return _unplanned(late=late, moved_from=intended)


def keep_for_discussion(original: Meeting) -> Assignment:
    """The core group keeps a late stuk on its original meeting "ter bespreking, geen besluit"."""
    if original.cancelled:
        raise ValueError(
            f"vergadering {original.id} is afgelast (meeting {original.id} is cancelled)"
        )
    return Assignment(
        meeting=original,
        late=True,
        decision_ready=False,
        moved_from=None,
        status=ItemStatus.TER_BESPREKING,
    )


def _takes(
    kind: Kind,
    received_at: datetime,
    meeting: Meeting,
    rules: SeriesRules,
    tz: ZoneInfo,
    *,
    direct: bool,
) -> bool:
    """Whether a non-cancelled meeting takes the item; ``direct`` only needs it not started."""
    if direct:
        return utc(received_at) <= utc(meeting.start)
    return not is_late(kind, received_at, meeting, rules, tz)


def _in_order(meetings: Sequence[Meeting]) -> list[Meeting]:
    return sorted(meetings, key=lambda m: (utc(m.start), m.id))


def _intended(
    ordered: Sequence[Meeting], received_at: datetime, target: MeetingId | None
) -> Meeting | None:
    named = next((m for m in ordered if m.id == target), None) if target else None
    return named or next_meeting(ordered, received_at)


def _filed(
    kind: Kind,
    received_at: datetime,
    meeting: Meeting,
    rules: SeriesRules,
    tz: ZoneInfo,
    *,
    late: bool,
    intended: Meeting,
) -> Assignment:
    # RULES.md: a late item "is marked niet besluitrijp", also where it moves on;
    # the mark records that it missed the two-week rule for its intended meeting.
    return Assignment(
        meeting=meeting,
        late=late,
        decision_ready=not late and is_decision_ready(kind, received_at, meeting, rules, tz),
        moved_from=None if meeting == intended else intended,
        status=ItemStatus.FILED,
    )


def _unplanned(*, late: bool, moved_from: Meeting | None) -> Assignment:
    return Assignment(
        meeting=None,
        late=late,
        decision_ready=False,
        moved_from=moved_from,
        status=ItemStatus.UNPLANNED,
    )
