"""What the ``wijkbode`` command says, through the real entry point: its version, its help,
its usage errors, its JSON times, and ``file`` and ``agenda`` as a person reads them."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from clitools import EXAMPLE, ROOT, wijkbode, wijkbode_json

from daemon.cli import build_parser
from daemon.ports.outbox import ChannelName, ChatPost, NewEffect
from daemon.store import Store
from daemon.store.engine import JobSpec, SubjectType

APRIL = "wijkalliantie-2027-04-06"  # Tue 6 April 2027 19:30
CANCELLED = "kerngroep-2027-12-06"  # cancelled in the example configuration
# A moment with microseconds, as the store keeps every "now".
FINE = datetime(2027, 3, 10, 11, 0, 0, 123456, tzinfo=UTC)
FRACTION = re.compile(r"\d{2}:\d{2}:\d{2}\.\d")
SECONDS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}")


def run(state_dir: Path, *args: str, config: Path = EXAMPLE) -> str:
    result = wijkbode("--config", str(config), "--state-dir", str(state_dir), *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def file_item(state_dir: Path, *args: str) -> int:
    filed = wijkbode_json("file", *args, state_dir=state_dir)
    return int(filed["item"])


# --- --version and --help ------------------------------------------------------------


def test_version_is_the_installed_distributions() -> None:
    result = wijkbode("--version")
    assert (result.returncode, result.stdout) == (0, f"wijkbode {version('wijkbode')}\n")


def _subcommands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*path, name)
                yield from _subcommands(sub, (*path, name))


SUBCOMMANDS = list(_subcommands(build_parser()))


def _description(help_text: str) -> str:
    """The paragraph between the usage and the first argument section."""
    second = help_text.split("\n\n")[1]
    return "" if second.splitlines()[0].endswith(":") else " ".join(second.split())


def test_the_top_help_lists_every_command_with_a_bilingual_summary() -> None:
    result = wijkbode("--help")
    assert result.returncode == 0
    listed = dict(re.findall(r"^    (\S+) +(\S.*)$", result.stdout, re.MULTILINE))
    top = [path[0] for path in SUBCOMMANDS if len(path) == 1]
    assert sorted(listed) == sorted(top)
    assert all(" / " in summary for summary in listed.values()), listed


@pytest.mark.parametrize("path", SUBCOMMANDS, ids=" ".join)
def test_every_subcommand_help_starts_with_its_summary(path: tuple[str, ...]) -> None:
    result = wijkbode(*path, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: wijkbode {' '.join(path)} ")
    described = _description(result.stdout)
    assert " / " in described, result.stdout  # Dutch / English
    assert "show this help message" not in result.stdout


# --- usage errors --------------------------------------------------------------------

USAGE_ERRORS = [
    (("agenda", "--bogus"), "onbekende argumenten: --bogus", "unrecognized arguments: --bogus"),
    (
        ("file", "--kind", "stuk"),
        "deze argumenten ontbreken: --title",
        "the following arguments are required: --title",
    ),
    (("schedule", "--days", "veel"), "--days: geen geheel getal: 'veel'", "not a whole number"),
    (("file", "--kind", "nota", "--title", "x"), "--kind: ongeldige keuze: 'nota'", "invalid"),
    ((), "deze argumenten ontbreken: COMMAND", "the following arguments are required: COMMAND"),
    (("outbox", "retry"), "deze argumenten ontbreken: ID", "the following arguments are required"),
]


@pytest.mark.parametrize(("args", "dutch", "english"), USAGE_ERRORS)
def test_a_usage_error_is_one_line_dutch_then_english(
    args: tuple[str, ...], dutch: str, english: str
) -> None:
    result = wijkbode(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert dutch in result.stderr
    assert english in result.stderr
    assert result.stderr.index(dutch) < result.stderr.index(english)
    assert "--help" in result.stderr  # where to read more
    assert "error:" not in result.stderr


# --- JSON: whole seconds, and what the README says -----------------------------------


@pytest.fixture
def busy_state(tmp_path: Path) -> Path:
    """An item filed now, one outbox row, one job and one quarantined mail, all with
    microseconds in their times (as the daemon writes them)."""
    file_item(tmp_path, "--kind", "stuk", "--title", "Nu", "--from", "jan@amsterdam.nl")

    async def fill() -> None:
        store = await Store.open(tmp_path)
        try:
            async with store.transaction() as tx:
                post = ChatPost(body="hallo", html="<p>hallo</p>")
                await tx.enqueue(NewEffect(ChannelName.MATRIX, "!r:x", "k", post), now=FINE)
                spec = JobSpec(
                    key="job", subject_type=SubjectType.MEETING, subject_id=APRIL,
                    moment="reminder:stuk", channel=ChannelName.MAIL, due_at=FINE,
                    target_at=FINE + timedelta(days=7), subject_at=FINE + timedelta(days=27),
                )  # fmt: skip
                await tx.insert_job(spec, now=FINE)
                await tx.add_quarantine(
                    folder="INBOX", uidvalidity=1, uid=7, message_id="<m@x>",
                    content_sha256="0" * 64, sender="a@b.example", subject="?", reason="kapot",
                    at=FINE,
                )  # fmt: skip
        finally:
            await store.close()

    asyncio.run(fill())
    return tmp_path


JSON_COMMANDS = [
    ("agenda",),  # the next meeting, where the item filed now went
    ("meetings",),
    ("deadlines", "--now", "2027-03-10T12:00:00.5"),
    ("schedule", "--days", "3650"),
    ("outbox",),
    ("quarantine",),
]


@pytest.mark.parametrize("args", JSON_COMMANDS, ids=lambda args: args[0])
def test_json_times_are_whole_seconds(busy_state: Path, args: tuple[str, ...]) -> None:
    output = run(busy_state, *args, "--json")
    assert SECONDS.search(output), output  # there are times to look at
    assert FRACTION.search(output) is None, output


def _documented_keys(command: str) -> set[str]:
    """The keys the README's "JSON output" section gives for ``command --json``."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.partition("### JSON output")[2].partition("\n## ")[0]
    entry = re.search(rf"^- `{command} --json`:(.*?)(?=^- |\Z)", section, re.DOTALL | re.MULTILINE)
    assert entry is not None, f"README documents no `{command} --json`"
    braces = "".join(re.findall(r"\{[^{}]*", entry[1]))
    return set(re.findall(r'"(\w+)"', braces))


def _keys(value: Any) -> set[str]:
    """Every key of the JSON objects in ``value``, one level of nesting included."""
    rows = value if isinstance(value, list) else [value]
    keys: set[str] = set()
    for row in rows:
        keys |= set(row)
        for inner in row.values():
            if isinstance(inner, list) and inner and isinstance(inner[0], dict):
                keys |= _keys(inner)
    return keys


@pytest.mark.parametrize("args", JSON_COMMANDS, ids=lambda args: args[0])
def test_the_readme_documents_every_json_key(busy_state: Path, args: tuple[str, ...]) -> None:
    output = json.loads(run(busy_state, *args, "--json"))
    assert output, "nothing to compare"
    assert _keys(output) == _documented_keys(args[0])


# --- file and agenda as a person reads them -------------------------------------------


def test_the_text_agenda_names_items_wb_n(tmp_path: Path) -> None:
    at = ("--at", "2027-03-10T12:00")
    stuk = file_item(tmp_path, "--kind", "stuk", "--title", "Stuk A", "--from", "a@ymere.nl", *at)
    late = file_item(tmp_path, "--kind", "agendapunt", "--title", "Punt B", "--at", "2027-03-30")
    may = file_item(tmp_path, "--kind", "agendapunt", "--title", "Punt C", *at)
    rows = run(tmp_path, "agenda", APRIL).splitlines()[2:]
    assert rows == [
        f"WB-{may} [agendapunt] Punt C — cli",
        f"WB-{stuk} [stuk] Stuk A — a@ymere.nl",
    ]
    later = run(tmp_path, "agenda", "wijkalliantie-2027-05-18")
    assert f"WB-{late} [agendapunt] Punt B — cli (te laat / late" in later


def started(state_dir: Path) -> None:
    """A state directory in use: one item filed (reading commands need a database)."""
    file_item(state_dir, "--kind", "stuk", "--title", "Eerste", "--at", "2027-03-10T12:00")


def test_a_cancelled_meetings_agenda_says_so(tmp_path: Path) -> None:
    started(tmp_path)
    text = run(tmp_path, "agenda", CANCELLED)
    assert "Afgelast: Kerngroep op maandag 6 december 2027, 20:00 gaat niet door." in text
    assert "Cancelled: Kerngroep on Monday 6 December 2027, 20:00 does not take place." in text
    assert wijkbode_json("agenda", CANCELLED, state_dir=tmp_path)["cancelled"] is True
    assert wijkbode_json("agenda", APRIL, state_dir=tmp_path)["cancelled"] is False
    assert "Afgelast" not in run(tmp_path, "agenda", APRIL)


def test_agenda_takes_a_date_or_a_series_as_chat_does(tmp_path: Path) -> None:
    started(tmp_path)
    assert wijkbode_json("agenda", "2027-04-06", state_dir=tmp_path)["meeting"] == APRIL
    assert wijkbode_json("agenda", "2027-12-06", state_dir=tmp_path)["meeting"] == CANCELLED
    assert wijkbode_json("agenda", "wijkalliantie", state_dir=tmp_path)["meeting"].startswith(
        "wijkalliantie-"
    )
    result = wijkbode(
        "--config", str(EXAMPLE), "--state-dir", str(tmp_path), "agenda", "2027-04-07"
    )
    assert result.returncode == 2
    assert result.stderr == (
        "wijkbode: geen vergadering op 2027-04-07; zie `wijkbode meetings` "
        "(no meeting on that date; see `wijkbode meetings`)\n"
    )


def test_file_and_agenda_are_dutch_with_english_alongside(tmp_path: Path) -> None:
    filed = run(tmp_path, "file", "--kind", "agendapunt", "--title", "Groen", "--at", "2027-03-30")
    dutch, rule, english = filed.partition("\n\n— English —\n")
    assert rule
    assert re.fullmatch(
        r"Ingediend als item WB-\d+: Groen\n"
        r"Vergadering: Wijkalliantie, dinsdag 18 mei 2027, 19:30\n"
        r"Te laat voor de vergadering van dinsdag 6 april 2027, 19:30; .*\n"
        r"Niet besluitrijp\.",
        dutch,
    ), dutch
    assert re.fullmatch(
        r"Filed as item WB-\d+: Groen\n"
        r"Meeting: Wijkalliantie, Tuesday 18 May 2027, 19:30\n"
        r"Late for the meeting of Tuesday 6 April 2027, 19:30; moved to the next one\.\n"
        r"Not ready for decision\.\n",
        english,
    ), english
    agenda = run(tmp_path, "agenda", "wijkalliantie-2027-05-18").splitlines()
    assert agenda[0] == (
        "Agenda van Wijkalliantie, dinsdag 18 mei 2027, 19:30 (wijkalliantie-2027-05-18)"
    )
    assert agenda[1] == (
        "Agenda of Wijkalliantie, Tuesday 18 May 2027, 19:30 (wijkalliantie-2027-05-18)"
    )
    assert agenda[2].endswith("(te laat / late; niet besluitrijp / not ready for decision)")
    empty = run(tmp_path, "agenda", APRIL).splitlines()
    assert empty[2:] == ["Nog geen agendapunten. / No items yet."]


def test_with_language_en_file_and_agenda_are_english_only(tmp_path: Path) -> None:
    config = tmp_path / "wijkbode.toml"
    text = EXAMPLE.read_text(encoding="utf-8").replace('language = "nl"', 'language = "en"')
    config.write_text(text, encoding="utf-8")
    state = tmp_path / "state"
    filed = run(
        state, "file", "--kind", "stuk", "--title", "X", "--at", "2027-03-10", config=config
    )
    assert filed.startswith("Filed as item WB-")
    assert "English" not in filed
    assert "Ingediend" not in filed
    agenda = run(state, "agenda", APRIL, config=config).splitlines()
    assert agenda[0].startswith("Agenda of Wijkalliantie, Tuesday 6 April 2027")
    assert agenda[1].startswith("WB-")
