"""Planning from a shared calendar: matching events to series, tying them to meetings, and
laying the calendar's word over the configured plan (daemon/rules/planning.py), pure."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from daemon.model import Meeting, MeetingId, MeetingStatus, Series, SeriesId, meeting_id_for
from daemon.ports.planning import PlanOverride, PlanSource, PlanState
from daemon.rules.defaults import rules_for
from daemon.rules.planning import SeriesMatcher, apply_overrides, link_meeting, match_series

TZ = ZoneInfo("Europe/Amsterdam")
BB = SeriesId("bewonersbijeenkomst")
KG = SeriesId("kerngroep")
SERIES = {
    sid: Series(sid, title, True, rules_for(sid), timedelta(hours=2), "Buurthuis")
    for sid, title in ((BB, "Bewonersbijeenkomst"), (KG, "Kerngroep"))
}
MATCHERS = (
    SeriesMatcher(BB, ("Bewoners",), "Bewonersbijeenkomst"),
    SeriesMatcher(KG, ("kerngroep",), "Kerngroep"),
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def meeting(series: SeriesId, planned_on: str, start: str, *, cancelled: bool = False) -> Meeting:
    begin = at(start)
    return Meeting(
        id=meeting_id_for(series, date.fromisoformat(planned_on)),
        series=series,
        title=SERIES[series].title,
        start=begin,
        end=begin + timedelta(hours=2),
        location="Buurthuis",
        status=MeetingStatus.CANCELLED if cancelled else MeetingStatus.PLANNED,
    )


def override(
    meeting_id: str,
    start: str,
    *,
    cancelled: bool = False,
    base: PlanState | None = None,
    series: SeriesId = BB,
    uid: str = "ev-1",
    location: str = "",
) -> PlanOverride:
    begin = at(start)
    return PlanOverride(
        meeting=MeetingId(meeting_id),
        series=series,
        source=PlanSource.CALENDAR,
        external_id=uid,
        start=begin,
        end=begin + timedelta(hours=2),
        location=location,
        cancelled=cancelled,
        base=base,
    )


APRIL = meeting(BB, "2027-04-15", "2027-04-15T19:00")
AGREED = PlanState(APRIL.start, False)


# --- matching ------------------------------------------------------------------------


def test_a_category_names_the_series_whatever_its_case_and_the_title() -> None:
    assert match_series("Iets heel anders", ["  BEWONERS "], MATCHERS) == BB


def test_a_category_wins_over_a_title_prefix_of_another_series() -> None:
    assert match_series("Kerngroep voorbereiding", ["Bewoners"], MATCHERS) == BB


def test_a_title_prefix_names_the_series_without_categories() -> None:
    assert match_series("kerngroep (extra)", [], MATCHERS) == KG


def test_the_longest_prefix_is_the_most_specific() -> None:
    matchers = (
        SeriesMatcher(BB, (), "Buurt"),
        SeriesMatcher(KG, (), "Buurt overleg"),
    )
    assert match_series("Buurt overleg maart", [], matchers) == KG
    assert match_series("Buurtfeest", [], matchers) == BB


def test_an_event_of_no_series_plans_nothing() -> None:
    assert match_series("Verjaardag Ans", ["Privé"], MATCHERS) is None
    assert match_series("Bewoners", [], (SeriesMatcher(BB, (), None),)) is None


# --- tying an event to a meeting -------------------------------------------------------


def test_an_event_on_a_configured_meetings_day_is_that_meeting() -> None:
    found = link_meeting(BB, at("2027-04-15T20:00"), [APRIL], set(), TZ)
    assert found == APRIL.id


def test_an_event_on_the_day_the_config_moved_a_meeting_to_is_that_meeting() -> None:
    moved = meeting(BB, "2027-04-15", "2027-04-22T19:00")
    assert link_meeting(BB, at("2027-04-22T19:00"), [moved], set(), TZ) == moved.id


def test_an_event_on_a_new_day_is_a_new_meeting_of_that_day() -> None:
    found = link_meeting(BB, at("2027-06-10T19:00"), [APRIL], set(), TZ)
    assert found == "bewonersbijeenkomst-2027-06-10"


def test_a_second_event_for_a_meeting_already_planned_by_one_plans_nothing() -> None:
    assert link_meeting(BB, at("2027-04-15T19:00"), [APRIL], {APRIL.id}, TZ) is None


def test_another_series_meeting_that_day_is_not_taken() -> None:
    kern = meeting(KG, "2027-04-15", "2027-04-15T19:00")
    assert link_meeting(BB, at("2027-04-15T19:00"), [kern], set(), TZ) == APRIL.id


# --- the calendar's word over the configured plan ----------------------------------------


def test_agreeing_with_the_config_changes_nothing_and_keeps_the_config_as_source() -> None:
    plan = apply_overrides([APRIL], [override(APRIL.id, "2027-04-15T19:00")], SERIES, TZ)
    assert plan.meetings == [APRIL]
    assert plan.source_of(APRIL.id) is PlanSource.CONFIG
    assert plan.conflicts == []
    assert plan.agreed == {APRIL.id: PlanState.of(APRIL)}  # the first agreement is the base


def test_a_move_in_the_calendar_moves_the_meeting_with_the_calendar_as_source() -> None:
    moved = override(APRIL.id, "2027-04-22T19:30", base=AGREED, location="Bibliotheek")
    plan = apply_overrides([APRIL], [moved], SERIES, TZ)
    [meeting_now] = plan.meetings
    assert meeting_now.id == APRIL.id
    assert meeting_now.start == at("2027-04-22T19:30")
    assert meeting_now.location == "Bibliotheek"
    assert plan.source_of(APRIL.id) is PlanSource.CALENDAR
    assert plan.conflicts == []


def test_a_cancellation_in_the_calendar_cancels_the_meeting() -> None:
    gone = override(APRIL.id, "2027-04-15T19:00", cancelled=True, base=AGREED)
    plan = apply_overrides([APRIL], [gone], SERIES, TZ)
    assert [m.status for m in plan.meetings] == [MeetingStatus.CANCELLED]
    assert plan.source_of(APRIL.id) is PlanSource.CALENDAR


def test_a_meeting_only_the_calendar_knows_is_added_with_the_series_defaults() -> None:
    added = override("bewonersbijeenkomst-2027-06-10", "2027-06-10T19:00")
    plan = apply_overrides([APRIL], [added], SERIES, TZ)
    assert [m.id for m in plan.meetings] == [APRIL.id, "bewonersbijeenkomst-2027-06-10"]
    new = plan.meetings[1]
    assert (new.title, new.location, new.series) == ("Bewonersbijeenkomst", "Buurthuis", BB)
    assert plan.source_of(new.id) is PlanSource.CALENDAR


def test_a_calendar_move_the_config_also_made_elsewhere_is_a_conflict_and_the_config_holds() -> (
    None
):
    config_moved = meeting(BB, "2027-04-15", "2027-04-29T19:00")
    calendar_moved = override(APRIL.id, "2027-04-22T19:00", base=AGREED)
    plan = apply_overrides([config_moved], [calendar_moved], SERIES, TZ)
    assert plan.meetings == [config_moved]
    assert plan.source_of(APRIL.id) is PlanSource.CONFIG
    [conflict] = plan.conflicts
    assert conflict.meeting == APRIL.id
    assert conflict.configured == PlanState.of(config_moved)
    assert conflict.proposed == calendar_moved.state


def test_a_date_both_define_differently_from_the_start_is_a_conflict() -> None:
    never_agreed = override(APRIL.id, "2027-04-15T20:00", base=None)
    plan = apply_overrides([APRIL], [never_agreed], SERIES, TZ)
    assert plan.meetings == [APRIL]
    assert len(plan.conflicts) == 1


def test_a_change_only_the_config_made_holds_without_conflict() -> None:
    config_moved = meeting(BB, "2027-04-15", "2027-04-29T19:00")
    calendar_as_agreed = override(APRIL.id, "2027-04-15T19:00", base=AGREED)
    plan = apply_overrides([config_moved], [calendar_as_agreed], SERIES, TZ)
    assert plan.meetings == [config_moved]
    assert plan.conflicts == []


def test_when_the_config_follows_the_calendar_they_agree_again_on_the_new_state() -> None:
    config_moved = meeting(BB, "2027-04-15", "2027-04-22T19:00")
    calendar_moved = override(APRIL.id, "2027-04-22T19:00", base=AGREED)
    plan = apply_overrides([config_moved], [calendar_moved], SERIES, TZ)
    assert plan.conflicts == []
    assert plan.agreed == {APRIL.id: PlanState.of(config_moved)}
    assert plan.source_of(APRIL.id) is PlanSource.CONFIG


def test_a_calendar_meeting_on_a_day_the_config_holds_another_is_a_conflict() -> None:
    may = meeting(BB, "2027-05-20", "2027-05-20T19:00")
    onto_may = override(APRIL.id, "2027-05-20T20:00", base=AGREED)
    plan = apply_overrides([APRIL, may], [onto_may], SERIES, TZ)
    assert plan.meetings == [APRIL, may]  # the config holds: no two meetings on one day
    [conflict] = plan.conflicts
    assert conflict.meeting == APRIL.id
    assert conflict.configured == PlanState.of(may)


def test_the_same_conflict_has_the_same_key_and_another_one_another() -> None:
    config_moved = meeting(BB, "2027-04-15", "2027-04-29T19:00")
    first = apply_overrides(
        [config_moved], [override(APRIL.id, "2027-04-22T19:00", base=AGREED)], SERIES, TZ
    )
    again = apply_overrides(
        [config_moved], [override(APRIL.id, "2027-04-22T19:00", base=AGREED)], SERIES, TZ
    )
    other = apply_overrides(
        [config_moved], [override(APRIL.id, "2027-04-23T19:00", base=AGREED)], SERIES, TZ
    )
    assert first.conflicts[0].key == again.conflicts[0].key
    assert first.conflicts[0].key != other.conflicts[0].key


def test_an_override_of_a_series_no_longer_configured_plans_nothing() -> None:
    stray = override("oud-2027-06-10", "2027-06-10T19:00", series=SeriesId("oud"))
    plan = apply_overrides([APRIL], [stray], SERIES, TZ)
    assert plan.meetings == [APRIL]
    assert plan.sources == {}
