"""Planning in from the core group's shared calendar, against a real Radicale on loopback.

The real daemon (``wijkbode run`` as a subprocess, a scaled clock) reads the
``[caldav] planning_calendar`` at start, on SIGHUP and on its interval. A
person edits that calendar with plain CalDAV requests (PUT, DELETE), as a
calendar app would. Wijkbode follows: an event added is a meeting, moved
moves it, cancelled or removed cancels it, with the moved and cancelled
notices on every channel that carried the meeting, once. A conflict with the
configured plan is reported to the core room once and by ``check-config``.
Radicale down during a read loses nothing and doubles nothing when it is back,
and a restart keeps what the calendar said.
"""

from __future__ import annotations

import asyncio
import base64
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest_asyncio
from caldav import DAVClient
from clitools import ROOT, wijkbode
from daemon_runner import CALENDAR, TZ, DaemonRunner, World, local, make_world
from icalendar import Calendar

from daemon.ports.outbox import ChannelName, ChatPost, Effect
from harness.radicale import RadicaleServer
from harness.synapse import SynapseServer

PLANNING = "Jaarplanning"
SPEED = 60  # a simulated minute per real second
START = local("2027-03-20T12:00:00")  # the 15 April meeting's announcement (T-28d) is due

SERIES = """\
[series.bewonersbijeenkomst]
title = "Bewonersbijeenkomst"
public = true
location = "Buurthuis"

[series.bewonersbijeenkomst.plan]
dates = [{dates}]
{moved}"""
CONFIG_MOVES_APRIL = """
[[series.bewonersbijeenkomst.plan.moved]]
from = 2027-04-15
to = 2027-04-29T19:00:00
"""
APRIL = "bewonersbijeenkomst-2027-04-15"
MAY = "bewonersbijeenkomst-2027-05-20"
ADDED = "bewonersbijeenkomst-2027-05-12"


class SharedCalendar:
    """The core group's planning calendar on Radicale, edited as a calendar app would."""

    def __init__(self, principal_url: str, user: str, password: str) -> None:
        self.user, self.password = user, password
        self.url = self._make(principal_url)
        self._sequence: Counter[str] = Counter()

    def _make(self, principal_url: str) -> str:
        client: Any = DAVClient(
            url=principal_url, username=self.user, password=self.password, enable_rfc6764=False
        )
        with client:
            calendar = client.principal().make_calendar(
                name=PLANNING, cal_id="jaarplanning", supported_calendar_component_set=["VEVENT"]
            )
            return str(calendar.url)

    async def put(
        self,
        uid: str,
        start: str,
        *,
        summary: str = "Bewonersbijeenkomst",
        categories: str = "Bewoners",
        cancelled: bool = False,
    ) -> None:
        """Write the event ``uid`` (new, or over the one there) starting at local ``start``."""
        begin = local(start).astimezone(UTC)
        sequence = self._sequence[uid]
        self._sequence[uid] += 1
        ics = "\r\n".join(
            [
                "BEGIN:VCALENDAR",
                "VERSION:2.0",
                "PRODID:-//Buurt//Kerngroep//NL",
                "BEGIN:VEVENT",
                f"UID:{uid}",
                "DTSTAMP:20270101T000000Z",
                f"DTSTART:{begin:%Y%m%dT%H%M%SZ}",
                f"DTEND:{begin + timedelta(hours=2):%Y%m%dT%H%M%SZ}",
                f"SUMMARY:{summary}",
                f"CATEGORIES:{categories}",
                f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
                f"SEQUENCE:{sequence}",
                "END:VEVENT",
                "END:VCALENDAR",
                "",
            ]
        )
        await self._request("PUT", uid, ics.encode())

    async def events(self) -> list[Any]:
        """Every VEVENT the calendar holds (one GET of the collection)."""
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        request = urllib.request.Request(self.url, headers={"Authorization": f"Basic {token}"})

        def get() -> bytes:
            with urllib.request.urlopen(request, timeout=30) as response:
                body: bytes = response.read()
                return body

        return list(Calendar.from_ical(await asyncio.to_thread(get)).events)

    async def delete(self, uid: str) -> None:
        await self._request("DELETE", uid, None)

    async def _request(self, method: str, uid: str, body: bytes | None) -> None:
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        headers = {"Authorization": f"Basic {token}", "Content-Type": "text/calendar"}
        request = urllib.request.Request(
            f"{self.url}{uid}.ics", data=body, headers=headers, method=method
        )

        def send() -> None:
            with urllib.request.urlopen(request, timeout=30) as response:
                assert response.status in (200, 201, 204), response.status

        await asyncio.to_thread(send)


def shared_calendar(world: World) -> SharedCalendar:
    assert world.calendar is not None
    side = world.calendar
    return SharedCalendar(side.principal_url, side.name, side.password)


def planning_config(world: World, series: str, *, poll_seconds: int = 3600) -> str:
    """The world's config with the planning calendar read from the same CalDAV login."""
    assert world.calendar is not None
    section = world.calendar.section()
    extra = f'planning_calendar = "{PLANNING}"\nplanning_poll_seconds = {poll_seconds}\n'
    return world.config(series, default_series="bewonersbijeenkomst").replace(
        section, section + extra
    )


def series(dates: str, moved: str = "") -> str:
    return SERIES.format(dates=dates, moved=moved)


async def meetings(runner: DaemonRunner) -> dict[str, dict[str, Any]]:
    rows: list[dict[str, Any]] = await runner.cli_json("meetings")
    return {row["id"]: row for row in rows}


async def delivered(runner: DaemonRunner) -> list[Effect]:
    """Every outbox row, once none waits (each was delivered)."""
    effects = await runner.effects()
    assert all(e.status.value == "delivered" for e in effects), [
        (e.key, e.status, e.last_error) for e in effects if e.status.value != "delivered"
    ]
    return effects


def notices(effects: list[Effect], meeting: str, kind: str) -> Counter[str]:
    """How many ``kind`` notices (moved, cancelled) of ``meeting`` went to each destination."""
    return Counter(e.destination for e in effects if f"/{meeting}/{kind}_notice/" in e.key)


def announced_to(effects: list[Effect], meeting: str) -> set[str]:
    return {e.destination for e in effects if f"/{meeting}/announce/" in e.key}


@pytest_asyncio.fixture
async def own_radicale(tmp_path: Path) -> AsyncIterator[RadicaleServer]:
    """A Radicale of this test's own, so stopping it disturbs no other test."""
    server = RadicaleServer(tmp_path / "radicale")
    await server.start()
    yield server
    await server.stop()


async def test_planning_in_adds_moves_and_cancels_with_notices_once(
    tmp_path: Path, radicale: RadicaleServer, synapse: SynapseServer
) -> None:
    world = await make_world(
        ("caldav", "matrix"), tmp_path / "secrets", radicale=radicale, synapse=synapse
    )
    assert world.calendar is not None
    assert world.chat is not None
    shared = SharedCalendar(
        world.calendar.principal_url, world.calendar.name, world.calendar.password
    )
    await shared.put("plan-april", "2027-04-15T19:00")  # as configured: they agree
    await shared.put("verjaardag", "2027-04-16T19:00", summary="Verjaardag", categories="Privé")
    config = planning_config(world, series("2027-04-15T19:00:00"))
    runner = DaemonRunner(tmp_path, config, start=START, speed=SPEED)
    core, announce = world.chat.core_alias, world.chat.announce_alias
    carriers = {core, announce, CALENDAR}
    try:
        runner.start()
        await runner.wait_running()

        async def announced() -> bool:
            effects = await runner.effects()
            done = all(e.status.value == "delivered" for e in effects)
            return done and announced_to(effects, APRIL) == carriers

        await runner.wait_until(announced, "the April meeting announced on every channel")
        first = await meetings(runner)
        assert [(m["id"], m["source"]) for m in first.values()] == [(APRIL, "config")]

        # Added in the calendar: a meeting of the series that day, from the calendar.
        await shared.put("plan-extra", "2027-05-12T19:30")
        runner.hup()

        async def added() -> bool:
            return ADDED in await meetings(runner)

        await runner.wait_until(added, "the meeting added in the calendar")
        new = (await meetings(runner))[ADDED]
        assert (new["source"], new["start"], new["location"], new["status"]) == (
            "calendar",
            "2027-05-12T19:30:00+02:00",
            "Buurthuis",
            "planned",
        )

        # Moved in the calendar: the announced meeting moves, each carrier hears it once.
        await shared.put("plan-april", "2027-04-22T19:30")
        runner.hup()

        async def moved() -> bool:
            effects = await runner.effects()
            settled = all(e.status.value == "delivered" for e in effects)
            return settled and set(notices(effects, APRIL, "moved")) == carriers

        await runner.wait_until(moved, "the moved notices")
        april = (await meetings(runner))[APRIL]
        assert (april["start"], april["source"]) == ("2027-04-22T19:30:00+02:00", "calendar")

        # Cancelled there: the added one by removing its event (nobody heard of it yet,
        # so no notice), the announced one by STATUS:CANCELLED (every carrier hears it).
        await shared.delete("plan-extra")
        await shared.put("plan-april", "2027-04-22T19:30", cancelled=True)
        runner.hup()

        async def cancelled() -> bool:
            effects = await runner.effects()
            settled = all(e.status.value == "delivered" for e in effects)
            return settled and set(notices(effects, APRIL, "cancelled")) == carriers

        await runner.wait_until(cancelled, "the cancelled notices")
        after_cancel = await meetings(runner)
        assert after_cancel[APRIL]["status"] == "cancelled"
        assert after_cancel[APRIL]["source"] == "calendar"
        assert ADDED not in after_cancel or after_cancel[ADDED]["status"] == "cancelled"
        effects = await delivered(runner)

        # Nothing new in the calendar: a read, a reload and a restart change nothing.
        runner.hup()
        await runner.wait_for_log("plan herladen / plan reloaded")
        runner.kill()
        runner.start()
        await runner.wait_running()
        assert await runner.wait_for_log("reading planning calendar")
        assert await meetings(runner) == after_cancel
        runner.hup()
        await runner.wait_for_log("plan herladen / plan reloaded")
        await runner.stop()
    finally:
        runner.ensure_stopped()

    assert await delivered(runner) == effects
    for kind in ("moved", "cancelled"):
        assert notices(effects, APRIL, kind) == Counter(dict.fromkeys(carriers, 1)), kind
    assert not [e for e in effects if f"/{ADDED}/" in e.key]  # never announced, never noticed
    # The room saw each post once (the member's view of the room).
    for alias in (core, announce):
        keys = Counter(await world.chat.keys_in(alias))
        assert keys == Counter(e.key for e in effects if e.destination == alias), alias
    # The public calendar has the meeting once, under its UID, moved and cancelled.
    [event] = [e for e in await world.calendar.events() if APRIL in str(e["UID"])]
    assert event.start == datetime(2027, 4, 22, 19, 30, tzinfo=TZ)
    assert str(event["STATUS"]) == "CANCELLED"
    # The private event of no series planned nothing.
    assert set(after_cancel) <= {APRIL, ADDED}


async def test_a_conflict_with_the_configured_plan_is_reported_once_and_by_check_config(
    tmp_path: Path, radicale: RadicaleServer, synapse: SynapseServer
) -> None:
    world = await make_world(
        ("caldav", "matrix"), tmp_path / "secrets", radicale=radicale, synapse=synapse
    )
    assert world.calendar is not None
    assert world.chat is not None
    shared = SharedCalendar(
        world.calendar.principal_url, world.calendar.name, world.calendar.password
    )
    dates = "2027-04-15T19:00:00, 2027-05-20T19:00:00"
    await shared.put("plan-april", "2027-04-15T19:00")  # agrees with the configuration
    await shared.put("plan-may", "2027-05-20T20:00")  # both define that date, differently
    runner = DaemonRunner(tmp_path, planning_config(world, series(dates)), start=START, speed=SPEED)
    core = world.chat.core_alias

    def reports(effects: list[Effect]) -> list[Effect]:
        return [e for e in effects if e.key.startswith("plan/conflict/")]

    try:
        runner.start()
        await runner.wait_running()

        async def reported(count: int) -> bool:
            found = reports(await runner.effects())
            return len(found) == count and all(e.status.value == "delivered" for e in found)

        await runner.wait_until(lambda: reported(1), "the first conflict in the core room")
        may = (await meetings(runner))[MAY]
        assert (may["start"], may["source"]) == ("2027-05-20T19:00:00+02:00", "config")

        # The calendar moves April a week on; the configuration moves it two weeks on.
        await shared.put("plan-april", "2027-04-22T19:00")
        runner.write_config(planning_config(world, series(dates, CONFIG_MOVES_APRIL)))
        runner.hup()
        await runner.wait_until(lambda: reported(2), "the second conflict in the core room")
        april = (await meetings(runner))[APRIL]
        assert (april["start"], april["source"]) == ("2027-04-29T19:00:00+02:00", "config")

        # Read again and restarted: the same conflicts are not reported again.
        runner.hup()
        await runner.wait_for_log("plan herladen / plan reloaded")
        runner.kill()
        runner.start()
        await runner.wait_running()
        assert await runner.wait_for_log("reading planning calendar")
        await runner.wait_until(lambda: reported(2), "the restart")
        await runner.stop()
    finally:
        runner.ensure_stopped()

    effects = await delivered(runner)
    found = reports(effects)
    assert [e.destination for e in found] == [core, core]
    texts = [e.payload.body for e in found if isinstance(e.payload, ChatPost)]
    assert any(MAY in t and "20:00" in t for t in texts), texts
    assert any(APRIL in t and "29 april 2027" in t and "22 april 2027" in t for t in texts)
    assert all(t.index("planningskalender") < t.index("planning calendar") for t in texts)
    assert Counter(await world.chat.keys_in(core))[found[0].key] == 1

    check = await asyncio.to_thread(
        wijkbode, "--config", str(runner.config_path), "check-config", cwd=ROOT
    )
    assert check.returncode == 0, check.stderr
    lines = [line for line in check.stderr.splitlines() if line.startswith("wijkbode: conflict")]
    assert len(lines) == 2, check.stderr
    assert any(MAY in line for line in lines)
    assert any(APRIL in line for line in lines)


async def test_radicale_down_during_a_read_loses_nothing_and_doubles_nothing(
    tmp_path: Path, own_radicale: RadicaleServer
) -> None:
    world = await make_world(("caldav",), tmp_path / "secrets", radicale=own_radicale)
    assert world.calendar is not None
    shared = SharedCalendar(
        world.calendar.principal_url, world.calendar.name, world.calendar.password
    )
    await shared.put("plan-april", "2027-04-15T19:00")
    config = planning_config(world, series("2027-04-15T19:00:00"))
    runner = DaemonRunner(tmp_path, config, start=START, speed=SPEED)
    try:
        runner.start()
        await runner.wait_running()

        async def announced() -> bool:
            effects = await runner.effects()
            done = all(e.status.value == "delivered" for e in effects)
            return done and announced_to(effects, APRIL) == {CALENDAR}

        await runner.wait_until(announced, "the announcement in the public calendar")
        await shared.put("plan-april", "2027-04-22T19:00")
        await shared.put("plan-june", "2027-06-03T19:00")
        await own_radicale.stop()
        runner.hup()  # the read fails: nothing changes
        assert await runner.wait_for_log("planning calendar not read")
        during = await meetings(runner)
        assert (during[APRIL]["start"], list(during)) == ("2027-04-15T19:00:00+02:00", [APRIL])

        await own_radicale.start()
        runner.hup()

        async def followed() -> bool:
            now = await meetings(runner)
            effects = await runner.effects()
            settled = all(e.status.value == "delivered" for e in effects)
            return (
                settled
                and "bewonersbijeenkomst-2027-06-03" in now
                and bool(notices(effects, APRIL, "moved"))
            )

        await runner.wait_until(followed, "the changes made while Radicale was down")
        runner.hup()  # and read once more: nothing twice
        await runner.wait_for_log("plan herladen / plan reloaded")
        await runner.stop()
    finally:
        runner.ensure_stopped()

    effects = await delivered(runner)
    assert notices(effects, APRIL, "moved") == Counter({CALENDAR: 1})
    after = await meetings(runner)
    assert after[APRIL]["start"] == "2027-04-22T19:00:00+02:00"
    assert after["bewonersbijeenkomst-2027-06-03"]["source"] == "calendar"
    events = [e for e in await world.calendar.events() if APRIL in str(e["UID"])]
    assert len(events) == 1
    assert events[0].start == datetime(2027, 4, 22, 19, 0, tzinfo=TZ)
    assert [e.channel for e in effects] == [ChannelName.CALDAV] * len(effects)


ALLIANCE = """\
[series.wijkalliantie]
title = "Wijkalliantie"
location = "Wijkcentrum"

[series.wijkalliantie.plan]
dates = [2027-04-20T19:30:00]
"""
ALLIANCE_MEETING = "wijkalliantie-2027-04-20"


async def test_deadline_moments_are_events_in_the_core_groups_calendar(
    tmp_path: Path, radicale: RadicaleServer
) -> None:
    world = await make_world(("caldav",), tmp_path / "secrets", radicale=radicale)
    assert world.calendar is not None
    shared = shared_calendar(world)
    await shared.put("alliantie", "2027-04-20T19:30", summary="Overleg", categories="Wijkalliantie")
    config = planning_config(world, ALLIANCE).replace(
        "planning_poll_seconds", f'deadline_calendar = "{PLANNING}"\nplanning_poll_seconds'
    )
    config = config.replace(
        'default_series = "bewonersbijeenkomst"', 'default_series = "wijkalliantie"'
    )
    runner = DaemonRunner(tmp_path, config, start=START, speed=SPEED)

    async def deadline_events() -> list[Any]:
        return [e for e in await shared.events() if str(e["UID"]).startswith("wijkbode-deadline-")]

    async def written(count: int) -> bool:
        effects = await runner.effects()
        rows = [e for e in effects if e.key.startswith("deadline-event/")]
        return len(rows) == count and all(e.status.value == "delivered" for e in rows)

    try:
        runner.start()
        await runner.wait_running()
        await runner.wait_until(lambda: written(4), "the four deadline events")
        first = {str(e["UID"]): e.start for e in await deadline_events()}
        assert len(first) == 4
        # Wijkbode's own events in the planning calendar plan nothing.
        assert [(m["id"], m["source"]) for m in (await meetings(runner)).values()] == [
            (ALLIANCE_MEETING, "config")
        ]

        await shared.put(
            "alliantie", "2027-04-27T19:30", summary="Overleg", categories="Wijkalliantie"
        )
        runner.hup()
        await runner.wait_until(lambda: written(8), "the deadline events moved")
        moved = {str(e["UID"]): e.start for e in await deadline_events()}

        await shared.delete("alliantie")
        runner.hup()
        await runner.wait_until(lambda: written(12), "the deadline events cancelled")
        runner.hup()  # nothing changed: nothing written again
        await runner.wait_for_log("plan herladen / plan reloaded")
        await runner.stop()
    finally:
        runner.ensure_stopped()

    assert set(moved) == set(first)  # rewritten under the same UIDs, never doubled
    assert all(moved[uid] == first[uid] + timedelta(days=7) for uid in first)
    final = await deadline_events()
    assert len(final) == 4
    assert {str(e["STATUS"]) for e in final} == {"CANCELLED"}
    assert (await meetings(runner))[ALLIANCE_MEETING]["status"] == "cancelled"
    assert await written(12)
