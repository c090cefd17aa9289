"""The demo (``python -m harness.demo --once``) plays its whole scenario against the real
servers and the real daemon, reports every step done, and really did what it showed.
"""

from __future__ import annotations

import json
import mailbox
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from clitools import wijkbode

from harness.demo_dir import MARKER, DemoDirError, prepare_demo_dir
from harness.demo_report import STEPS
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
