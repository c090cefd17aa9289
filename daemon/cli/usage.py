"""Argparse made to speak like the rest of the command line.

A usage error (an unknown option, a missing ``--title``, ``--days abc``) is one
line on stderr, Dutch then English, and exit 2, like every other mistake a
person can fix. Argparse words its errors in English from a small, fixed set of
templates; each is recognised here and said again in Dutch through the catalog.
Every subcommand's own ``--help`` starts with its one-line summary, and
``--version`` reads the version of the installed distribution.
"""

from __future__ import annotations

import argparse
import re
from importlib.metadata import PackageNotFoundError, version
from typing import Any, NoReturn

from daemon.i18n import Translator, mark

EXIT_USAGE = 2
DISTRIBUTION = "wijkbode"

HELP_HELP = "toon deze hulp en stop / show this help and exit"

_SEE_HELP = mark("see {command} --help")
_FALLBACK = mark("the command line is not right: {problem}")


def _problem(pattern: str, msgid: str) -> tuple[re.Pattern[str], str]:
    return re.compile(pattern, re.DOTALL), msgid


# Argparse's own templates (Python 3.11), matched whole; the named groups fill the msgid.
_PROBLEMS = (
    _problem(
        r"the following arguments are required: (?P<names>.+)",
        mark("the following arguments are required: {names}"),
    ),
    _problem(r"unrecognized arguments: (?P<names>.+)", mark("unrecognized arguments: {names}")),
    _problem(
        r"invalid choice: (?P<value>.+) \(choose from (?P<choices>.+)\)",
        mark("invalid choice: {value} (choose from {choices})"),
    ),
    _problem(r"invalid int value: (?P<value>.+)", mark("not a whole number: {value}")),
    _problem(r"invalid float value: (?P<value>.+)", mark("not a number: {value}")),
    _problem(r"invalid \S+ value: (?P<value>.+)", mark("invalid value: {value}")),
    _problem(r"expected one argument", mark("expected one value")),
    _problem(r"expected at most one argument", mark("expected at most one value")),
    _problem(r"expected at least one argument", mark("expected at least one value")),
    _problem(r"expected (?P<count>\d+) arguments?", mark("expected {count} values")),
    _problem(r"not allowed with argument (?P<other>.+)", mark("not allowed with {other}")),
    _problem(r"ignored explicit argument (?P<value>.+)", mark("takes no value: {value}")),
    _problem(
        r"ambiguous option: (?P<option>\S+) could match (?P<matches>.+)",
        mark("ambiguous option: {option} could mean {matches}"),
    ),
    _problem(
        r"one of the arguments (?P<names>.+) is required",
        mark("one of these arguments is required: {names}"),
    ),
)
_ARGUMENT = re.compile(r"argument (?P<argument>[^:]+): (?P<problem>.+)", re.DOTALL)


class BilingualParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors and ``-h`` read Dutch first, then English.

    ``add_subparsers`` builds its subparsers with this class too.
    """

    def __init__(self, *args: Any, add_help: bool = True, **kwargs: Any) -> None:
        kwargs["add_help"] = False  # argparse's own -h reads English only
        super().__init__(*args, **kwargs)
        if add_help:
            self.add_argument(
                "-h", "--help", action="help", default=argparse.SUPPRESS, help=HELP_HELP
            )

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {usage_error(message, self.prog)}\n")


def usage_error(message: str, command: str) -> str:
    """``message`` from argparse as one line: Dutch, then the English in brackets."""
    nl, en = Translator("nl"), Translator("en")
    problem = " ".join(message.split())

    def say(translator: Translator) -> str:
        return f"{_translated(problem, translator)}; {translator(_SEE_HELP, command=command)}"

    return f"{say(nl)} ({say(en)})"


def _translated(problem: str, _: Translator) -> str:
    argument = _ARGUMENT.fullmatch(problem)
    if argument is not None:
        return f"{argument['argument']}: {_translated(argument['problem'], _)}"
    for pattern, msgid in _PROBLEMS:
        found = pattern.fullmatch(problem)
        if found is not None:
            return _(msgid, **found.groupdict())
    return _(_FALLBACK, problem=problem)


def installed_version() -> str:
    """The version of the installed ``wijkbode`` distribution (one source: pyproject.toml)."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


def describe_subcommands(parser: argparse.ArgumentParser) -> None:
    """Give every subcommand without a description its one-line summary as one.

    The summary is what ``wijkbode --help`` lists; ``wijkbode agenda --help``
    then starts with the same line instead of only the usage.
    """
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        summaries = {choice.dest: choice.help for choice in action._choices_actions}
        for name, subparser in action.choices.items():
            if subparser.description is None:
                subparser.description = summaries.get(name)
            describe_subcommands(subparser)
