"""``wijkbode outbox [retry ID]`` and ``wijkbode schedule`` on a real store, in-process."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from daemon.cli import main
from daemon.ports.outbox import ChannelName, ChatPost, EffectStatus, NewEffect
from daemon.store import Store
from daemon.store.engine import JobSpec, JobStatus, SubjectType

CONFIG = """\
[series.wijkalliantie]
[series.wijkalliantie.plan]
dates = [2027-04-06T19:30:00]
"""
CREATED = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
LONG_AGO = datetime(2020, 1, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def setup(tmp_path: Path) -> list[str]:
    """The global options for a config and state directory of this test's own."""
    config = tmp_path / "wijkbode.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return ["--config", str(config), "--state-dir", str(tmp_path / "state")]


def post(key: str, room: str) -> NewEffect:
    return NewEffect(ChannelName.MATRIX, room, key, ChatPost(body=key, html=key))


def job(key: str, due: datetime) -> JobSpec:
    return JobSpec(
        key=key,
        subject_type=SubjectType.MEETING,
        subject_id="wijkalliantie-2027-04-06",
        moment="reminder:stuk",
        channel=ChannelName.MAIL,
        due_at=due,
        target_at=due + timedelta(days=7),
        subject_at=due + timedelta(days=21),
    )


async def _fill(state_dir: Path) -> dict[str, int]:
    """One delivered, one failing and one parked row; three jobs, one settled long ago."""
    store = await Store.open(state_dir)
    try:
        async with store.transaction() as tx:
            for key in ("delivered", "failing", "parked"):
                await tx.enqueue(post(key, f"!{key}:example.org"), now=CREATED)
            ids = {e.key: e.id for e in await tx.effects()}
            await tx.mark_delivered(ids["delivered"], "$e", at=CREATED)
            await tx.record_failed_attempt(
                ids["failing"], attempts=3, next_attempt_at=CREATED, error="TransientError: 502"
            )
            await tx.park(ids["parked"], attempts=1, reason="PermanentError: not in room")
            await tx.insert_job(job("upcoming", CREATED + timedelta(days=3)), now=CREATED)
            fired = await tx.insert_job(job("fired", CREATED), now=CREATED)
            await tx.settle_job(fired.id, JobStatus.FIRED, "", now=CREATED)
            old = await tx.insert_job(job("old", LONG_AGO), now=LONG_AGO)
            await tx.settle_job(old.id, JobStatus.SKIPPED, "te laat", now=LONG_AGO)
        return ids
    finally:
        await store.close()


def fill(setup: list[str]) -> dict[str, int]:
    return asyncio.run(_fill(Path(setup[3])))


def test_outbox_json_lists_undelivered_rows_with_their_errors(
    setup: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    fill(setup)

    assert main([*setup, "outbox", "--json"]) == 0

    rows = json.loads(capsys.readouterr().out)
    assert [(r["key"], r["status"], r["attempts"], r["last_error"]) for r in rows] == [
        ("failing", "pending", 3, "TransientError: 502"),
        ("parked", "parked", 1, "PermanentError: not in room"),
    ]
    assert rows[0]["destination"] == "!failing:example.org"
    assert rows[0]["created_at"] == "2027-03-01T10:00:00+01:00"
    assert set(rows[0]) == {
        "id",
        "channel",
        "destination",
        "key",
        "status",
        "created_at",
        "age_seconds",
        "attempts",
        "next_attempt_at",
        "last_error",
    }


def test_outbox_text_names_destination_and_error(
    setup: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    fill(setup)

    assert main([*setup, "outbox"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert "!parked:example.org" in lines[1]
    assert lines[1].endswith("PermanentError: not in room")


def test_outbox_retry_puts_a_parked_row_back(
    setup: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    ids = fill(setup)

    assert main([*setup, "outbox", "retry", str(ids["parked"])]) == 0

    assert capsys.readouterr().out == (
        f"Rij {ids['parked']} staat weer in de wachtrij / Row {ids['parked']} is queued again\n"
    )
    assert main([*setup, "outbox", "--json"]) == 0
    rows = {r["key"]: r for r in json.loads(capsys.readouterr().out)}
    assert (rows["parked"]["status"], rows["parked"]["attempts"]) == (
        EffectStatus.PENDING.value,
        0,
    )


@pytest.mark.parametrize(
    ("which", "reason"),
    [("failing", "is not parked, nothing to retry"), ("missing", "no outbox row")],
)
def test_outbox_retry_refuses_an_unknown_or_unparked_row(
    setup: list[str], capsys: pytest.CaptureFixture[str], which: str, reason: str
) -> None:
    ids = fill(setup)
    row = ids.get(which, 9999)

    assert main([*setup, "outbox", "retry", str(row)]) == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"wijkbode: rij {row} ")
    assert reason in captured.err


def test_schedule_json_shows_upcoming_and_recent_jobs(
    setup: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    fill(setup)

    assert main([*setup, "schedule", "--json"]) == 0

    jobs = json.loads(capsys.readouterr().out)
    assert [(j["key"], j["status"], j["due_at"]) for j in jobs] == [
        ("fired", "fired", "2027-03-01T10:00:00+01:00"),
        ("upcoming", "pending", "2027-03-04T10:00:00+01:00"),
    ]
    assert jobs[1] == {
        "key": "upcoming",
        "subject_type": "meeting",
        "subject": "wijkalliantie-2027-04-06",
        "moment": "reminder:stuk",
        "channel": "mail",
        "due_at": "2027-03-04T10:00:00+01:00",
        "status": "pending",
        "fired_at": None,
        "note": "",
        "stored": True,
    }
