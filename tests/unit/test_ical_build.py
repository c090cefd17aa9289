"""Building the VEVENT of a CalendarWrite (no I/O): local times with TZID, VTIMEZONE, SEQUENCE."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from connectors.calendar.ical import (
    CANCELLED_PREFIX,
    EventFacts,
    StoredEvent,
    build_calendar,
    event_ics,
    object_name,
    sequence_to_write,
    stored_event,
)
from daemon.ports.outbox import CalendarWrite, decode_payload

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
STAMP = datetime(2027, 3, 9, 18, 30, 12, 345678, tzinfo=UTC)
UID = "2027-04-06-bewoners@wijk.test"

# Tue 2027-04-06 19:30 CEST is 17:30 UTC; Tue 2027-03-23 19:30 CET is 18:30 UTC.
SPRING = datetime(2027, 4, 6, 17, 30, tzinfo=UTC)
WINTER = datetime(2027, 3, 23, 18, 30, tzinfo=UTC)


def a_write(**changes: object) -> CalendarWrite:
    write = CalendarWrite(
        uid=UID,
        action="upsert",
        summary="Bewonersbijeenkomst",
        start=SPRING,
        end=SPRING + timedelta(hours=2),
        location="Buurthuis De Linde, Lindenlaan 1",
        description="Aankondiging; welkom, iedereen!\n\n— English —\nAnnouncement",
        sequence=0,
    )
    return replace(write, **changes)  # type: ignore[arg-type]


def ics_of(write: CalendarWrite, sequence: int = 0) -> bytes:
    return event_ics(write, tz=AMSTERDAM, stamp=STAMP, sequence=sequence)


def only_event(ics: bytes) -> dict[str, str]:
    """The VEVENT's content lines, name (with parameters) -> value, unfolded."""
    text = ics.decode().replace("\r\n ", "")
    block = text.split("BEGIN:VEVENT\r\n", 1)[1].split("END:VEVENT", 1)[0]
    return dict(line.split(":", 1) for line in block.splitlines())


def test_start_and_end_are_local_times_with_tzid_in_summer_time() -> None:
    """17:30 UTC on 6 April 2027 is 19:30 in Amsterdam (CEST), written with TZID."""
    event = only_event(ics_of(a_write()))

    assert event["DTSTART;TZID=Europe/Amsterdam"] == "20270406T193000"
    assert event["DTEND;TZID=Europe/Amsterdam"] == "20270406T213000"


def test_winter_time_gives_the_same_wall_clock_for_an_hour_later_utc() -> None:
    """18:30 UTC on 23 March 2027 is also 19:30 in Amsterdam (CET)."""
    event = only_event(ics_of(a_write(start=WINTER, end=WINTER + timedelta(hours=2))))

    assert event["DTSTART;TZID=Europe/Amsterdam"] == "20270323T193000"


def test_times_read_back_are_the_same_instants() -> None:
    """Parsed with icalendar, DTSTART is the payload's instant in Europe/Amsterdam."""
    event = Calendar.from_ical(ics_of(a_write())).events[0]

    assert event.start == SPRING
    assert event.start.tzinfo == AMSTERDAM
    assert event.end == SPRING + timedelta(hours=2)


def test_a_payload_back_from_json_gives_the_same_bytes() -> None:
    """The outbox stores times as ISO text with a fixed offset; the event must not change."""
    end = SPRING + timedelta(hours=2)
    write = a_write(start=SPRING.astimezone(AMSTERDAM), end=end.astimezone(AMSTERDAM))
    decoded = decode_payload(write.to_json())
    assert isinstance(decoded, CalendarWrite)
    assert decoded.start.tzinfo != AMSTERDAM  # a fixed +02:00 offset now

    assert ics_of(decoded) == ics_of(write)


def test_the_same_write_gives_the_same_bytes() -> None:
    """No wall clock and no random ids: a resend is byte for byte the first send."""
    assert ics_of(a_write()) == ics_of(a_write())


def test_dtstamp_is_the_given_stamp_in_utc_whole_seconds() -> None:
    event = only_event(ics_of(a_write()))

    assert event["DTSTAMP"] == "20270309T183012Z"


def test_the_calendar_has_one_vtimezone_of_the_zone_before_the_event() -> None:
    text = ics_of(a_write()).decode()

    assert text.count("BEGIN:VTIMEZONE") == 1
    assert "TZID:Europe/Amsterdam" in text
    assert text.index("BEGIN:VTIMEZONE") < text.index("BEGIN:VEVENT")


def test_vtimezone_has_one_rdate_per_line_and_covers_2027() -> None:
    """A comma list of RDATEs is cut to its first value by Radicale; one per line survives."""
    text = ics_of(a_write()).decode()
    rdates = re.findall(r"^RDATE:(.*)$", text, flags=re.MULTILINE)

    assert rdates
    assert all("," not in value for value in rdates)
    assert "20270328T030000" in [r.strip() for r in rdates]  # CEST starts
    assert "20271031T030000" in [r.strip() for r in rdates]  # CET again


def test_the_vtimezone_offsets_follow_zoneinfo() -> None:
    """icalendar reading our VTIMEZONE back gives the same offsets as zoneinfo."""
    calendar = Calendar.from_ical(ics_of(a_write()))
    tz = calendar.timezones[0].to_tz()
    for moment in (WINTER, SPRING, datetime(2030, 12, 1, 12, tzinfo=UTC)):
        assert moment.astimezone(tz).utcoffset() == moment.astimezone(AMSTERDAM).utcoffset()


def test_the_event_carries_uid_sequence_summary_location_description_status() -> None:
    calendar = Calendar.from_ical(ics_of(a_write(), sequence=3))
    event = calendar.events[0]

    assert str(event["UID"]) == UID
    assert event.sequence == 3
    assert str(event["SUMMARY"]) == "Bewonersbijeenkomst"
    assert str(event["LOCATION"]) == "Buurthuis De Linde, Lindenlaan 1"
    assert str(event["DESCRIPTION"]) == a_write().description
    assert str(event["STATUS"]) == "CONFIRMED"


def test_the_calendar_has_prodid_version_and_no_random_uid() -> None:
    calendar = Calendar.from_ical(ics_of(a_write()))

    assert str(calendar["PRODID"]) == "-//Wijkbode//Wijkbode//NL"
    assert str(calendar["VERSION"]) == "2.0"
    assert "UID" not in calendar


def test_cancel_sets_status_cancelled_and_says_so_in_the_title() -> None:
    event = Calendar.from_ical(ics_of(a_write(action="cancel"))).events[0]

    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["SUMMARY"]) == CANCELLED_PREFIX + "Bewonersbijeenkomst"


def test_empty_location_and_description_are_left_out() -> None:
    event = Calendar.from_ical(ics_of(a_write(location="", description=""))).events[0]

    assert "LOCATION" not in event
    assert "DESCRIPTION" not in event


def test_a_time_without_zone_is_refused() -> None:
    naive = datetime(2027, 4, 6, 19, 30)

    with pytest.raises(ValueError, match="without a time zone"):
        ics_of(a_write(start=naive, end=naive + timedelta(hours=2)))


def test_an_event_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="ends before it starts"):
        ics_of(a_write(end=SPRING - timedelta(hours=1)))


def test_another_zone_is_written_with_its_own_tzid() -> None:
    london = ZoneInfo("Europe/London")
    calendar = build_calendar(a_write(), tz=london, stamp=STAMP, sequence=0)
    text = calendar.to_ical().decode()

    assert "DTSTART;TZID=Europe/London:20270406T183000" in text
    assert "TZID:Europe/London" in text


# --- what the server holds, and what to write ----------------------------------


def test_stored_event_reads_facts_and_sequence_back() -> None:
    stored = stored_event(ics_of(a_write(), sequence=4), UID)

    assert stored == StoredEvent(EventFacts.of_write(a_write(), AMSTERDAM), 4)


def test_stored_event_of_another_uid_is_none() -> None:
    assert stored_event(ics_of(a_write()), "someone-else@example.org") is None


def test_a_new_event_gets_the_payload_sequence() -> None:
    assert sequence_to_write(a_write(sequence=2), AMSTERDAM, None) == 2


def test_what_the_server_already_shows_is_not_written_again() -> None:
    stored = stored_event(ics_of(a_write(), sequence=5), UID)

    assert sequence_to_write(a_write(sequence=0), AMSTERDAM, stored) is None


def test_the_same_instant_in_another_offset_is_no_change() -> None:
    stored = stored_event(ics_of(a_write()), UID)
    shifted = a_write(
        start=SPRING.astimezone(timezone(timedelta(hours=5))),
        end=(SPRING + timedelta(hours=2)).astimezone(timezone(timedelta(hours=5))),
    )

    assert sequence_to_write(shifted, AMSTERDAM, stored) is None


def test_a_move_goes_one_past_the_server_sequence() -> None:
    stored = stored_event(ics_of(a_write(start=WINTER), sequence=2), UID)

    assert sequence_to_write(a_write(sequence=1), AMSTERDAM, stored) == 3


def test_a_payload_sequence_above_the_server_is_kept() -> None:
    stored = stored_event(ics_of(a_write(start=WINTER), sequence=2), UID)

    assert sequence_to_write(a_write(sequence=7), AMSTERDAM, stored) == 7


def test_a_cancel_of_a_shown_event_bumps_the_sequence() -> None:
    stored = stored_event(ics_of(a_write(), sequence=1), UID)

    assert sequence_to_write(a_write(action="cancel", sequence=1), AMSTERDAM, stored) == 2


def test_an_event_without_times_on_the_server_is_rewritten() -> None:
    assert sequence_to_write(a_write(), AMSTERDAM, StoredEvent(None, 0)) == 1


# --- where the event is kept ---------------------------------------------------


def test_the_object_name_is_the_uid_with_at_encoded() -> None:
    """The name caldav minted for events written before, so they are found at it."""
    assert object_name(UID) == "2027-04-06-bewoners%40wijk.test.ics"


@pytest.mark.parametrize(
    ("uid", "name"),
    [
        ("a/b", "a%252Fb.ics"),  # never a second path segment, even once decoded
        ("x y:z?#", "x%20y%3Az%3F%23.ics"),
        ("100%", "100%2525.ics"),
        ("ünï+&;=", "%C3%BCn%C3%AF%2B%26%3B%3D.ics"),
        ("plain_uid-1.2~3", "plain_uid-1.2~3.ics"),
    ],
)
def test_the_object_name_is_one_url_safe_segment(uid: str, name: str) -> None:
    assert name == object_name(uid)


def test_different_uids_get_different_names() -> None:
    uids = ["a/b", "a%2Fb", "a%252Fb", "a%25b", "a%b", "a b", "a%20b", "A B"]

    assert len(uids) == len({object_name(uid) for uid in uids})
