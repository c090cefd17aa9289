"""The public feed, pure parts: where publication moments go, the iCalendar, conditional answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from aiohttp.test_utils import make_mocked_request
from ical.calendar_stream import IcsCalendarStream
from icalendar import Calendar

from connectors.calendar.ical import build_event
from connectors.http.ics import FeedInfo, feed_ics
from connectors.http.responses import accepts_gzip, not_modified, representation
from daemon.engine.scheduler import EngineSettings, plan_publication_specs
from daemon.model import Meeting, MeetingId, MeetingStatus, Series, SeriesId, SeriesRules
from daemon.ports.outbox import CalendarWrite, ChannelName
from daemon.ports.public import FEED_NAME, PublicMeeting
from daemon.publish.scheduled import Targets, meeting_destinations
from daemon.rules.defaults import BEWONERSBIJEENKOMST, KERNGROEP, WIJKALLIANTIE
from daemon.rules.moments import ANNOUNCE, MEETING_REMINDER
from daemon.store.engine import Job, JobStatus, SubjectType

AMS = ZoneInfo("Europe/Amsterdam")
TARGETS = Targets(core_room="!core:x", feed=FEED_NAME, mail_domain="wijk.test")
NOW = datetime(2027, 1, 5, 9, 0, tzinfo=UTC)
START = datetime(2027, 4, 6, 17, 30, tzinfo=UTC)


def series(sid: str, public: bool, rules: SeriesRules) -> Series:
    return Series(SeriesId(sid), sid.capitalize(), public, rules, timedelta(hours=2), "Buurthuis")


BEWONERS = series("bewonersbijeenkomst", True, BEWONERSBIJEENKOMST)
ALLIANTIE = series("wijkalliantie", True, WIJKALLIANTIE)
KERN = series("kerngroep", False, KERNGROEP)
SETTINGS = EngineSettings(
    tz=AMS, series={s.id: s for s in (BEWONERS, ALLIANTIE, KERN)},
    agreement_reminders=(), targets=TARGETS,
)  # fmt: skip


def meeting(of: Series, status: MeetingStatus = MeetingStatus.PLANNED) -> Meeting:
    return Meeting(
        MeetingId(f"{of.id}-2027-04-06"), of.id, of.title, START, START + timedelta(hours=2),
        "Buurthuis", status,
    )  # fmt: skip


def test_the_announcement_of_a_public_series_goes_to_the_feed_and_nothing_else_does() -> None:
    assert meeting_destinations(ANNOUNCE, BEWONERS, TARGETS)[ChannelName.FEED] == (FEED_NAME,)
    assert ChannelName.FEED not in meeting_destinations(MEETING_REMINDER, BEWONERS, TARGETS)
    assert ChannelName.FEED not in meeting_destinations(ANNOUNCE, KERN, TARGETS)
    assert ChannelName.FEED not in meeting_destinations(ANNOUNCE, BEWONERS, Targets())


def test_a_series_without_an_announcement_is_published_on_the_feed_when_planned() -> None:
    [spec] = plan_publication_specs(meeting(ALLIANTIE), ALLIANTIE, SETTINGS, [], NOW)
    assert (spec.moment, spec.channel, spec.due_at) == (ANNOUNCE, ChannelName.FEED, NOW)
    stored = Job(
        1, spec.key, SubjectType.MEETING, spec.subject_id, ANNOUNCE, ChannelName.FEED,
        NOW, START, START, JobStatus.FIRED, NOW, "", NOW, NOW,
    )  # fmt: skip
    [again] = plan_publication_specs(
        meeting(ALLIANTIE), ALLIANTIE, SETTINGS, [stored], NOW + timedelta(days=3)
    )
    assert again.due_at == NOW  # kept: materialising again changes nothing
    assert plan_publication_specs(meeting(BEWONERS), BEWONERS, SETTINGS, [], NOW) == []
    assert plan_publication_specs(meeting(KERN), KERN, SETTINGS, [], NOW) == []
    cancelled = meeting(ALLIANTIE, MeetingStatus.CANCELLED)
    assert plan_publication_specs(cancelled, ALLIANTIE, SETTINGS, [], NOW) == []


def public(cancelled: bool = False, sequence: int = 0) -> PublicMeeting:
    return PublicMeeting(
        id=MeetingId("bewonersbijeenkomst-2027-04-06"), series=SeriesId("bewonersbijeenkomst"),
        series_title="Bewonersbijeenkomst", title="Bewonersbijeenkomst", start=START,
        end=START + timedelta(hours=2), location="Buurthuis; zaal 1, achter", cancelled=cancelled,
        moved_from=None, sequence=sequence, agenda=None, stukken_at=None, deadlines=(),
        submission_address=None, uid="bewonersbijeenkomst-2027-04-06@wijk.test",
        description="Aankondiging\n\n— English —\nAnnouncement", changed_at=NOW,
    )  # fmt: skip


def test_the_feed_event_is_the_caldav_event() -> None:
    feed = Calendar.from_ical(feed_ics([public()], FeedInfo("Wijkagenda", AMS)))
    [event] = feed.events
    write = CalendarWrite(
        uid="bewonersbijeenkomst-2027-04-06@wijk.test", action="upsert",
        summary="Bewonersbijeenkomst", start=START, end=START + timedelta(hours=2),
        location="Buurthuis; zaal 1, achter",
        description="Aankondiging\n\n— English —\nAnnouncement", sequence=0,
    )  # fmt: skip
    assert event.to_ical() == build_event(write, tz=AMS, stamp=NOW, sequence=0).to_ical()


def test_a_cancelled_meeting_stays_in_the_feed_as_cancelled_and_passes_a_strict_parser() -> None:
    info = FeedInfo("Wijkagenda", AMS, "https://wijk.test/", "https://wijk.test/agenda.ics")
    text = feed_ics([public(cancelled=True, sequence=2)], info).decode()
    [event] = IcsCalendarStream.calendar_from_ics(text).events
    assert (event.status, event.sequence) == ("CANCELLED", 2)
    assert event.summary == "Afgelast / Cancelled: Bewonersbijeenkomst"
    assert event.dtstart == START.astimezone(AMS)
    calendar = Calendar.from_ical(text)
    assert str(calendar["NAME"]) == "Wijkagenda"
    assert str(calendar["METHOD"]) == "PUBLISH"


def test_the_same_content_gives_the_same_bytes_and_tags() -> None:
    body = feed_ics([public()], FeedInfo("Wijkagenda", AMS))
    one = representation(body, "text/calendar", NOW, "public")
    two = representation(
        feed_ics([public()], FeedInfo("Wijkagenda", AMS)), "text/calendar", NOW, "public"
    )
    assert (one.etag, one.gzip_etag, one.gzipped) == (two.etag, two.gzip_etag, two.gzipped)
    assert one.etag != one.gzip_etag
    changed = representation(
        feed_ics([public(sequence=1)], FeedInfo("Wijkagenda", AMS)), "text/calendar", NOW, "public"
    )
    assert changed.etag != one.etag


def test_conditional_requests() -> None:
    rep = representation(b"BEGIN:VCALENDAR", "text/calendar", NOW, "public")

    def asks(**headers: str) -> bool:
        request = make_mocked_request("GET", "/agenda.ics", headers=headers)
        return not_modified(request, rep)

    assert asks(**{"If-None-Match": rep.etag})
    assert asks(**{"If-None-Match": f'"x", W/{rep.gzip_etag}'})
    assert asks(**{"If-None-Match": "*"})
    assert not asks(**{"If-None-Match": '"other"'})
    # If-None-Match decides when present, even if the date would say "not modified".
    assert not asks(
        **{"If-None-Match": '"other"', "If-Modified-Since": "Tue, 05 Jan 2100 09:00:00 GMT"}
    )
    assert asks(**{"If-Modified-Since": "Tue, 05 Jan 2027 09:00:00 GMT"})
    assert not asks(**{"If-Modified-Since": "Tue, 05 Jan 2027 08:59:59 GMT"})
    assert not asks(**{"If-Modified-Since": "not a date"})
    assert not asks()


def test_gzip_is_given_only_when_accepted() -> None:
    assert accepts_gzip("gzip, deflate, br")
    assert accepts_gzip("br;q=1.0, gzip;q=0.8")
    assert accepts_gzip("*")
    assert not accepts_gzip("gzip;q=0")
    assert not accepts_gzip("identity")
    assert not accepts_gzip("")
