"""The CalDAV outbox channel against the real Radicale: one event per UID, whatever happens."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import secrets
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from caldav.aio import Calendar as DavCalendar
from caldav.aio import Event as DavEvent
from icalendar import Calendar, Event

from connectors.calendar import channel as channel_module
from connectors.calendar.channel import CaldavChannel
from connectors.calendar.connection import resolved
from connectors.calendar.ical import CANCELLED_PREFIX, event_ics, object_name
from daemon.clock import ManualClock
from daemon.config.schema import CaldavConfig
from daemon.config.secret import Secret
from daemon.engine.outbox import Dispatcher
from daemon.errors import PermanentError, TransientError
from daemon.ports.outbox import (
    CalendarWrite,
    ChannelName,
    ChatPost,
    Effect,
    EffectStatus,
    NewEffect,
)
from daemon.store import Store
from harness.ports import LOOPBACK
from harness.radicale import CaldavAccount, RadicaleServer

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
CALENDAR = "Wijkagenda"
UID = "2027-04-06-bewoners@wijk.test"
# Tue 2027-03-23 19:30 CET is 18:30 UTC; Tue 2027-04-06 19:30 CEST is 17:30 UTC.
WINTER = datetime(2027, 3, 23, 18, 30, tzinfo=UTC)
SPRING = datetime(2027, 4, 6, 17, 30, tzinfo=UTC)
WRITTEN_AT = datetime(2027, 2, 23, 18, 30, 5, tzinfo=UTC)

_ids = itertools.count(1)

MakeChannel = Callable[..., CaldavChannel]


def a_write(**changes: object) -> CalendarWrite:
    write = CalendarWrite(
        uid=UID,
        action="upsert",
        summary="Bewonersbijeenkomst",
        start=WINTER,
        end=WINTER + timedelta(hours=2),
        location="Buurthuis De Linde",
        description="Aankondiging: welkom!\n\n— English —\nAnnouncement: welcome!",
        sequence=0,
    )
    return replace(write, **changes)  # type: ignore[arg-type]


def an_effect(write: CalendarWrite, *, created_at: datetime = WRITTEN_AT) -> Effect:
    """An outbox row as the dispatcher hands it over."""
    number = next(_ids)
    return Effect(
        id=number,
        channel=ChannelName.CALDAV,
        destination=CALENDAR,
        key=f"job/{number}/{CALENDAR}",
        payload=write,
        created_at=created_at,
        status=EffectStatus.PENDING,
        attempts=0,
        next_attempt_at=None,
        last_error=None,
        delivered_at=None,
        remote_id=None,
    )


def config_for(
    account: CaldavAccount, tmp_path: Path, *, password: str | None = None
) -> CaldavConfig:
    secret_file = tmp_path / f"caldav-password-{secrets.token_hex(4)}"
    secret_file.write_text((password or account.password) + "\n", encoding="utf-8")
    return CaldavConfig(
        url=account.url,
        calendar=CALENDAR,
        username=account.name,
        password=Secret(where="test: caldav.password", file=secret_file),
    )


@pytest_asyncio.fixture
async def make_channel(caldav_user: CaldavAccount, tmp_path: Path) -> AsyncIterator[MakeChannel]:
    """Channels for this test's fresh Radicale user (``password=``: a wrong one); closed after."""
    made: list[CaldavChannel] = []

    def make(*, password: str | None = None, timeout_seconds: int = 30) -> CaldavChannel:
        config = config_for(caldav_user, tmp_path, password=password)
        channel = CaldavChannel(config, AMSTERDAM, timeout_seconds=timeout_seconds)
        made.append(channel)
        return channel

    yield make
    for channel in made:
        await channel.close()


@pytest.fixture
def channel(make_channel: MakeChannel) -> CaldavChannel:
    return make_channel()


def basic_auth(account: CaldavAccount) -> dict[str, str]:
    token = base64.b64encode(f"{account.name}:{account.password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def http_get(url: str, account: CaldavAccount) -> tuple[int, str, bytes]:
    """A plain GET with basic auth, as a feed reader does: (status, content type, body)."""
    request = urllib.request.Request(url, headers=basic_auth(account))
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.headers["Content-Type"], response.read()


def http_put(url: str, account: CaldavAccount, ics: bytes) -> None:
    """Store ``ics`` at ``url`` unconditionally, as another CalDAV client would."""
    headers = basic_auth(account) | {"Content-Type": "text/calendar; charset=utf-8"}
    request = urllib.request.Request(url, data=ics, method="PUT", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status in (201, 204)


def http_status(url: str, account: CaldavAccount) -> int:
    """The status of a plain GET of ``url`` (404 included)."""
    try:
        return http_get(url, account)[0]
    except urllib.error.HTTPError as failure:
        return failure.code


def http_delete(url: str, account: CaldavAccount) -> None:
    """Remove a collection the way another CalDAV client would."""
    request = urllib.request.Request(url, method="DELETE", headers=basic_auth(account))
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status in (200, 204)


async def feed(channel: CaldavChannel, account: CaldavAccount) -> Calendar:
    """The whole calendar as one ICS, from a plain GET of the collection, parsed."""
    url = await channel.connection.calendar_url()
    status, content_type, body = await asyncio.to_thread(http_get, url, account)
    assert (status, content_type.split(";")[0]) == (200, "text/calendar")
    return Calendar.from_ical(body)


async def events_in(channel: CaldavChannel, account: CaldavAccount) -> list[Event]:
    return list((await feed(channel, account)).events)


async def the_event(channel: CaldavChannel, account: CaldavAccount) -> Event:
    events = await events_in(channel, account)
    assert [str(e["UID"]) for e in events] == [UID]
    return events[0]


async def test_upsert_creates_exactly_one_event(
    channel: CaldavChannel, caldav_user: CaldavAccount
) -> None:
    remote_id = await channel.deliver(an_effect(a_write()))

    event = await the_event(channel, caldav_user)
    assert remote_id == UID
    assert (
        str(event["SUMMARY"]),
        str(event["STATUS"]),
        event.sequence,
    ) == ("Bewonersbijeenkomst", "CONFIRMED", 0)
    assert str(event["LOCATION"]) == "Buurthuis De Linde"
    assert a_write().description == str(event["DESCRIPTION"])


async def test_winter_meeting_is_local_time_with_tzid(
    channel: CaldavChannel, caldav_user: CaldavAccount
) -> None:
    """19:30 CET on 23 March 2027 is 18:30 UTC, kept as local time in Europe/Amsterdam."""
    await channel.deliver(an_effect(a_write()))

    event = await the_event(channel, caldav_user)
    assert event["DTSTART"].params["TZID"] == "Europe/Amsterdam"
    assert datetime(2027, 3, 23, 19, 30, tzinfo=AMSTERDAM) == event.start
    assert event.start == WINTER


async def test_the_same_effect_twice_is_still_one_unchanged_event(
    channel: CaldavChannel, caldav_user: CaldavAccount
) -> None:
    """A resend after a crash (same row) leaves the event as it was, SEQUENCE included."""
    effect = an_effect(a_write())
    await channel.deliver(effect)
    first = (await the_event(channel, caldav_user)).to_ical()

    assert await channel.deliver(effect) == UID

    assert first == (await the_event(channel, caldav_user)).to_ical()


async def test_a_fresh_login_redelivering_finds_the_event_by_uid(
    make_channel: MakeChannel, caldav_user: CaldavAccount
) -> None:
    """After a restart (new channel, new login) the same write still gives one event."""
    first_run, second_run = make_channel(), make_channel()
    await first_run.deliver(an_effect(a_write()))

    await second_run.deliver(an_effect(a_write()))

    assert (await the_event(second_run, caldav_user)).sequence == 0


async def test_a_move_updates_the_same_uid_across_dst(
    channel: CaldavChannel, caldav_user: CaldavAccount
) -> None:
    """Moved from 23 March (CET) to 6 April 2027 19:30 (CEST): one event, 17:30 UTC."""
    await channel.deliver(an_effect(a_write()))
    moved = a_write(start=SPRING, end=SPRING + timedelta(hours=2), sequence=1)

    await channel.deliver(an_effect(moved, created_at=WRITTEN_AT + timedelta(days=3)))

    event = await the_event(channel, caldav_user)
    assert datetime(2027, 4, 6, 19, 30, tzinfo=AMSTERDAM) == event.start
    assert datetime(2027, 4, 6, 17, 30, tzinfo=UTC) == event.start
    assert datetime(2027, 4, 6, 19, 30) == event.start.replace(tzinfo=None)
    assert event["DTSTART"].params["TZID"] == "Europe/Amsterdam"
    assert event.sequence == 1
    assert WRITTEN_AT + timedelta(days=3) == event.DTSTAMP


async def test_a_move_with_a_stale_sequence_still_goes_past_the_server(
    channel: CaldavChannel, caldav_user: CaldavAccount
) -> None:
    """Subscribers only take a change with a higher SEQUENCE than they have."""
    await channel.deliver(an_effect(a_write(sequence=4)))

    await channel.deliver(an_effect(a_write(start=SPRING, end=SPRING + timedelta(hours=2))))

    assert (await the_event(channel, caldav_user)).sequence == 5


async def test_cancel_keeps_one_event_marked_cancelled(
    channel: CaldavChannel, caldav_user: CaldavAccount
) -> None:
    await channel.deliver(an_effect(a_write()))
    cancel = an_effect(a_write(action="cancel"))

    assert await channel.deliver(cancel) == UID
    await channel.deliver(cancel)  # a resend changes nothing more

    event = await the_event(channel, caldav_user)
    assert (str(event["STATUS"]), event.sequence) == ("CANCELLED", 1)
    assert str(event["SUMMARY"]) == CANCELLED_PREFIX + "Bewonersbijeenkomst"
    assert event.start == WINTER


async def test_a_cancelled_meeting_that_goes_ahead_is_confirmed_again(
    channel: CaldavChannel, caldav_user: CaldavAccount
) -> None:
    await channel.deliver(an_effect(a_write()))
    await channel.deliver(an_effect(a_write(action="cancel", sequence=1)))

    await channel.deliver(an_effect(a_write(sequence=2)))

    event = await the_event(channel, caldav_user)
    assert (
        str(event["STATUS"]),
        str(event["SUMMARY"]),
        event.sequence,
    ) == ("CONFIRMED", "Bewonersbijeenkomst", 2)


async def test_two_meetings_are_two_events(
    channel: CaldavChannel, caldav_user: CaldavAccount
) -> None:
    other = a_write(
        uid="2027-05-11-bewoners@wijk.test", start=SPRING, end=SPRING + timedelta(hours=1)
    )
    await channel.deliver(an_effect(a_write()))
    await channel.deliver(an_effect(other))

    uids = sorted(str(e["UID"]) for e in await events_in(channel, caldav_user))
    assert sorted([UID, other.uid]) == uids


async def test_the_feed_is_one_ics_with_the_vtimezone(
    channel: CaldavChannel, caldav_user: CaldavAccount
) -> None:
    """A plain GET of the collection (the public feed later) parses, with Europe/Amsterdam."""
    await channel.deliver(an_effect(a_write()))

    calendar = await feed(channel, caldav_user)

    assert [tz.tz_name for tz in calendar.timezones] == ["Europe/Amsterdam"]
    tz = calendar.timezones[0].to_tz()
    assert timedelta(hours=2) == SPRING.astimezone(tz).utcoffset()  # DST kept by the server
    assert timedelta(hours=1) == WINTER.astimezone(tz).utcoffset()


async def test_the_calendar_is_found_by_name_not_made_twice(
    make_channel: MakeChannel, caldav_user: CaldavAccount
) -> None:
    first, second = make_channel(), make_channel()
    await first.deliver(an_effect(a_write()))

    await second.deliver(an_effect(a_write(uid="other@wijk.test")))

    assert await first.connection.calendar_url() == await second.connection.calendar_url()
    assert len(await events_in(first, caldav_user)) == 2


async def test_a_wrong_password_is_permanent(make_channel: MakeChannel) -> None:
    channel = make_channel(password="not-the-password")

    with pytest.raises(PermanentError, match="401"):
        await channel.deliver(an_effect(a_write()))


async def test_another_users_calendar_home_is_permanent(
    caldav_user: CaldavAccount, radicale: RadicaleServer, tmp_path: Path
) -> None:
    """A URL this login may not use (Radicale answers 403) parks the row."""
    other = radicale.add_user(f"other{secrets.token_hex(4)}", secrets.token_urlsafe(12))
    borrowed = replace(caldav_user, url=other.url)
    channel = CaldavChannel(config_for(borrowed, tmp_path), AMSTERDAM)
    try:
        with pytest.raises(PermanentError, match="403"):
            await channel.deliver(an_effect(a_write()))
    finally:
        await channel.close()


async def test_a_removed_calendar_is_permanent_then_made_again(
    channel: CaldavChannel, caldav_user: CaldavAccount
) -> None:
    """Someone deletes the calendar: that write parks (404); the next one makes a new calendar."""
    await channel.deliver(an_effect(a_write()))
    await asyncio.to_thread(http_delete, await channel.connection.calendar_url(), caldav_user)

    with pytest.raises(PermanentError, match="404"):
        await channel.deliver(an_effect(a_write(action="cancel")))
    await channel.deliver(an_effect(a_write(action="cancel")))

    event = await the_event(channel, caldav_user)
    assert (str(event["STATUS"]), event.sequence) == ("CANCELLED", 0)


async def test_radicale_stopped_is_transient_and_delivery_resumes(
    channel: CaldavChannel, caldav_user: CaldavAccount, radicale: RadicaleServer
) -> None:
    await channel.deliver(an_effect(a_write()))
    await radicale.stop()
    try:
        with pytest.raises(TransientError):
            await channel.deliver(an_effect(a_write(action="cancel")))
    finally:
        await radicale.start()

    await channel.deliver(an_effect(a_write(action="cancel")))

    assert str((await the_event(channel, caldav_user))["STATUS"]) == "CANCELLED"


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """A loopback TCP server that accepts and never answers; yields its port."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, LOOPBACK, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_server_that_does_not_answer_is_transient(tmp_path: Path) -> None:
    async with silent_server() as port:
        account = CaldavAccount("nobody", "secret", f"http://{LOOPBACK}:{port}/nobody/")
        channel = CaldavChannel(config_for(account, tmp_path), AMSTERDAM, timeout_seconds=1)
        try:
            with pytest.raises(TransientError):
                await channel.deliver(an_effect(a_write()))
        finally:
            await channel.close()


async def test_a_payload_that_is_no_calendar_write_is_permanent(
    channel: CaldavChannel,
) -> None:
    effect = replace(an_effect(a_write()), payload=ChatPost(body="hallo", html="<p>hallo</p>"))

    with pytest.raises(PermanentError, match="not a calendar write"):
        await channel.deliver(effect)


async def test_the_outbox_dispatcher_delivers_through_the_channel(
    channel: CaldavChannel, caldav_user: CaldavAccount, tmp_path: Path
) -> None:
    """Announce then cancel, as outbox rows: both delivered with the UID, one cancelled event."""
    clock = ManualClock(WRITTEN_AT)
    store = await Store.open(tmp_path / "state")
    try:
        async with store.transaction() as tx:
            for key, write in (("announce", a_write()), ("cancelled", a_write(action="cancel"))):
                await tx.enqueue(
                    NewEffect(ChannelName.CALDAV, CALENDAR, key, write), now=clock.now()
                )
        dispatcher = Dispatcher(store, clock, channel)

        assert await dispatcher.deliver_ready() == 1
        assert await dispatcher.deliver_ready() == 1

        async with store.reading() as tx:
            rows = await tx.effects(ChannelName.CALDAV)
    finally:
        await store.close()
    assert [(r.key, r.status, r.remote_id) for r in rows] == [
        ("announce", EffectStatus.DELIVERED, UID),
        ("cancelled", EffectStatus.DELIVERED, UID),
    ]
    event = await the_event(channel, caldav_user)
    assert (str(event["STATUS"]), event.sequence) == ("CANCELLED", 1)


def test_the_channel_is_named_caldav(channel: CaldavChannel) -> None:
    assert channel.name == ChannelName.CALDAV


# --- each event at its own URL: no search of the calendar -----------------------


def ics_of(write: CalendarWrite, sequence: int = 0) -> bytes:
    return event_ics(write, tz=AMSTERDAM, stamp=WRITTEN_AT, sequence=sequence)


async def own_url(channel: CaldavChannel, uid: str = UID) -> str:
    return await channel.connection.calendar_url() + object_name(uid)


@pytest.fixture
def searches(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The UIDs the channel searched the calendar for (it should only for a stray event)."""
    searched: list[str] = []
    real_search = channel_module.find_by_uid

    async def counted(calendar: DavCalendar, uid: str) -> object:
        searched.append(uid)
        return await real_search(calendar, uid)

    monkeypatch.setattr(channel_module, "find_by_uid", counted)
    return searched


def weekly_meeting(number: int, *, moved: bool = False) -> CalendarWrite:
    start = WINTER + timedelta(weeks=number + (1 if moved else 0))
    return a_write(
        uid=f"{number:03d}-buurt@wijk.test",
        summary=f"Buurtoverleg {number}",
        start=start,
        end=start + timedelta(hours=2),
        sequence=1 if moved else 0,
    )


async def test_sixty_events_each_write_finds_and_updates_its_own_event(
    channel: CaldavChannel, caldav_user: CaldavAccount, searches: list[str]
) -> None:
    """60 creates, 60 moves, a resend: 60 events, each moved once, never a search."""
    count = 60
    for number in range(count):
        await channel.deliver(an_effect(weekly_meeting(number)))
    for number in range(count):
        await channel.deliver(an_effect(weekly_meeting(number, moved=True)))
    last = weekly_meeting(count - 1, moved=True)
    before_resend = await asyncio.to_thread(http_get, await own_url(channel, last.uid), caldav_user)
    await channel.deliver(an_effect(last))

    expected = {
        weekly_meeting(n).uid: (f"Buurtoverleg {n}", weekly_meeting(n, moved=True).start, 1)
        for n in range(count)
    }
    events = await events_in(channel, caldav_user)
    assert count == len(events)
    assert expected == {str(e["UID"]): (str(e["SUMMARY"]), e.start, e.sequence) for e in events}
    after_resend = await asyncio.to_thread(http_get, await own_url(channel, last.uid), caldav_user)
    assert before_resend[2] == after_resend[2]
    assert searches == []


async def test_each_event_is_stored_at_the_url_made_from_its_uid(
    channel: CaldavChannel, caldav_user: CaldavAccount
) -> None:
    """Also for a UID with characters that need encoding, '/' and '%' among them."""
    odd = a_write(uid="buurt/2027 04%06 ü@wijk.test")
    await channel.deliver(an_effect(a_write()))
    await channel.deliver(an_effect(odd))

    for uid in (UID, odd.uid):
        _, _, body = await asyncio.to_thread(http_get, await own_url(channel, uid), caldav_user)
        assert [uid] == [str(e["UID"]) for e in Calendar.from_ical(body).events]


async def test_an_event_written_before_is_found_at_the_url_caldav_minted(
    channel: CaldavChannel, caldav_user: CaldavAccount, searches: list[str]
) -> None:
    """The channel used to let caldav name the object; that name is the one it uses now."""
    calendar = await channel.connection.calendar()
    earlier = DavEvent(calendar.client, parent=calendar)
    await resolved(earlier.save(raw_data=ics_of(a_write())))

    await channel.deliver(an_effect(a_write(start=SPRING, end=SPRING + timedelta(hours=2))))

    assert await own_url(channel) == str(earlier.url)
    event = await the_event(channel, caldav_user)
    assert (event.start, event.sequence) == (SPRING, 1)
    assert searches == []


async def test_an_event_stored_under_another_name_is_rewritten_there(
    channel: CaldavChannel, caldav_user: CaldavAccount, searches: list[str]
) -> None:
    """Imported by hand: the create is refused (UID taken), one search finds it."""
    stray = await channel.connection.calendar_url() + "imported-by-hand.ics"
    await asyncio.to_thread(http_put, stray, caldav_user, ics_of(a_write()))

    await channel.deliver(an_effect(a_write(start=SPRING, end=SPRING + timedelta(hours=2))))

    event = await the_event(channel, caldav_user)
    assert (event.start, event.sequence) == (SPRING, 1)
    _, _, body = await asyncio.to_thread(http_get, stray, caldav_user)
    assert [e.start for e in Calendar.from_ical(body).events] == [SPRING]
    assert await asyncio.to_thread(http_status, await own_url(channel), caldav_user) == 404
    assert searches == [UID]


@pytest.fixture
def other_writer_after_read(
    monkeypatch: pytest.MonkeyPatch, caldav_user: CaldavAccount
) -> Callable[[bytes], None]:
    """Arrange for another client to PUT the given ICS at the object URL right after the
    channel's next read of it (once): the race that If-Match / If-None-Match catch."""

    def arrange(ics: bytes) -> None:
        real_load = channel_module.load_object

        async def read_then_race(calendar: DavCalendar, name: str) -> object:
            found = await real_load(calendar, name)
            monkeypatch.setattr(channel_module, "load_object", real_load)
            url = str(calendar.url) + name
            await asyncio.to_thread(http_put, url, caldav_user, ics)
            return found

        monkeypatch.setattr(channel_module, "load_object", read_then_race)

    return arrange


async def test_a_change_between_read_and_rewrite_is_transient_then_written_past_it(
    channel: CaldavChannel,
    caldav_user: CaldavAccount,
    other_writer_after_read: Callable[[bytes], None],
) -> None:
    """If-Match on the ETag read: the other client's change is not overwritten unseen."""
    await channel.deliver(an_effect(a_write()))
    other_writer_after_read(ics_of(a_write(location="Elders"), sequence=3))
    moved = an_effect(a_write(start=SPRING, end=SPRING + timedelta(hours=2)))

    with pytest.raises(TransientError, match="412"):
        await channel.deliver(moved)
    assert str((await the_event(channel, caldav_user))["LOCATION"]) == "Elders"
    await channel.deliver(moved)  # the outbox retries: read again, write past SEQUENCE 3

    event = await the_event(channel, caldav_user)
    assert (str(event["LOCATION"]), event.start, event.sequence) == (
        "Buurthuis De Linde",
        SPRING,
        4,
    )


async def test_a_create_racing_another_create_is_transient_then_rewritten(
    channel: CaldavChannel,
    caldav_user: CaldavAccount,
    other_writer_after_read: Callable[[bytes], None],
) -> None:
    """If-None-Match: * — the event another client made first is never replaced unseen."""
    await channel.connection.calendar()
    other_writer_after_read(ics_of(a_write(location="Elders")))
    effect = an_effect(a_write())

    with pytest.raises(TransientError, match="412"):
        await channel.deliver(effect)
    await channel.deliver(effect)

    event = await the_event(channel, caldav_user)
    assert (str(event["LOCATION"]), event.sequence) == ("Buurthuis De Linde", 1)
