"""Real clients of the calendar feed against the real daemon: vdirsyncer, khal, a strict parser.

The daemon runs with ``[http]`` only, on a replayed clock; the feed is what the
scheduler published. vdirsyncer (http storage -> a local folder) syncs it before
and after one meeting moves and another is cancelled: the folder keeps one file
per meeting (no duplicate), the moved one at its new time with a higher
SEQUENCE, the cancelled one as STATUS:CANCELLED; khal reads that folder. The
feed itself keeps each meeting's UID. (vdirsyncer's http storage names each item
by its content hash, not its UID, so the folder's files are told apart by what
they say.) The feed passes the strict ``ical`` parser, and a conditional GET is a 304.
"""

from __future__ import annotations

import asyncio
import gzip
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

from daemon_runner import TZ, DaemonRunner, local
from feed_helpers import afetch, feed_config, feed_events, free_port, need_tool
from ical.calendar_stream import IcsCalendarStream
from icalendar import Calendar, Event

SERIES = """[series.bewonersbijeenkomst]
title = "Bewonersbijeenkomst"
public = true
location = "Buurthuis De Meeuw"

[series.bewonersbijeenkomst.plan]
dates = [2027-05-06T19:00:00, 2027-05-20T19:00:00]
{changes}
[series.kerngroep]
title = "Kerngroep"
location = "Zaal 2"

[series.kerngroep.plan]
dates = [2027-05-03T20:00:00]
"""
CHANGES = """cancelled = [2027-05-20]

[[series.bewonersbijeenkomst.plan.moved]]
from = 2027-05-06
to = 2027-05-13T20:00:00
"""
MOVED = "bewonersbijeenkomst-2027-05-06@wijkbode.invalid"
CANCELLED = "bewonersbijeenkomst-2027-05-20@wijkbode.invalid"
# Both announced (T-28d: 8 and 22 April); the kerngroep is never public.
START = local("2027-04-23T12:00:00")


def vdirsyncer_config(directory: Path, port: int) -> Path:
    (directory / "local").mkdir(parents=True)
    config = directory / "vdirsyncer.conf"
    config.write_text(
        f'[general]\nstatus_path = "{directory / "status"}/"\n\n'
        '[pair wijk]\na = "wijk_feed"\nb = "wijk_local"\ncollections = null\n'
        'conflict_resolution = "a wins"\n\n'
        f'[storage wijk_feed]\ntype = "http"\nurl = "http://127.0.0.1:{port}/agenda.ics"\n\n'
        f'[storage wijk_local]\ntype = "filesystem"\npath = "{directory / "local"}/"\n'
        'fileext = ".ics"\n',
        encoding="utf-8",
    )
    return config


def run(*command: str) -> str:
    result = subprocess.run(
        command, capture_output=True, text=True, input="", timeout=120, check=False
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def synced(folder: Path) -> dict[datetime, Event]:
    """The folder's events by local start (one event per file; two at one time: a duplicate)."""
    found: dict[datetime, Event] = {}
    for path in sorted(folder.glob("*.ics")):
        [event] = Calendar.from_ical(path.read_bytes()).events
        start = event["DTSTART"].dt.astimezone(TZ)
        assert start not in found, f"two events at {start}"
        found[start] = event
    return found


def khal_config(directory: Path, folder: Path) -> Path:
    config = directory / "khal.conf"
    config.write_text(
        f"[calendars]\n[[wijk]]\npath = {folder}\ntype = calendar\n\n"
        "[locale]\ntimeformat = %H:%M\ndateformat = %Y-%m-%d\nlongdateformat = %Y-%m-%d\n"
        "datetimeformat = %Y-%m-%d %H:%M\nlongdatetimeformat = %Y-%m-%d %H:%M\n"
        "local_timezone = Europe/Amsterdam\ndefault_timezone = Europe/Amsterdam\n\n"
        f"[sqlite]\npath = {directory / 'khal.db'}\n",
        encoding="utf-8",
    )
    return config


async def test_vdirsyncer_and_khal_follow_a_move_and_a_cancellation(tmp_path: Path) -> None:
    vdirsyncer, khal = need_tool("vdirsyncer"), need_tool("khal")
    port = free_port()
    config = feed_config(SERIES.format(changes=""), port, default_series="bewonersbijeenkomst")
    (tmp_path / "daemon").mkdir()
    runner = DaemonRunner(tmp_path / "daemon", config, start=START, speed=1)
    clients = tmp_path / "clients"
    sync_config = vdirsyncer_config(clients, port)
    folder = clients / "local"
    try:
        runner.start()
        await runner.wait_running()

        async def both_published() -> bool:
            return {MOVED, CANCELLED} <= set(await feed_events(runner, port))

        await runner.wait_until(both_published, "both meetings in the feed")
        await asyncio.to_thread(run, vdirsyncer, "-c", str(sync_config), "discover", "wijk")
        await asyncio.to_thread(run, vdirsyncer, "-c", str(sync_config), "sync")
        before = synced(folder)
        assert set(before) == {local("2027-05-06T19:00:00"), local("2027-05-20T19:00:00")}
        assert all(str(e["SUMMARY"]) == "Bewonersbijeenkomst" for e in before.values())

        # The plan changes: one meeting moves, the other is cancelled (SIGHUP reloads).
        runner.write_config(
            feed_config(SERIES.format(changes=CHANGES), port, default_series="bewonersbijeenkomst")
        )
        runner.hup()

        async def both_changed() -> bool:
            found = await feed_events(runner, port)
            return (
                found[MOVED]["SEQUENCE"] == 1 and str(found[CANCELLED].get("STATUS")) == "CANCELLED"
            )

        await runner.wait_until(both_changed, "the move and the cancellation in the feed")
        await asyncio.to_thread(run, vdirsyncer, "-c", str(sync_config), "sync")
        after = synced(folder)
        # One file per meeting: the old time is gone, nothing doubled.
        assert set(after) == {local("2027-05-13T20:00:00"), local("2027-05-20T19:00:00")}
        assert len(list(folder.glob("*.ics"))) == 2
        moved, cancelled = after[local("2027-05-13T20:00:00")], after[local("2027-05-20T19:00:00")]
        assert (moved["SEQUENCE"], str(moved["STATUS"])) == (1, "CONFIRMED")
        assert (cancelled["SEQUENCE"], str(cancelled["STATUS"])) == (1, "CANCELLED")
        assert str(cancelled["SUMMARY"]) == "Afgelast / Cancelled: Bewonersbijeenkomst"
        # The feed kept each meeting's UID (as the CalDAV events have it).
        assert set(await feed_events(runner, port)) == {MOVED, CANCELLED}

        # khal reads the synced folder: the moved meeting on its new day and time only.
        khal_conf = khal_config(clients, folder)
        listing = await asyncio.to_thread(
            run, khal, "-c", str(khal_conf), "list", "--format", "{start} {title}",
            "2027-04-01", "2027-06-30",
        )  # fmt: skip
        assert "2027-05-13 20:00 Bewonersbijeenkomst" in listing, listing
        assert "2027-05-06" not in listing, listing
        assert "Kerngroep" not in listing
        await runner.stop()
    finally:
        runner.ensure_stopped()


async def test_the_feed_passes_a_strict_parser_and_answers_conditional_requests(
    tmp_path: Path,
) -> None:
    port = free_port()
    config = feed_config(SERIES.format(changes=""), port, default_series="bewonersbijeenkomst")
    runner = DaemonRunner(tmp_path, config, start=START, speed=1)
    url = f"http://127.0.0.1:{port}/agenda.ics"
    try:
        runner.start()
        await runner.wait_running()

        async def published() -> bool:
            return {MOVED, CANCELLED} <= set(await feed_events(runner, port))

        await runner.wait_until(published, "both meetings in the feed")
        full = await afetch(url)
        # The strict parser (pydantic models of RFC 5545) refuses what icalendar lets pass.
        strict = IcsCalendarStream.calendar_from_ics(full.body.decode("utf-8"))
        assert {event.uid for event in strict.events} == {MOVED, CANCELLED}
        assert all(event.dtstart.tzinfo is not None for event in strict.events)
        calendar = Calendar.from_ical(full.body)
        assert str(calendar["NAME"]) == str(calendar["X-WR-CALNAME"]) == "Wijkagenda"
        assert calendar["REFRESH-INTERVAL"].dt == timedelta(hours=1)
        assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Amsterdam"]
        assert str(calendar["URL"]) == "https://wijk.example.org/"
        assert str(calendar["SOURCE"]) == "https://wijk.example.org/agenda.ics"
        assert full.headers["Content-Type"] == "text/calendar; charset=utf-8"
        assert full.headers["Cache-Control"].startswith("public")
        assert full.headers["Last-Modified"]
        etag = full.headers["ETag"]
        assert etag.startswith('"')  # strong, not W/

        again = await afetch(url, headers={"If-None-Match": etag})
        assert (again.status, again.body, again.headers["ETag"]) == (304, b"", etag)
        dated = await afetch(url, headers={"If-Modified-Since": full.headers["Last-Modified"]})
        assert (dated.status, dated.body) == (304, b"")
        stale = await afetch(url, headers={"If-None-Match": '"something-else"'})
        assert (stale.status, stale.body) == (200, full.body)

        head = await afetch(url, method="HEAD")
        assert (head.status, head.body, head.headers["ETag"]) == (200, b"", etag)
        assert head.headers["Content-Length"] == str(len(full.body))

        zipped = await afetch(url, headers={"Accept-Encoding": "gzip"})
        assert zipped.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(zipped.body) == full.body
        assert zipped.headers["ETag"] != etag  # other bytes, another strong tag
        assert zipped.headers["Vary"] == "Accept-Encoding"
        gz_again = await afetch(
            url, headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]}
        )
        assert gz_again.status == 304

        series = await afetch(f"http://127.0.0.1:{port}/agenda/bewonersbijeenkomst.ics")
        assert series.status == 200
        assert "Bewonersbijeenkomst" in str(Calendar.from_ical(series.body)["NAME"])
        private = await afetch(f"http://127.0.0.1:{port}/agenda/kerngroep.ics")
        assert private.status == 404  # a private series has no feed
        assert b"Kerngroep" not in private.body
        await runner.stop()
        assert "Traceback" not in runner.log()
    finally:
        runner.ensure_stopped()
