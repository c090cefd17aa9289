"""The demo (``python -m harness.demo --once``) plays its whole scenario against the real
servers and the real daemon, reports every step done, and really did what it showed.
"""

from __future__ import annotations

import io
import json
import mailbox
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from clitools import wijkbode

from harness.demo import KEEPS_RUNNING
from harness.demo_config import make_plan
from harness.demo_dir import MARKER, DemoDirError, prepare_demo_dir
from harness.demo_report import STEPS, Report, StepState
from harness.demo_scenario import SCHEDULED_STEPS, report_unwatched
from harness.servers import make_run_dir

ROOT = Path(__file__).parents[2]
# The clock 600x as fast and the announcement 10 s after the start: the whole story in ~30 s.
FAST = ["--speed", "600", "--lead", "10", "--step-timeout", "30"]
SUMMARY_LINE = re.compile(r"^  \[(?P<state>[a-z ]+)\] (?P<step>[a-z0-9-]+) — ", re.MULTILINE)


@dataclass(frozen=True)
class DemoRun:
    directory: Path
    result: subprocess.CompletedProcess[str]

    @property
    def states(self) -> dict[str, str]:
        """Each step's state as the summary reports it."""
        summary = self.result.stdout.rpartition("Samenvatting / Summary")[2]
        return {m["step"]: m["state"] for m in SUMMARY_LINE.finditer(summary)}

    def captured(self) -> list[EmailMessage]:
        """The mail the relay captured (everything sent outside wijk.test), from its Maildir."""
        folder = mailbox.Maildir(self.directory / "servers" / "smtp" / "captured", create=False)
        raw = [folder.get_bytes(key) for key in folder.keys()]  # noqa: SIM118 -- keys, not messages
        parsed = [message_from_bytes(each, policy=policy.default) for each in raw]
        return [m for m in parsed if isinstance(m, EmailMessage)]


@pytest.fixture(scope="module")
def demo_run() -> Iterator[DemoRun]:
    """One ``--once`` run of the whole scenario, scheduled moments included."""
    directory = make_run_dir("wijkbode-demo-test-")
    try:
        result = subprocess.run(
            [sys.executable, "-m", "harness.demo", "--once", "--dir", str(directory), *FAST],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=150,
            check=False,
        )
        yield DemoRun(directory, result)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_demo_reports_every_step_done(demo_run: DemoRun) -> None:
    output = demo_run.result.stdout + demo_run.result.stderr
    assert demo_run.states == dict.fromkeys(STEPS, "done"), output
    assert demo_run.result.returncode == 0, output
    assert "Traceback" not in output


def test_demo_partner_got_a_receipt_and_residents_the_announcement(demo_run: DemoRun) -> None:
    sent = {(str(m["To"]), str(m["Subject"])) for m in demo_run.captured()}
    receipts = [s for to, s in sent if "secretariaat@ymere.nl" in to and "Renovatieplan" in s]
    announcements = [s for to, s in sent if "bewoners@depunt.test" in to]
    assert len(receipts) == 1, sent
    assert len(announcements) == 1, sent
    assert "Bewonersbijeenkomst" in announcements[0]


def test_demo_filed_the_mail_and_the_chat_point_on_one_agenda(demo_run: DemoRun) -> None:
    config = demo_run.directory / "wijkbode.toml"
    answer = wijkbode("--config", str(config), "agenda", "--json")
    assert answer.returncode == 0, answer.stderr
    items = {(item["kind"], item["title"]) for item in json.loads(answer.stdout)["items"]}
    assert items == {
        ("stuk", "Renovatieplan Meeuwenlaan 2027"),
        ("agendapunt", "Speeltuin Meeuwenpark"),
    }


def test_demo_announcement_is_in_the_calendar(demo_run: DemoRun) -> None:
    collections = demo_run.directory / "servers" / "radicale" / "collections"
    # Radicale keeps one .ics file per event, and a cache under .Radicale.cache.
    files = [p for p in collections.rglob("*.ics") if ".Radicale.cache" not in p.parts]
    events = [p.read_text("utf-8") for p in files]
    assert [e for e in events if "SUMMARY:Bewonersbijeenkomst" in e], events


def test_demo_secrets_are_private_files(demo_run: DemoRun) -> None:
    secrets = demo_run.directory / "secrets"
    modes = {p.name: p.stat().st_mode & 0o777 for p in secrets.iterdir()}
    assert modes == dict.fromkeys(
        ["alice-password", "caldav-password", "imap-password", "matrix-password", "smtp-password"],
        0o600,
    )
    config = (demo_run.directory / "wijkbode.toml").read_text("utf-8")
    for secret in secrets.iterdir():
        assert secret.read_text("utf-8").strip() not in config


def test_demo_refuses_to_empty_a_directory_that_is_not_its_own(tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("years of work")
    with pytest.raises(DemoDirError):
        prepare_demo_dir(tmp_path)
    assert (tmp_path / "thesis.tex").read_text() == "years of work"


def test_demo_empties_its_own_directory(tmp_path: Path) -> None:
    (tmp_path / MARKER).write_text("")
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "wijkbode.sqlite3").write_text("old run")
    prepare_demo_dir(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [MARKER]


def _summary_detail(output: str, step: str) -> str:
    """The detail in brackets at the end of ``step``'s summary line."""
    summary = output.rpartition("Samenvatting / Summary")[2]
    line = re.search(rf"^  \[[a-z ]+\] {step} — .*$", summary, re.MULTILINE)
    assert line is not None, summary
    detail = re.search(r"\(([^()]*)\)$", line[0])
    assert detail is not None, line[0]
    return detail[1]


def _heading_time(output: str, words: str) -> str:
    """'dd-mm HH:MM' as step e's heading gives it after ``words`` (wrapped lines allowed)."""
    found = re.search(rf"{words}\s+\((\d\d-\d\d)\s+(\d\d:\d\d)\)", output)
    assert found is not None, output
    return f"{found[1]} {found[2]}"


def test_demo_scheduled_steps_give_their_own_time(demo_run: DemoRun) -> None:
    output = demo_run.result.stdout
    announce = _heading_time(output, "vooraf aangekondigd")
    reminder = _heading_time(output, "een herinnering")
    assert announce != reminder
    for step in ("e-calendar", "e-announce-room", "e-residents-mail"):
        assert announce in _summary_detail(output, step)
    assert reminder in _summary_detail(output, "e-reminder")
    assert announce not in _summary_detail(output, "e-reminder")


PLAN = make_plan(datetime(2027, 3, 1, 9, 0, tzinfo=UTC), timedelta(minutes=10))


def test_without_speed_a_moment_still_to_come_is_said_to_come_later_at_its_time() -> None:
    out = io.StringIO()
    report = Report(out=out)
    for step in SCHEDULED_STEPS:
        report_unwatched(report, step, PLAN, once=False)
    assert {step: report.results[step].state for step in SCHEDULED_STEPS} == dict.fromkeys(
        SCHEDULED_STEPS, StepState.LATER
    )
    announce, reminder = f"{PLAN.announce_at:%H:%M}", f"{PLAN.reminder_at:%H:%M}"
    assert announce != reminder
    assert f"due at {reminder} (real time)" in report.results["e-reminder"].detail
    assert f"due at {announce} (real time)" in report.results["e-calendar"].detail
    assert "it appears below" in report.results["e-reminder"].detail
    assert "skipped" not in out.getvalue()
    assert "overgeslagen" not in out.getvalue()


def test_with_once_and_without_speed_the_moments_are_not_waited_for() -> None:
    report = Report(out=io.StringIO())
    report_unwatched(report, "e-reminder", PLAN, once=True)
    result = report.results["e-reminder"]
    assert result.state is StepState.SKIPPED
    assert f"it is due at {PLAN.reminder_at:%H:%M} and --once stops before that" in result.detail


def test_the_demo_says_new_messages_appear_below() -> None:
    dutch, english = KEEPS_RUNNING
    assert "hieronder" in dutch
    assert "appear below" in english
    assert "hierboven" not in dutch
    assert "above" not in english
