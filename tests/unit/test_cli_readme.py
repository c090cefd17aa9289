"""The README's "Command line" section names every command and option that exists."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.cli import build_parser

README = Path(__file__).resolve().parents[2] / "README.md"


def _section() -> str:
    text = README.read_text(encoding="utf-8")
    return text.partition("\n## Command line\n")[2].partition("\n## ")[0]


def _row(command: str) -> str:
    """The table row of ``wijkbode COMMAND``."""
    rows = re.findall(rf"^\| `wijkbode {re.escape(command)}[ `].*$", _section(), re.MULTILINE)
    assert len(rows) == 1, f"README: one table row for `wijkbode {command}`, found {rows}"
    return rows[0]


def _options(parser: argparse.ArgumentParser) -> list[str]:
    """Long option names and positional metavars, without -h/--help."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        if action.option_strings:
            found.append(max(action.option_strings, key=len))
        else:
            found.append(str(action.metavar or action.dest))
    return found


def _commands() -> Iterator[tuple[str, argparse.ArgumentParser]]:
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


COMMANDS = dict(_commands())


def test_the_global_options_are_documented() -> None:
    section = _section()
    missing = [o for o in _options(build_parser()) if o != "COMMAND" and o not in section]
    assert missing == []


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_option_of_a_command_is_in_its_row(command: str) -> None:
    row = _row(command)
    assert [o for o in _options(COMMANDS[command]) if o not in row] == []


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_subcommand_of_a_command_is_in_its_row(command: str) -> None:
    for action in COMMANDS[command]._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                usage = " ".join([f"wijkbode {command} {name}", *_options(sub)])
                assert usage in _row(command)
