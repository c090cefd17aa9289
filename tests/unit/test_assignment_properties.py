"""Properties of assignment over random plans, rules, kinds and receive times (incl. DST)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.model import (
    ItemStatus,
    Kind,
    Meeting,
    MeetingId,
    MeetingStatus,
    Offset,
    OffsetUnit,
    SeriesId,
    SeriesRules,
)
from daemon.rules import defaults
from daemon.rules.assignment import Assignment, assign, deadline, next_meeting

TZ = ZoneInfo("Europe/Amsterdam")
YEAR_START = datetime(2027, 1, 1, tzinfo=UTC)
DST_CHANGES = [datetime(2027, 3, 28, 1, tzinfo=UTC), datetime(2027, 10, 31, 1, tzinfo=UTC)]
DAY = 24 * 3600

# Local times (the autumn's repeated hour carries fold=1), anywhere in 2027 or near a DST change.
instants = st.one_of(
    st.integers(0, 366 * DAY).map(lambda s: YEAR_START + timedelta(seconds=s)),
    st.tuples(st.sampled_from(DST_CHANGES), st.integers(-40 * DAY, 40 * DAY)).map(
        lambda p: p[0] + timedelta(seconds=p[1])
    ),
).map(lambda t: t.astimezone(TZ))

offsets = st.one_of(
    st.builds(Offset, st.integers(0, 35), st.just(OffsetUnit.DAYS)),
    st.builds(Offset, st.integers(0, 800), st.just(OffsetUnit.HOURS)),
)

rules_strategy = st.builds(
    lambda deadlines, decision: dataclasses.replace(
        defaults.WIJKALLIANTIE, deadlines=deadlines, decision_offset=decision
    ),
    st.dictionaries(st.sampled_from(list(Kind)), offsets),
    offsets,
)


def _plan(starts: list[tuple[datetime, bool]]) -> list[Meeting]:
    return [
        Meeting(
            id=MeetingId(f"m{index:02d}"),
            series=SeriesId("wijkalliantie"),
            title="Wijkalliantie",
            start=start,
            end=start + timedelta(hours=2),
            location="Buurthuis",
            status=MeetingStatus.CANCELLED if cancelled else MeetingStatus.PLANNED,
        )
        for index, (start, cancelled) in enumerate(starts)
    ]


# One meeting in four is cancelled.
meeting_specs = st.tuples(instants, st.sampled_from([False, False, False, True]))
plans = st.lists(meeting_specs, max_size=8).map(_plan)
nonempty_plans = st.lists(meeting_specs, min_size=1, max_size=8).map(_plan)


def position(assignment: Assignment, meetings: Sequence[Meeting]) -> int:
    """The assigned meeting's place in time order; "not planned yet" comes after all."""
    ordered = sorted(meetings, key=lambda m: (m.start.astimezone(UTC), m.id))
    return len(ordered) if assignment.meeting is None else ordered.index(assignment.meeting)


@settings(deadline=None)
@given(plans, rules_strategy, st.sampled_from(list(Kind)), instants, instants)
def test_a_later_receive_time_never_lands_in_an_earlier_meeting(
    meetings: list[Meeting], rules: SeriesRules, kind: Kind, first: datetime, second: datetime
) -> None:
    """Assignment is monotone in the receive time."""
    early, later = sorted((first, second), key=lambda t: t.astimezone(UTC))
    assert position(assign(kind, early, meetings, rules, TZ), meetings) <= position(
        assign(kind, later, meetings, rules, TZ), meetings
    )


@settings(deadline=None)
@given(plans, rules_strategy, st.sampled_from(list(Kind)), instants)
def test_an_assigned_meeting_is_held_later_and_its_deadline_is_met(
    meetings: list[Meeting], rules: SeriesRules, kind: Kind, received: datetime
) -> None:
    """The item makes its meeting's deadline; not late means it got the next meeting."""
    assignment = assign(kind, received, meetings, rules, TZ)
    if assignment.meeting is None:
        assert assignment.status == ItemStatus.UNPLANNED
        return
    held = assignment.meeting
    assert (
        held.cancelled,
        received.astimezone(UTC) <= deadline(held, kind, rules, TZ).astimezone(UTC),
        received.astimezone(UTC) < held.start.astimezone(UTC),
    ) == (False, True, True)
    if not assignment.late:
        assert next_meeting(meetings, received) == held


@settings(deadline=None)
@given(nonempty_plans, rules_strategy, st.sampled_from(list(Kind)), instants, st.data())
def test_a_targeted_item_never_lands_before_its_target(
    meetings: list[Meeting], rules: SeriesRules, kind: Kind, received: datetime, data: st.DataObject
) -> None:
    """A subject tag can move an item later than its target, never earlier."""
    target = data.draw(st.sampled_from(meetings))
    for direct in (False, True):
        assignment = assign(kind, received, meetings, rules, TZ, target=target.id, direct=direct)
        assert position(assignment, meetings) >= position(
            Assignment(target, False, False, None, assignment.status), meetings
        )
