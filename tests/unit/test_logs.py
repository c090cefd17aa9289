"""The operator log (daemon/runtime/logs.py): one line per event, journald-friendly,
mail addresses masked above DEBUG."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import pytest

from daemon.runtime.logs import MASK, EventFormatter, configure, to_journal


def record(level: int, message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("wijkbode.mail", level, __file__, 1, message, args, None)


def test_under_journald_a_line_has_a_priority_and_no_timestamp_of_its_own() -> None:
    journal = EventFormatter(journal=True)
    assert journal.format(record(logging.INFO, "mail %s/%s filed as item %s", 7, 3, 12)) == (
        "<6>INFO wijkbode.mail: mail 7/3 filed as item 12"
    )
    assert journal.format(record(logging.WARNING, "x")).startswith("<4>WARNING ")
    assert journal.format(record(logging.ERROR, "x")).startswith("<3>ERROR ")
    plain = EventFormatter(journal=False).format(record(logging.INFO, "x"))
    assert plain[:4].isdigit(), plain  # the year of its own timestamp


def test_one_event_is_one_line_even_with_a_traceback() -> None:
    try:
        raise ValueError("kapot\necht")
    except ValueError:
        failed = record(logging.ERROR, "job %d failed", 4)
        failed.exc_info = sys.exc_info()
    line = EventFormatter(journal=True).format(failed)
    assert "\n" not in line
    assert line.startswith("<3>ERROR wijkbode.mail: job 4 failed ⏎ Traceback")
    assert "ValueError: kapot ⏎ echt" in line


def test_addresses_are_masked_above_debug_and_shown_with_verbose() -> None:
    formatter = EventFormatter(journal=True)
    said = "550 5.1.1 <anna.devries@wijk.nl>: user unknown; bot @wijkbode:wijk.nl"
    assert formatter.format(record(logging.WARNING, said)) == (
        f"<4>WARNING wijkbode.mail: 550 5.1.1 <{MASK}>: user unknown; bot @wijkbode:wijk.nl"
    )
    assert "anna.devries@wijk.nl" in formatter.format(record(logging.DEBUG, said))


def test_journal_stream_must_name_our_stderr(tmp_path: Path) -> None:
    with (tmp_path / "err").open("w") as stream:
        status = os.fstat(stream.fileno())
        ours = f"{status.st_dev}:{status.st_ino}"
        assert to_journal(stream, {"JOURNAL_STREAM": ours})
        assert not to_journal(stream, {"JOURNAL_STREAM": f"{status.st_dev}:1"})
        assert not to_journal(stream, {"INVOCATION_ID": "abc"})


def test_configure_picks_the_journal_format_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (tmp_path / "err").open("w") as stream:
        status = os.fstat(stream.fileno())
        monkeypatch.setattr(sys, "stderr", stream)
        monkeypatch.setenv("JOURNAL_STREAM", f"{status.st_dev}:{status.st_ino}")
        root = logging.getLogger()
        saved = (root.handlers[:], root.level)
        try:
            configure("INFO")
            logging.getLogger("wijkbode").info("Wijkbode draait / running")
            stream.flush()
        finally:
            root.handlers[:], level = saved
            root.setLevel(level)
    assert (tmp_path / "err").read_text() == "<6>INFO wijkbode: Wijkbode draait / running\n"
