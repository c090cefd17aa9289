"""The yearly plan (jaarplanning): RRULE and explicit dates with exceptions, into meetings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from daemon.model import MeetingStatus, Series, SeriesId
from daemon.rules import defaults
from daemon.rules.plan import MovedMeeting, PlanSpec, expand_plan

TZ = ZoneInfo("Europe/Amsterdam")
ALLIANCE = Series(
    id=SeriesId("wijkalliantie"),
    title="Wijkalliantie Osdorp De Punt",
    public=False,
    rules=defaults.WIJKALLIANTIE,
    default_duration=timedelta(hours=2),
    default_location="Buurthuis De Punt",
)
SECOND_TUESDAYS = "FREQ=MONTHLY;BYDAY=2TU;UNTIL=20271231T225959Z"


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def plan(
    rrule: str | None = SECOND_TUESDAYS,
    *,
    first_start: str | None = "2027-01-12 19:30",
    dates: tuple[str, ...] = (),
    exdates: tuple[date, ...] = (),
    cancelled: tuple[date, ...] = (),
    moved: tuple[MovedMeeting, ...] = (),
) -> PlanSpec:
    return PlanSpec(
        first_start=local(first_start) if first_start else None,
        rrule=rrule,
        dates=tuple(local(d) for d in dates),
        exdates=exdates,
        cancelled=cancelled,
        moved=moved,
    )


def test_rrule_plan_with_exdate_cancelled_and_moved_meetings() -> None:
    """August dropped, May cancelled, June moved a week on to another place (same id)."""
    spec = plan(
        exdates=(date(2027, 8, 10),),
        cancelled=(date(2027, 5, 11),),
        moved=(MovedMeeting(date(2027, 6, 8), local("2027-06-15 20:00"), "Meeting Point"),),
    )
    found = expand_plan(ALLIANCE, spec, TZ)
    assert [(m.id, m.start.isoformat(), m.status.value, m.location) for m in found] == [
        ("wijkalliantie-2027-01-12", "2027-01-12T19:30:00+01:00", "planned", "Buurthuis De Punt"),
        ("wijkalliantie-2027-02-09", "2027-02-09T19:30:00+01:00", "planned", "Buurthuis De Punt"),
        ("wijkalliantie-2027-03-09", "2027-03-09T19:30:00+01:00", "planned", "Buurthuis De Punt"),
        ("wijkalliantie-2027-04-13", "2027-04-13T19:30:00+02:00", "planned", "Buurthuis De Punt"),
        ("wijkalliantie-2027-05-11", "2027-05-11T19:30:00+02:00", "cancelled", "Buurthuis De Punt"),
        ("wijkalliantie-2027-06-08", "2027-06-15T20:00:00+02:00", "planned", "Meeting Point"),
        ("wijkalliantie-2027-07-13", "2027-07-13T19:30:00+02:00", "planned", "Buurthuis De Punt"),
        ("wijkalliantie-2027-09-14", "2027-09-14T19:30:00+02:00", "planned", "Buurthuis De Punt"),
        ("wijkalliantie-2027-10-12", "2027-10-12T19:30:00+02:00", "planned", "Buurthuis De Punt"),
        ("wijkalliantie-2027-11-09", "2027-11-09T19:30:00+01:00", "planned", "Buurthuis De Punt"),
        ("wijkalliantie-2027-12-14", "2027-12-14T19:30:00+01:00", "planned", "Buurthuis De Punt"),
    ]


def test_rrule_keeps_local_wall_clock_time_across_both_dst_changes() -> None:
    """Weekly on Tuesday 19:30 through the year: always 19:30 local, UTC offset switching."""
    spec = plan("FREQ=WEEKLY;UNTIL=20271231", first_start="2027-01-05 19:30")
    found = expand_plan(ALLIANCE, spec, TZ)
    assert len(found) == 52
    assert {"19:30"} == {m.start.strftime("%H:%M") for m in found}
    by_day = {m.start.date(): m.start.astimezone(UTC).strftime("%H:%M") for m in found}
    assert [
        by_day[date(2027, 3, 23)],
        by_day[date(2027, 3, 30)],
        by_day[date(2027, 10, 26)],
        by_day[date(2027, 11, 2)],
    ] == ["18:30", "17:30", "17:30", "18:30"]


def test_meeting_has_series_title_default_place_and_duration() -> None:
    """end = start + the series' duration; title and place from the series."""
    [first] = expand_plan(ALLIANCE, plan(dates=("2027-03-09 19:30",), rrule=None), TZ)
    assert (
        "Wijkalliantie Osdorp De Punt",
        "Buurthuis De Punt",
        local("2027-03-09 21:30"),
        SeriesId("wijkalliantie"),
    ) == (first.title, first.location, first.end, first.series)


def test_explicit_dates_and_rrule_are_merged_once_per_day() -> None:
    """A date given by the rule and by ``dates`` is one meeting; an extra date is added."""
    spec = plan(
        "FREQ=MONTHLY;BYDAY=2TU;COUNT=3",
        dates=("2027-02-09 19:30", "2027-02-23 19:30"),
    )
    assert [m.id for m in expand_plan(ALLIANCE, spec, TZ)] == [
        "wijkalliantie-2027-01-12",
        "wijkalliantie-2027-02-09",
        "wijkalliantie-2027-02-23",
        "wijkalliantie-2027-03-09",
    ]


def test_two_different_times_on_one_day_is_refused() -> None:
    """Ids are per day: a second time that day must be written as a move."""
    spec = plan("FREQ=MONTHLY;BYDAY=2TU;COUNT=3", dates=("2027-02-09 20:00",))
    with pytest.raises(ValueError, match="two meetings on 2027-02-09"):
        expand_plan(ALLIANCE, spec, TZ)


def test_unbounded_rrule_stops_at_the_horizon() -> None:
    """No UNTIL or COUNT: expanded through ``horizon_end`` (inclusive)."""
    spec = plan("FREQ=MONTHLY;BYDAY=2TU")
    found = expand_plan(ALLIANCE, spec, TZ, horizon_end=date(2027, 3, 9))
    assert [m.start.date().isoformat() for m in found] == ["2027-01-12", "2027-02-09", "2027-03-09"]


def test_unbounded_rrule_defaults_to_two_years() -> None:
    """Without a horizon: through 12 January 2029, two years after the first start."""
    found = expand_plan(ALLIANCE, plan("FREQ=MONTHLY;BYDAY=2TU"), TZ)
    assert (25, date(2029, 1, 9)) == (len(found), found[-1].start.date())


def test_exceptions_beyond_the_horizon_are_accepted_but_not_listed() -> None:
    """A cancelled date the rule gives after the horizon is valid config."""
    spec = plan("FREQ=MONTHLY;BYDAY=2TU", cancelled=(date(2029, 6, 12),))
    assert len(expand_plan(ALLIANCE, spec, TZ, horizon_end=date(2027, 3, 31))) == 3


@pytest.mark.parametrize(
    "rrule",
    ["FREQ=FORTNIGHTLY", "BYDAY=TU", "FREQ=MONTHLY;BYDAY=XX", "nonsense", ""],
)
def test_invalid_rrule_is_a_clear_value_error(rrule: str) -> None:
    """A bad RRULE names itself in the error (config turns it into a ConfigError)."""
    with pytest.raises(ValueError, match="invalid RRULE"):
        expand_plan(ALLIANCE, plan(rrule), TZ)


def test_rrule_without_first_start_is_refused() -> None:
    """An RRULE needs the first meeting's start to count from."""
    with pytest.raises(ValueError, match="needs a first start"):
        expand_plan(ALLIANCE, plan(first_start=None), TZ)


def test_rrule_giving_too_many_meetings_is_refused() -> None:
    """FREQ=HOURLY is a typo, not a meeting plan."""
    with pytest.raises(ValueError, match="more than 2000 meetings"):
        expand_plan(ALLIANCE, plan("FREQ=HOURLY;COUNT=5000"), TZ)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (plan(cancelled=(date(2027, 5, 12),)), "cancelled: 2027-05-12 is not a date of the plan"),
        (
            plan(moved=(MovedMeeting(date(2027, 6, 9), local("2027-06-16 19:30")),)),
            "moved: 2027-06-09 is not a date of the plan",
        ),
        (
            plan(exdates=(date(2027, 5, 11),), cancelled=(date(2027, 5, 11),)),
            "cancelled: 2027-05-11 is not a date of the plan",
        ),
        (
            plan(
                cancelled=(date(2027, 5, 11),),
                moved=(MovedMeeting(date(2027, 5, 11), local("2027-05-18 19:30")),),
            ),
            "both cancelled and moved",
        ),
    ],
)
def test_exception_for_a_date_not_in_the_plan_is_refused(spec: PlanSpec, message: str) -> None:
    """Cancelling or moving a date the plan does not give is a mistake worth naming."""
    with pytest.raises(ValueError, match=message):
        expand_plan(ALLIANCE, spec, TZ)


def test_naive_time_is_refused() -> None:
    """Every time in a plan carries its zone."""
    spec = PlanSpec(None, None, (datetime(2027, 3, 9, 19, 30),), (), (), ())
    with pytest.raises(ValueError, match="has no time zone"):
        expand_plan(ALLIANCE, spec, TZ)


def test_plan_without_meetings_is_empty() -> None:
    """A series with nothing planned yet has no meetings."""
    assert expand_plan(ALLIANCE, plan(None, first_start=None), TZ) == []


def test_utc_until_includes_the_last_local_day() -> None:
    """RFC 5545 UNTIL in UTC (Z) is read in local time: 31 Dec 23:59:59 local still counts."""
    spec = plan("FREQ=WEEKLY;BYDAY=FR;UNTIL=20271231T225959Z", first_start="2027-12-17 19:30")
    assert [m.status for m in expand_plan(ALLIANCE, spec, TZ)] == [MeetingStatus.PLANNED] * 3
