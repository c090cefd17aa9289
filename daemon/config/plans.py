"""A series' ``[series.<id>.plan]``: read it into a ``PlanSpec`` and check it by expanding it.

``daemon.rules.plan.expand_plan`` does the expansion and says what is wrong; this
module finds out which key is to blame by expanding the plan piece by piece
(the RRULE alone, then with the dates, then each exception on its own).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from daemon.config import checks
from daemon.config.reader import Table, bilingual
from daemon.model import Series
from daemon.rules.plan import MovedMeeting, PlanSpec, expand_plan

EMPTY_PLAN = PlanSpec(None, None, (), (), (), ())


def read_plan(table: Table | None, tz: ZoneInfo) -> PlanSpec:
    """The plan as written; an absent table is a series with no meetings planned yet."""
    if table is None:
        return EMPTY_PLAN
    start = table.raw("start")
    rrule = table.optional_text("rrule")
    plan = PlanSpec(
        first_start=None if start is None else _local(table, "start", start, tz),
        rrule=rrule,
        dates=tuple(
            _local(table, key, value, tz) for key, value in table.list_of("dates", datetime)
        ),
        exdates=tuple(value for _, value in table.list_of("exdates", date)),
        cancelled=tuple(value for _, value in table.list_of("cancelled", date)),
        moved=tuple(_moved(entry, tz) for entry in table.tables("moved")),
    )
    table.finish()
    _check_shape(table, plan)
    return plan


def check_plan(series: Series, plan: PlanSpec, tz: ZoneInfo, table: Table | None) -> None:
    """Expand the plan once, blaming the first key that makes it fail."""
    if table is None:
        return
    base = replace(plan, exdates=(), cancelled=(), moved=())
    _expand_or_blame(series, replace(base, dates=()), tz, table, "rrule")
    _expand_or_blame(series, base, tz, table, "dates")
    for index, day in enumerate(plan.exdates, start=1):
        _must_be_planned(series, replace(base, cancelled=(day,)), tz, table, f"exdates[{index}]")
    with_exdates = replace(base, exdates=plan.exdates)
    for index, day in enumerate(plan.cancelled, start=1):
        probe = replace(with_exdates, cancelled=(day,))
        _must_be_planned(series, probe, tz, table, f"cancelled[{index}]")
    seen: set[date] = set()
    for index, moved in enumerate(plan.moved, start=1):
        key = f"moved[{index}].from"
        if moved.planned_on in seen:
            raise table.error(key, _twice(moved.planned_on))
        seen.add(moved.planned_on)
        _must_be_planned(series, replace(with_exdates, moved=(moved,)), tz, table, key)
    _expand_or_blame(series, plan, tz, table, "")


def _local(table: Table, key: str, value: object, tz: ZoneInfo) -> datetime:
    moment = table.check_type(key, value, datetime)
    aware: datetime = table.convert(key, moment, lambda m: checks.local_time(m, tz))
    return aware


def _moved(entry: Table, tz: ZoneInfo) -> MovedMeeting:
    planned_on = entry.required("from", date)
    moved = MovedMeeting(
        planned_on=planned_on,
        start=_local(entry, "to", entry.required("to", datetime), tz),
        location=entry.optional_text("location"),
    )
    entry.finish()
    return moved


def _check_shape(table: Table, plan: PlanSpec) -> None:
    if plan.rrule is not None and plan.first_start is None:
        raise table.error(
            "rrule",
            bilingual(
                "een RRULE heeft 'start' nodig: de eerste vergadering als plaatselijke "
                "datum en tijd, bijvoorbeeld start = 2027-01-04T20:00:00",
                "an RRULE needs 'start', the first meeting as a local date-time",
            ),
        )
    if plan.first_start is not None and plan.rrule is None:
        raise table.error(
            "start",
            bilingual(
                "'start' hoort bij 'rrule'; zet losse vergaderingen in 'dates'",
                "'start' belongs to 'rrule'; put single meetings in 'dates'",
            ),
        )


def _expand_or_blame(series: Series, plan: PlanSpec, tz: ZoneInfo, table: Table, key: str) -> None:
    try:
        expand_plan(series, plan, tz)
    except ValueError as error:
        raise table.source.error(table.key(key) if key else table.path, str(error)) from None


def _must_be_planned(series: Series, probe: PlanSpec, tz: ZoneInfo, table: Table, key: str) -> None:
    """``probe`` cancels or moves one date: expanding it fails when that date is not planned."""
    try:
        expand_plan(series, probe, tz)
    except ValueError:
        day = probe.cancelled[0] if probe.cancelled else probe.moved[0].planned_on
        raise table.error(
            key,
            bilingual(
                f"{day} staat niet in de jaarplanning van deze reeks",
                "this date is not a meeting of the plan",
            ),
        ) from None


def _twice(day: date) -> str:
    return bilingual(f"{day} wordt twee keer verzet", "this date is moved twice")
