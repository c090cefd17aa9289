"""The example config: valid, RULES.md defaults unchanged, all of 2027, both DST changes."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from daemon.config import Config, load_config
from daemon.config.runnable import PLACEHOLDERS, check_runnable, configured_values
from daemon.errors import ConfigError
from daemon.model import SeriesId
from daemon.rules import defaults

EXAMPLE = Path(__file__).parents[2] / "config" / "wijkbode.example.toml"


@pytest.fixture(scope="module")
def example() -> Config:
    return load_config(EXAMPLE)


def test_example_plans_the_three_series(example: Config) -> None:
    assert list(example.series) == ["wijkalliantie", "bewonersbijeenkomst", "kerngroep"]
    counts = Counter(m.series for m in example.meetings())
    assert counts == {"wijkalliantie": 8, "bewonersbijeenkomst": 4, "kerngroep": 11}


@pytest.mark.parametrize("series_id", ["wijkalliantie", "bewonersbijeenkomst", "kerngroep"])
def test_example_uses_rules_md_defaults_unchanged(example: Config, series_id: str) -> None:
    assert example.series[SeriesId(series_id)].series.rules == defaults.rules_for(series_id)


def test_example_agreement_reminders_are_rules_md(example: Config) -> None:
    assert example.agreements.reminders == defaults.AGREEMENT_REMINDERS


@pytest.mark.parametrize("series_id", ["wijkalliantie", "bewonersbijeenkomst", "kerngroep"])
def test_example_covers_2027_across_both_dst_changes(example: Config, series_id: str) -> None:
    meetings = [m for m in example.meetings() if m.series == series_id]
    assert meetings[0].start.date() < date(2027, 3, 28)
    assert meetings[-1].start.date() > date(2027, 10, 31)
    offsets = {m.start.utcoffset() for m in meetings}
    assert len(offsets) == 2  # winter time (+01:00) and summer time (+02:00)


def test_example_shows_each_kind_of_exception(example: Config) -> None:
    by_id = {m.id: m for m in example.meetings()}
    moved = by_id["bewonersbijeenkomst-2027-08-12"]
    assert moved.start.isoformat() == "2027-08-26T19:00:00+02:00"
    assert by_id["kerngroep-2027-12-06"].cancelled
    assert "kerngroep-2027-08-02" not in by_id


def test_example_configures_every_connector(example: Config) -> None:
    assert None not in (example.matrix, example.mail, example.caldav, example.http)
    assert [p.name for p in example.partners] == [
        "Gemeente Amsterdam",
        "Ymere",
        "Eigenwijks",
        "!Woon",
    ]


def test_placeholder_list_matches_the_example(example: Config) -> None:
    """``run`` refuses exactly the example's placeholder values; keep the two in step."""
    assert configured_values(example) == PLACEHOLDERS


def test_run_refuses_the_example_at_its_first_placeholder(example: Config) -> None:
    with pytest.raises(ConfigError) as caught:
        check_runnable(example)
    # The line is looked up, so that adding an option above it does not break this test.
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    line = 1 + next(i for i, text in enumerate(lines) if text.startswith("homeserver = "))
    assert str(caught.value) == (
        f"{EXAMPLE}:{line}: matrix.homeserver: 'https://matrix.example.org' is een "
        "voorbeeldwaarde; vul de echte waarde in (this is the example's placeholder; "
        "fill in the real value)"
    )
