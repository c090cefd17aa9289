"""The feed renderer on any title, place and description: control characters, CRLF
injection attempts, folding edges and huge strings give a calendar the strict ``ical``
parser accepts, with exactly the events given and no property nobody put there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fuzz_settings import FUZZ
from hypothesis import example, given
from hypothesis import strategies as st
from ical.calendar_stream import IcsCalendarStream
from icalendar import Calendar

from connectors.http.ics import FeedInfo, feed_ics
from daemon.model import MeetingId, SeriesId
from daemon.ports.public import PublicMeeting

AMS = ZoneInfo("Europe/Amsterdam")
START = datetime(2027, 4, 6, 17, 30, tzinfo=UTC)
NOW = datetime(2027, 1, 5, 9, 0, tzinfo=UTC)
INJECTIONS = [
    "\r\nATTENDEE:mailto:evil@x.example", "\nEND:VEVENT\nBEGIN:VEVENT\nUID:evil", "\r",
    "\n", "\x00", "\x0b", "\x1b[31m", "\x7f", ";", ",", ":", "\\", "\\n", "\u2028", "\u0085",
    "é", "☃", "😀", "\u202e", "\ud7ff", "\r\n END:VCALENDAR", "\r\n\tX-INJECTED:1",
]  # fmt: skip
TEXT = (
    st.text(max_size=120)
    | st.lists(st.sampled_from(INJECTIONS) | st.text(max_size=5), max_size=30).map("".join)
    | st.tuples(st.sampled_from(INJECTIONS), st.integers(0, 1_000)).map(lambda t: t[0] * t[1])
)
EVENT_PROPERTIES = {
    "UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "LOCATION", "DESCRIPTION", "SEQUENCE",
    "STATUS",
}  # fmt: skip
CALENDAR_PROPERTIES = {
    "PRODID", "VERSION", "CALSCALE", "METHOD", "NAME", "X-WR-CALNAME", "X-WR-TIMEZONE",
    "REFRESH-INTERVAL", "X-PUBLISHED-TTL", "URL", "SOURCE",
}  # fmt: skip


def meeting(n: int, title: str, place: str, description: str, cancelled: bool) -> PublicMeeting:
    return PublicMeeting(
        id=MeetingId(f"m{n}"), series=SeriesId("bewonersbijeenkomst"),
        series_title="Bewonersbijeenkomst", title=title, start=START + timedelta(days=n),
        end=START + timedelta(days=n, hours=2), location=place, cancelled=cancelled,
        moved_from=None, sequence=n, agenda=None, stukken_at=None, deadlines=(),
        submission_address=None, uid=f"m{n}@wijk.test", description=description, changed_at=NOW,
    )  # fmt: skip


def check(meetings: list[PublicMeeting], name: str) -> None:
    body = feed_ics(meetings, FeedInfo(name, AMS, "https://wijk.test/", "https://wijk.test/f.ics"))
    lines = body.split(b"\r\n")
    assert lines[-1] == b""  # every line ends in CRLF, and no bare CR or LF is inside one
    assert all(b"\r" not in line and b"\n" not in line for line in lines)
    assert all(len(line) <= 75 for line in lines)  # folded at 75 octets
    parsed = IcsCalendarStream.calendar_from_ics(body.decode("utf-8"))
    assert [event.uid for event in parsed.events] == [m.uid for m in meetings]
    calendar = Calendar.from_ical(body)
    assert set(calendar.keys()) <= CALENDAR_PROPERTIES
    assert [c.name for c in calendar.subcomponents] == ["VTIMEZONE"] + ["VEVENT"] * len(meetings)
    for event, given_meeting in zip(calendar.walk("VEVENT"), meetings, strict=True):
        assert set(event.keys()) <= EVENT_PROPERTIES
        assert str(event["UID"]) == given_meeting.uid


@FUZZ
@given(st.lists(st.tuples(TEXT, TEXT, TEXT, st.booleans()), max_size=4), TEXT)
@example([("x\r\nATTENDEE:mailto:evil@x.example", "\nEND:VEVENT", "\x00", False)], "a\r\nb")
@example([("é" * 40_000, "😀" * 10_000, "\r\n" * 5_000, True)], "\x00\x7f")
def test_any_titles_and_places(events: list[tuple[str, str, str, bool]], name: str) -> None:
    meetings = [meeting(n, *fields) for n, fields in enumerate(events)]
    check(meetings, name)
