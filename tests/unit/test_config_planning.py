"""``[caldav] planning_calendar`` and ``[caldav.planning.<series>]``: defaults and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config import parse_config
from daemon.config.schema import CaldavConfig
from daemon.errors import ConfigError
from daemon.rules.planning import SeriesMatcher

BASE = """\
[series.wijkalliantie]
title = "Wijkalliantie"

[series.bewonersbijeenkomst]
title = "Bewonersavond"

[caldav]
url = "https://dav.wijk.test/wijkbode/"
calendar = "Wijkagenda"
"""


def parse(text: str) -> CaldavConfig:
    caldav = parse_config(text, Path("wijkbode.toml")).caldav
    assert caldav is not None
    return caldav


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(text)
    return str(caught.value)


def test_no_planning_calendar_by_default_and_every_series_matched_by_id_or_title() -> None:
    caldav = parse(BASE)
    assert caldav.planning_calendar is None
    assert caldav.planning_poll_seconds == 300
    assert caldav.deadline_calendar is None
    assert caldav.planning_match == (
        SeriesMatcher("wijkalliantie", ("wijkalliantie", "Wijkalliantie"), "Wijkalliantie"),
        SeriesMatcher(
            "bewonersbijeenkomst", ("bewonersbijeenkomst", "Bewonersavond"), "Bewonersavond"
        ),
    )


def test_a_series_own_matching_replaces_its_default() -> None:
    text = BASE + (
        'planning_calendar = "Jaarplanning"\nplanning_poll_seconds = 60\n'
        'deadline_calendar = "Jaarplanning"\n'
        '[caldav.planning.bewonersbijeenkomst]\ncategories = ["Bewoners"]\n'
    )
    caldav = parse(text)
    assert (caldav.planning_calendar, caldav.planning_poll_seconds) == ("Jaarplanning", 60)
    assert caldav.deadline_calendar == "Jaarplanning"
    assert caldav.planning_match[1] == SeriesMatcher("bewonersbijeenkomst", ("Bewoners",), None)


@pytest.mark.parametrize(
    ("extra", "where", "dutch", "english"),
    [
        (
            'planning_calendar = "Wijkagenda"\n',
            "wijkbode.toml:10: caldav.planning_calendar: ",
            "de planningskalender moet een andere kalender zijn dan 'calendar'",
            "the planning calendar must differ from 'calendar'",
        ),
        (
            "planning_poll_seconds = 1\n",
            "wijkbode.toml:10: caldav.planning_poll_seconds: ",
            "het minimum is 10",
            "the minimum is 10",
        ),
        (
            '[caldav.planning.buurtfeest]\ncategories = ["Feest"]\n',
            "caldav.planning.buurtfeest: ",
            "'buurtfeest' is geen reeks uit [series]",
            "not a configured series",
        ),
        (
            "[caldav.planning.wijkalliantie]\ncategories = []\n",
            "caldav.planning.wijkalliantie.categories: ",
            "geef categories of title_prefix",
            "give categories or title_prefix",
        ),
        (
            '[caldav.planning.wijkalliantie]\ntitle_prefx = "WA"\n',
            "caldav.planning.wijkalliantie.title_prefx: ",
            "",
            "",
        ),
    ],
)
def test_planning_mistakes_are_one_clear_bilingual_line(
    extra: str, where: str, dutch: str, english: str
) -> None:
    message = error_of(BASE + extra)
    assert where in message, message
    assert dutch in message
    assert english in message
    assert "\n" not in message
    if dutch:
        assert message.index(dutch) < message.index(english)
