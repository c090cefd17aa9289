"""The command line's traps, through the real entry point: one line and exit 2, no traceback.

Also: commands that only read never make a database, ``schedule`` shows the plan
before the first run, ``file`` says what really became of the item, and a meeting
taken out of the configuration disappears unless somebody already heard of it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from clitools import EXAMPLE, wijkbode, wijkbode_json

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"


def one_line_exit_2(result: subprocess.CompletedProcess[str]) -> str:
    """The refusal: exit 2, nothing on stdout, one ``wijkbode:`` line on stderr."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("wijkbode: ")
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def example(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return wijkbode("--config", str(EXAMPLE), "--state-dir", str(state_dir), *args)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["file", "--kind", "stuk", "--title", ""], "titel ontbreekt (title missing)"),
        (["file", "--kind", "stuk", "--title", "   "], "titel ontbreekt (title missing)"),
        (["file", "--kind", "stuk", "--title", ZERO_WIDTH], "titel ontbreekt (title missing)"),
        (["file", "--kind", "stuk", "--title", " \u200b \ufeff "], "titel ontbreekt"),
        (["file", "--kind", "stuk", "--title", "x" * 10_000], "at most 200"),
        (
            ["file", "--kind", "stuk", "--title", "Iets", "--from", "not-an-address"],
            "'not-an-address' is geen geldig e-mailadres (not a valid e-mail address)",
        ),
        (["schedule", "--days", "-5"], "--days: -5"),
        (["schedule", "--days", "99999999999"], "--days: 99999999999"),
        (["run", "--log-level", "LOUD"], "--log-level: onbekend logniveau 'LOUD'"),
    ],
    ids=[
        "empty-title",
        "spaces-title",
        "zero-width-title",
        "mixed-invisible-title",
        "long-title",
        "from-not-an-address",
        "negative-days",
        "huge-days",
        "unknown-log-level",
    ],
)
def test_bad_input_is_one_bilingual_line_and_exit_2(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    message = one_line_exit_2(example(tmp_path / "state", *args))
    assert expected in message
    assert not (tmp_path / "state" / "wijkbode.sqlite3").exists()


def test_a_state_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    afile = tmp_path / "state"
    afile.write_text("not a directory", encoding="utf-8")
    for args in (["file", "--kind", "stuk", "--title", "Iets"], ["outbox"], ["meetings"]):
        message = one_line_exit_2(example(afile, *args))
        assert f"toestandsmap {afile} is geen map maar een bestand" in message
        assert "is a file, not a directory" in message


def test_a_state_dir_that_cannot_be_created_is_refused(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    impossible = tmp_path / "afile" / "state"
    message = one_line_exit_2(example(impossible, "file", "--kind", "stuk", "--title", "Iets"))
    assert f"toestandsmap {impossible} kan niet gemaakt worden" in message
    assert f"(cannot create state directory {impossible})" in message


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory this process cannot write to, even as root (then: immutable)."""
    directory = tmp_path / "state"
    directory.mkdir()
    if os.geteuid() != 0:
        directory.chmod(0o555)
        yield directory
        directory.chmod(0o755)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(directory)], check=False).returncode:
        reason = "running as root without a way to make a directory read-only (chattr +i)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield directory
    finally:
        subprocess.run([chattr, "-i", str(directory)], check=True)


def test_a_read_only_state_dir_is_refused(read_only_dir: Path) -> None:
    for args in (["file", "--kind", "stuk", "--title", "Iets"], ["run", "--log-level", "INFO"]):
        message = one_line_exit_2(
            wijkbode("--config", str(_runnable_config(read_only_dir.parent)), *args)
            if args[0] == "run"
            else example(read_only_dir, *args)
        )
        assert f"toestandsmap {read_only_dir} is niet schrijfbaar" in message
        assert "(state directory" in message


def _runnable_config(directory: Path) -> Path:
    """A config ``run`` accepts (no connectors), its state_dir the read-only ``state``."""
    path = directory / "run.toml"
    path.write_text(
        'timezone = "Europe/Amsterdam"\nstate_dir = "state"\n\n'
        "[series.wijkalliantie]\n[series.wijkalliantie.plan]\n"
        "dates = [2027-04-06T19:30:00]\n",
        encoding="utf-8",
    )
    return path


# --- no silent empty database ----------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["outbox"],
        ["outbox", "retry", "1"],
        ["quarantine"],
        ["quarantine", "retry", "1"],
        ["agenda"],
    ],
    ids=["outbox", "outbox-retry", "quarantine", "quarantine-retry", "agenda"],
)
def test_a_command_without_state_says_so_and_makes_no_database(
    tmp_path: Path, args: list[str]
) -> None:
    empty = tmp_path / "nothing-here"
    message = one_line_exit_2(example(empty, *args))
    assert f"geen Wijkbode-gegevens in {empty} (no Wijkbode state in {empty})" in message
    assert not empty.exists()


def test_meetings_and_deadlines_before_the_first_run_read_the_plan_and_make_nothing(
    tmp_path: Path,
) -> None:
    empty = tmp_path / "nothing-here"
    meetings = wijkbode_json("meetings", state_dir=empty)
    assert "wijkalliantie-2027-01-19" in [m["id"] for m in meetings]
    assert wijkbode_json("deadlines", state_dir=empty)
    assert not empty.exists()


# --- schedule before the first run -----------------------------------------------------


def test_schedule_before_the_first_run_shows_the_planned_jobs_as_not_stored(
    tmp_path: Path,
) -> None:
    empty = tmp_path / "nothing-here"

    jobs = wijkbode_json("schedule", state_dir=empty)
    text = example(empty, "schedule")

    assert len(jobs) > 50
    assert {job["stored"] for job in jobs} == {False}
    assert {job["status"] for job in jobs} == {"pending"}
    assert "meeting/wijkalliantie-2027-01-19/concept_agenda/21d/matrix" in [j["key"] for j in jobs]
    assert text.returncode == 0, text.stderr
    assert "Geen taken" not in text.stdout
    assert "(nothing stored yet; these are the jobs from the plan)" in text.stdout
    assert "(nog niet opgeslagen / not yet stored)" in text.stdout.splitlines()[1]
    assert not empty.exists()


def test_the_planned_jobs_are_the_jobs_the_first_sync_stores(tmp_path: Path) -> None:
    planned = wijkbode_json("schedule", state_dir=tmp_path)
    wijkbode_json("file", "--kind", "stuk", "--title", "Iets", state_dir=tmp_path)
    stored = wijkbode_json("schedule", state_dir=tmp_path)

    assert {job["stored"] for job in stored} == {True}
    assert sorted(j["key"] for j in stored) == sorted(j["key"] for j in planned)
    # A job due "when the meeting is planned" (the feed's announce of a series without an
    # announcement moment) is due at the moment of each look; every other one is fixed.
    when_planned = "/announce/plan/"
    assert sorted((j["key"], j["due_at"]) for j in stored if when_planned not in j["key"]) == (
        sorted((j["key"], j["due_at"]) for j in planned if when_planned not in j["key"])
    )
    assert any(when_planned in j["key"] for j in planned)


# --- file tells the truth --------------------------------------------------------------


def test_file_from_an_unknown_sender_says_it_awaits_acceptance(tmp_path: Path) -> None:
    filed = wijkbode_json(
        "file", "--kind", "stuk", "--title", "Iets", "--from", "iemand@example.org",
        state_dir=tmp_path,
    )  # fmt: skip
    text = example(
        tmp_path, "file", "--kind", "stuk", "--title", "Nog iets", "--from", "iemand@example.org"
    )

    assert filed["status"] == "awaiting_acceptance"
    assert text.returncode == 0, text.stderr
    assert "wacht op acceptatie" in text.stdout
    assert "Op tijd." not in text.stdout
    assert "Besluitrijp." not in text.stdout


def test_file_from_a_partner_is_filed(tmp_path: Path) -> None:
    filed = wijkbode_json(
        "file", "--kind", "stuk", "--title", "Iets", "--from", "Iemand@Ymere.nl",
        state_dir=tmp_path,
    )  # fmt: skip
    assert filed["status"] == "filed"


# --- a meeting taken out of the configuration ---------------------------------------------

PLAN = """\
timezone = "Europe/Amsterdam"

[series.wijkalliantie]
[series.wijkalliantie.plan]
dates = [{dates}]
"""


def _plan(directory: Path, *dates: str) -> Path:
    path = directory / "wijkbode.toml"
    path.write_text(PLAN.format(dates=", ".join(dates)), encoding="utf-8")
    return path


def _meetings(config: Path, state_dir: Path) -> dict[str, str]:
    found = wijkbode_json("meetings", state_dir=state_dir, config=config)
    return {meeting["id"]: meeting["status"] for meeting in found}


def test_a_meeting_removed_from_the_config_before_anyone_heard_of_it_disappears(
    tmp_path: Path,
) -> None:
    both = _plan(tmp_path, "2027-04-06T19:30:00", "2027-05-18T19:30:00")
    wijkbode_json("file", "--kind", "stuk", "--title", "Iets", state_dir=tmp_path, config=both)
    assert set(_meetings(both, tmp_path)) == {
        "wijkalliantie-2027-04-06",
        "wijkalliantie-2027-05-18",
    }

    one = _plan(tmp_path, "2027-04-06T19:30:00")

    assert _meetings(one, tmp_path) == {"wijkalliantie-2027-04-06": "planned"}
    keys = [job["key"] for job in wijkbode_json("schedule", state_dir=tmp_path, config=one)]
    assert not [key for key in keys if "2027-05-18" in key]


def test_a_removed_meeting_that_an_item_was_filed_on_stays_as_cancelled(tmp_path: Path) -> None:
    both = _plan(tmp_path, "2027-04-06T19:30:00", "2027-05-18T19:30:00")
    filed = wijkbode_json(
        "file", "--kind", "stuk", "--title", "Iets", "--at", "2027-04-20T12:00",
        state_dir=tmp_path, config=both,
    )  # fmt: skip
    assert filed["meeting"] == "wijkalliantie-2027-05-18"

    one = _plan(tmp_path, "2027-04-06T19:30:00")

    assert _meetings(one, tmp_path) == {
        "wijkalliantie-2027-04-06": "planned",
        "wijkalliantie-2027-05-18": "cancelled",
    }
    agenda = example_agenda(one, tmp_path, "wijkalliantie-2027-05-18")
    assert [item["title"] for item in agenda["items"]] == ["Iets"]


def example_agenda(config: Path, state_dir: Path, meeting: str) -> dict[str, object]:
    result = wijkbode(
        "--config", str(config), "--state-dir", str(state_dir), "agenda", meeting, "--json"
    )
    assert result.returncode == 0, result.stderr
    loaded: dict[str, object] = json.loads(result.stdout)
    return loaded
