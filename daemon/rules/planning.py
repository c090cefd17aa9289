"""Planning from a shared calendar: the series an event plans, and its word against the config.

Pure. The core group keeps its yearly plan in a shared calendar as well as in
the configuration. An event there is matched to a series by its CATEGORIES or
a title prefix (:func:`match_series`), then tied to one meeting for good
(:func:`link_meeting`): the configured meeting on that day, or a new meeting
the calendar adds. What the calendar says about that meeting is a
:class:`PlanOverride` with its source; :func:`apply_overrides` lays the
overrides over the configured plan as a three-way merge against the last state
both sides agreed on (``base``):

- both say the same: nothing to do (they agree, and that becomes the base);
- only the calendar changed since they agreed: the calendar's word holds
  (a move, a cancellation, a reinstatement), with the calendar as source;
- only the configuration changed since: the configuration holds;
- both changed, differently, or they never agreed (a date both define
  differently): a :class:`Conflict`. The configuration holds until a person
  resolves it, and the conflict is reported, never settled silently.

A meeting the configuration does not know is the calendar's alone.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from daemon.model import Meeting, MeetingId, MeetingStatus, Series, SeriesId, meeting_id_for
from daemon.ports.planning import PlanOverride, PlanSource, PlanState

__all__ = [
    "Conflict",
    "EffectivePlan",
    "PlanOverride",
    "PlanSource",
    "PlanState",
    "SeriesMatcher",
    "apply_overrides",
    "link_meeting",
    "match_series",
]


@dataclass(frozen=True, slots=True)
class SeriesMatcher:
    """How an event of the planning calendar names a series (``[caldav.planning.<id>]``)."""

    series: SeriesId
    categories: tuple[str, ...]  # any one of these CATEGORIES, compared without case
    title_prefix: str | None  # or a SUMMARY starting with this, compared without case


def match_series(
    summary: str, categories: Sequence[str], matchers: Sequence[SeriesMatcher]
) -> SeriesId | None:
    """The series an event plans: a category first, else the longest title prefix.

    Categories are the deliberate choice (a prefix may be a word of an
    ordinary title), so they win; among prefixes the longest is the most
    specific ("Kerngroep extra" before "Kerngroep"). Ties go to the first
    series in the configuration. ``None``: not a meeting of any series.
    """
    wanted = {category.strip().casefold() for category in categories if category.strip()}
    for matcher in matchers:
        if wanted & {category.strip().casefold() for category in matcher.categories}:
            return matcher.series
    title = summary.strip().casefold()
    best: tuple[int, SeriesId] | None = None
    for matcher in matchers:
        prefix = (matcher.title_prefix or "").strip().casefold()
        if prefix and title.startswith(prefix) and (best is None or len(prefix) > best[0]):
            best = (len(prefix), matcher.series)
    return None if best is None else best[1]


@dataclass(frozen=True, slots=True)
class Conflict:
    """The configuration and another source say different things about one meeting.

    ``configured`` is ``None`` when the other source plans a meeting on a day the
    configuration has another meeting of the series (two meetings on one day).
    """

    meeting: MeetingId
    series: SeriesId
    source: PlanSource
    external_id: str
    configured: PlanState | None
    proposed: PlanState

    @property
    def key(self) -> str:
        """The same conflict always has the same key (it is reported once)."""
        configured = "-" if self.configured is None else _state_key(self.configured)
        return f"{self.meeting}/{self.source.value}/{configured}/{_state_key(self.proposed)}"


@dataclass(slots=True)
class EffectivePlan:
    """The configured plan with the overrides that hold laid over it."""

    meetings: list[Meeting]
    sources: dict[MeetingId, PlanSource] = field(default_factory=dict)  # not from the config
    conflicts: list[Conflict] = field(default_factory=list)
    agreed: dict[MeetingId, PlanState] = field(default_factory=dict)  # new bases to keep

    def source_of(self, meeting: MeetingId) -> PlanSource:
        return self.sources.get(meeting, PlanSource.CONFIG)


def link_meeting(
    series: SeriesId,
    start: datetime,
    configured: Sequence[Meeting],
    taken: Collection[MeetingId],
    tz: ZoneInfo,
) -> MeetingId | None:
    """The meeting an event of ``series`` starting at ``start`` plans, chosen once.

    The configured meeting held on that day, else the one the yearly plan gave
    that day (the configuration moved it elsewhere; the two will conflict),
    else a new meeting with the id of that day. ``None`` when another event
    already plans that meeting (two events for one meeting).
    """
    day = start.astimezone(tz).date()
    own = [m for m in configured if m.series == series and m.id not in taken]
    held = next((m for m in own if m.start.astimezone(tz).date() == day), None)
    if held is not None:
        return held.id
    planned = meeting_id_for(series, day)
    return None if planned in taken else planned


def apply_overrides(
    configured: Sequence[Meeting],
    overrides: Sequence[PlanOverride],
    series: Mapping[SeriesId, Series],
    tz: ZoneInfo,
) -> EffectivePlan:
    """Lay ``overrides`` over the ``configured`` meetings (see the module docstring)."""
    plan = EffectivePlan(meetings=[])
    by_id: dict[MeetingId, Meeting] = {m.id: m for m in configured}
    for override in sorted(overrides, key=lambda o: (o.meeting, o.external_id)):
        entry = series.get(override.series)
        if entry is None:
            continue  # a series taken out of the configuration plans nothing any more
        meeting = by_id.get(override.meeting)
        if meeting is None:
            by_id[override.meeting] = _as_meeting(override, entry, None, tz)
            plan.sources[override.meeting] = override.source
            continue
        configured_state = PlanState.of(meeting)
        if override.state.same(configured_state):
            if not configured_state.same(override.base):
                plan.agreed[override.meeting] = configured_state
        elif configured_state.same(override.base):
            by_id[override.meeting] = _as_meeting(override, entry, meeting, tz)
            plan.sources[override.meeting] = override.source
        elif not override.state.same(override.base):
            plan.conflicts.append(
                Conflict(
                    override.meeting,
                    override.series,
                    override.source,
                    override.external_id,
                    configured_state,
                    override.state,
                )
            )
    _drop_second_meetings_on_a_day(by_id, plan, configured, overrides, tz)
    plan.meetings = sorted(by_id.values(), key=lambda m: (m.start.astimezone(UTC), m.id))
    return plan


def _as_meeting(
    override: PlanOverride, series: Series, meeting: Meeting | None, tz: ZoneInfo
) -> Meeting:
    """The meeting as ``override`` has it; a configured ``meeting`` keeps its id and title."""
    start = override.start.astimezone(tz)
    end = override.end.astimezone(tz)
    if end <= start:
        end = (start.astimezone(UTC) + series.default_duration).astimezone(tz)
    base = meeting or Meeting(
        id=override.meeting,
        series=series.id,
        title=series.title,
        start=start,
        end=end,
        location=series.default_location,
    )
    status = MeetingStatus.CANCELLED if override.cancelled else MeetingStatus.PLANNED
    return replace(
        base,
        start=start,
        end=end,
        location=override.location.strip() or base.location,
        status=status,
    )


def _drop_second_meetings_on_a_day(
    by_id: dict[MeetingId, Meeting],
    plan: EffectivePlan,
    configured: Sequence[Meeting],
    overrides: Sequence[PlanOverride],
    tz: ZoneInfo,
) -> None:
    """A source's meeting on a day the configuration holds another meeting of the
    series (both define that date, differently): the configured one holds."""
    original = {m.id: m for m in configured}
    held: dict[tuple[SeriesId, date], MeetingId] = {}
    for meeting in by_id.values():
        if meeting.id in original and meeting.id not in plan.sources and not meeting.cancelled:
            held[(meeting.series, meeting.start.astimezone(tz).date())] = meeting.id
    by_meeting = {o.meeting: o for o in overrides}
    for meeting_id in list(plan.sources):
        meeting = by_id[meeting_id]
        other = held.get((meeting.series, meeting.start.astimezone(tz).date()))
        if meeting.cancelled or other is None or other == meeting_id:
            continue
        override = by_meeting[meeting_id]
        del plan.sources[meeting_id]
        if meeting_id in original:
            by_id[meeting_id] = original[meeting_id]
        else:
            del by_id[meeting_id]
        plan.conflicts.append(
            Conflict(
                meeting_id,
                meeting.series,
                override.source,
                override.external_id,
                PlanState.of(by_id[other]),
                override.state,
            )
        )


def _state_key(state: PlanState) -> str:
    status = "cancelled" if state.cancelled else "planned"
    return f"{state.start.astimezone(UTC):%Y%m%dT%H%M%SZ}:{status}"
