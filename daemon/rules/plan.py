"""A series' yearly plan (jaarplanning) and its expansion into meetings.

The plan is explicit dates and/or an RFC 5545 RRULE, with exceptions: dates
dropped from the plan (never planned), cancelled meetings (planned, then
called off: they stay visible and are announced as cancelled) and moved
meetings (they keep the id of the date the plan first gave them).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrule, rruleset, rrulestr

from daemon.model import Meeting, MeetingStatus, Series, meeting_id_for
from daemon.rules.moments import localize, utc


@dataclass(frozen=True, slots=True)
class MovedMeeting:
    planned_on: date  # the date the plan gave it; its id keeps this date
    start: datetime  # the new start, timezone-aware
    location: str | None = None


@dataclass(frozen=True, slots=True)
class PlanSpec:
    """What the configuration says about one series' meetings."""

    first_start: datetime | None  # DTSTART for ``rrule``, timezone-aware local time
    rrule: str | None  # an RRULE value such as "FREQ=MONTHLY;BYDAY=2TU;UNTIL=20271231"
    dates: tuple[datetime, ...]  # explicit meeting starts, timezone-aware
    exdates: tuple[date, ...]  # taken out of the plan: no meeting at all
    cancelled: tuple[date, ...]  # planned, then cancelled
    moved: tuple[MovedMeeting, ...]


# A plan giving more meetings than this is a configuration mistake (say FREQ=HOURLY).
MAX_MEETINGS = 2000

# How far an RRULE without UNTIL or COUNT is expanded when no horizon is given.
DEFAULT_HORIZON = relativedelta(years=2)

_BOUNDED = re.compile(r"\b(UNTIL|COUNT)=", re.IGNORECASE)
_UNTIL_UTC = re.compile(r"\bUNTIL=(\d{8}T\d{6})Z", re.IGNORECASE)


def expand_plan(
    series: Series, plan: PlanSpec, tz: ZoneInfo, *, horizon_end: date | None = None
) -> list[Meeting]:
    """The meetings ``plan`` gives for ``series``, sorted by start.

    RRULE occurrences keep their local wall-clock time across DST (19:30 stays
    19:30). An RRULE without UNTIL or COUNT is expanded up to ``horizon_end``
    (inclusive; default two years after ``first_start``). One meeting per day:
    the same start from the RRULE and ``dates`` counts once. Raises
    ``ValueError`` with a readable (Dutch, then English) reason for an invalid
    RRULE, a naive time, or an exception date that is not in the plan.
    """
    rule = _parse_rule(plan, tz)
    starts = _explicit_starts(plan.dates, tz)
    if rule is not None:
        horizon = horizon_end or _default_horizon(plan, tz)
        _merge(starts, _rule_starts(rule, plan, tz, horizon))
    for day in plan.exdates:
        starts.pop(day, None)
    _check_exceptions(plan, rule, tz)
    moved = {m.planned_on: m for m in plan.moved}
    meetings = [
        _meeting(series, day, start, tz, day in plan.cancelled, moved.get(day))
        for day, start in starts.items()
    ]
    return sorted(meetings, key=lambda m: (utc(m.start), m.id))


def _parse_rule(plan: PlanSpec, tz: ZoneInfo) -> rrule | rruleset | None:
    """The plan's RRULE anchored at ``first_start`` as a naive local time, or ``None``."""
    if plan.rrule is None:
        return None
    if plan.first_start is None:
        raise ValueError(
            "een RRULE heeft een eerste begintijd nodig (an RRULE needs a first start)"
        )
    dtstart = _aware(plan.first_start, "first_start").astimezone(tz).replace(tzinfo=None)
    text = _until_to_local(plan.rrule, tz)
    try:
        # Naive local occurrences, localised one by one below, keep 19:30 at 19:30.
        return rrulestr(text, dtstart=dtstart)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"ongeldige RRULE {plan.rrule!r}: {error} (invalid RRULE {plan.rrule!r}: {error})"
        ) from error


def _until_to_local(text: str, tz: ZoneInfo) -> str:
    """Rewrite a UTC ``UNTIL=...Z`` (as RFC 5545 asks) to local time, for a local DTSTART."""

    def local(match: re.Match[str]) -> str:
        utc = datetime.strptime(match[1], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        return f"UNTIL={utc.astimezone(tz):%Y%m%dT%H%M%S}"

    return _UNTIL_UTC.sub(local, text)


def _default_horizon(plan: PlanSpec, tz: ZoneInfo) -> date:
    assert plan.first_start is not None  # checked by _parse_rule
    first: date = plan.first_start.astimezone(tz).date()
    return first + DEFAULT_HORIZON


def _rule_starts(
    rule: rrule | rruleset, plan: PlanSpec, tz: ZoneInfo, horizon: date
) -> list[datetime]:
    """The rule's starts, localised; an unbounded rule stops after ``horizon``."""
    occurrences: Iterable[datetime] = rule
    if not _BOUNDED.search(plan.rrule or ""):
        occurrences = itertools.takewhile(lambda dt: dt.date() <= horizon, occurrences)
    starts = [localize(naive, tz) for naive in itertools.islice(occurrences, MAX_MEETINGS + 1)]
    if len(starts) > MAX_MEETINGS:
        raise ValueError(
            f"de RRULE {plan.rrule!r} geeft meer dan {MAX_MEETINGS} vergaderingen "
            f"(the RRULE gives more than {MAX_MEETINGS} meetings)"
        )
    return starts


def _explicit_starts(dates: Iterable[datetime], tz: ZoneInfo) -> dict[date, datetime]:
    starts: dict[date, datetime] = {}
    _merge(starts, (_aware(start, "dates").astimezone(tz) for start in dates))
    return starts


def _merge(starts: dict[date, datetime], more: Iterable[datetime]) -> None:
    """Add ``more`` by local date; the same start twice is one meeting, two starts a conflict."""
    for start in more:
        day = start.date()
        known = starts.setdefault(day, start)
        if utc(known) != utc(start):
            raise ValueError(
                f"twee vergaderingen op {day}: {known:%H:%M} en {start:%H:%M}; "
                f"gebruik 'moved' om een tijd te verzetten "
                f"(two meetings on {day}; use 'moved' to change a meeting's time)"
            )


def _check_exceptions(plan: PlanSpec, rule: rrule | rruleset | None, tz: ZoneInfo) -> None:
    """Every cancelled or moved date must be a date the plan gives (beyond the horizon too)."""
    explicit = {_aware(start, "dates").astimezone(tz).date() for start in plan.dates}

    def in_plan(day: date) -> bool:
        if day in plan.exdates:
            return False
        return day in explicit or (rule is not None and _rule_has(rule, day))

    for what, days in (
        ("cancelled", plan.cancelled),
        ("moved", [m.planned_on for m in plan.moved]),
    ):
        for day in days:
            if not in_plan(day):
                raise ValueError(
                    f"{what}: {day} staat niet in de jaarplanning "
                    f"({what}: {day} is not a date of the plan)"
                )
    both = set(plan.cancelled) & {m.planned_on for m in plan.moved}
    if both:
        day = min(both)
        raise ValueError(f"{day} is zowel afgelast als verzet ({day} is both cancelled and moved)")


def _rule_has(rule: rrule | rruleset, day: date) -> bool:
    found = rule.after(datetime.combine(day, time.min), inc=True)
    return found is not None and found.date() == day


def _meeting(
    series: Series,
    planned_on: date,
    start: datetime,
    tz: ZoneInfo,
    cancelled: bool,
    moved: MovedMeeting | None,
) -> Meeting:
    location = series.default_location
    if moved is not None:
        start = _aware(moved.start, "moved").astimezone(tz)
        location = moved.location or location
    return Meeting(
        id=meeting_id_for(series.id, planned_on),
        series=series.id,
        title=series.title,
        start=start,
        # Through UTC: a meeting lasts its duration in elapsed time, DST or not.
        end=(start.astimezone(UTC) + series.default_duration).astimezone(tz),
        location=location,
        status=MeetingStatus.CANCELLED if cancelled else MeetingStatus.PLANNED,
    )


def _aware(value: datetime, key: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{key}: {value.isoformat()} heeft geen tijdzone (has no time zone)")
    return value
