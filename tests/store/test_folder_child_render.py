"""The paper folder is rendered in a child process, never in the daemon (memory).

WeasyPrint with Pango, HarfBuzz and fontconfig stays in a process for good once
imported (bench/memory.py --year: ~145 MB instead of ~102 MB after the first folder
moment). ``folder_pdf`` (the scheduler's folder moment and ``wijkbode folder``) must
give the PDF while this process, standing in for the daemon, never imports it; a
failed render is a bilingual ``FolderError`` (the moment's job then fails as for any
other error), not a traceback from inside WeasyPrint.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from daemon.clock import ManualClock
from daemon.config import parse_config
from daemon.engine.scheduler import EngineSettings, Scheduler, materialise
from daemon.model import Meeting, MeetingId, SeriesId
from daemon.publish import folder
from daemon.publish.folder import FolderError, folder_pdf, render_pdf
from daemon.publish.scheduled import Targets
from daemon.store import Store
from daemon.store.engine import JobStatus, SubjectType

CONFIG = """\
timezone = "Europe/Amsterdam"
default_series = "bewonersbijeenkomst"

[series.bewonersbijeenkomst]
public = true
[series.bewonersbijeenkomst.plan]
dates = [2027-04-08T19:00:00]
"""
BEWONERS = MeetingId("bewonersbijeenkomst-2027-04-08")
START = datetime(2027, 4, 8, 17, 0, tzinfo=UTC)  # 19:00 CEST
NOW = datetime(2027, 3, 25, 9, 0, tzinfo=UTC)  # T-14d


MEETING = Meeting(
    BEWONERS, SeriesId("bewonersbijeenkomst"), "Bewonersbijeenkomst",
    START, START + timedelta(hours=2), "Buurthuis De Linde",
)  # fmt: skip


async def test_the_folder_pdf_comes_from_a_child_and_weasyprint_stays_out(store: Store) -> None:
    meeting = MEETING
    async with store.transaction() as tx:
        await tx.sync_meetings([meeting], at=NOW - timedelta(days=60))
    config = parse_config(CONFIG, Path("wijkbode.toml"))

    async with store.reading() as tx:
        pdf = await folder_pdf(tx, config, BEWONERS, NOW)

    assert pdf.startswith(b"%PDF-")
    assert b"%%EOF" in pdf[-64:]
    assert "weasyprint" not in sys.modules


async def test_a_render_that_fails_in_the_child_is_a_bilingual_folder_error() -> None:
    # Any URL but data: is refused, so the child exits with an error instead of fetching.
    html = '<html><body><img src="http://192.0.2.1/logo.png"></body></html>'

    with pytest.raises(FolderError) as raised:
        await render_pdf(html)

    message = str(raised.value)
    assert message.startswith("de folder-PDF kon niet gemaakt worden (afsluitcode 1: ")
    assert "(the folder PDF could not be rendered (exit code 1: " in message
    assert "weasyprint" not in sys.modules


async def test_a_render_past_its_limit_is_killed_with_a_bilingual_folder_error() -> None:
    with pytest.raises(FolderError) as raised:
        await render_pdf("<html><body>folder</body></html>", limit_seconds=0)

    assert str(raised.value) == (
        "de folder-PDF kon niet gemaakt worden (na 0 s afgebroken) "
        "(the folder PDF could not be rendered (stopped after 0 s))"
    )


async def test_a_failed_render_fails_the_folder_job_and_the_scheduler_goes_on(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = parse_config(CONFIG, Path("wijkbode.toml"))
    settings = replace(
        EngineSettings.from_config(config), targets=Targets(core_room="!core:wijk.test")
    )
    clock = ManualClock(NOW - timedelta(days=60))
    async with store.transaction() as tx:
        await tx.sync_meetings([MEETING], at=clock.now())
        await materialise(
            tx, await tx.meetings(), await tx.open_agreements(), settings, clock.now()
        )
    # The child really fails: it is asked to run a module that does not exist.
    monkeypatch.setattr(folder, "_RENDER_MODULE", "daemon.publish.no_such_renderer")
    await clock.set(NOW + timedelta(hours=9, minutes=30))  # past the T-14d moment, 19:00 CET

    await Scheduler(store, clock, settings).fire_due()

    async with store.reading() as tx:
        jobs = await tx.jobs_of(SubjectType.MEETING, BEWONERS)
        rows = await tx.effects()
    folder_jobs = [j for j in jobs if j.moment == folder.FOLDER_MOMENT]
    assert [j.status for j in folder_jobs] == [JobStatus.FAILED]
    assert folder_jobs[0].note.startswith(
        "FolderError: de folder-PDF kon niet gemaakt worden (afsluitcode 1: "
    )
    assert "(the folder PDF could not be rendered (exit code 1: " in folder_jobs[0].note
    announced = [j for j in jobs if j.moment == "announce"]
    assert announced
    assert {j.status for j in announced} == {JobStatus.FIRED}  # the other moments went on
    assert rows
    assert all("folder" not in row.key for row in rows)
