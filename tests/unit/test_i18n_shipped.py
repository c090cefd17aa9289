"""Dutch and English without Babel in the daemon: the shipped .mo and CLDR date names.

``scripts/compile-catalogs`` writes them with Babel; these tests keep them in step with
the ``.po`` files and with Babel, and check that the shipped formatting is Babel's.
"""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date, format_datetime
from babel.messages.mofile import read_mo

from daemon.i18n import (
    _DAY_PATTERN,
    _WHEN_PATTERN,
    LANGUAGES,
    Translator,
    _babel_locale,
    generated_files,
    known_language,
    text_direction,
)

AMS = ZoneInfo("Europe/Amsterdam")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_committed_catalog_and_date_names_are_babels_from_the_current_po(
    language: str,
) -> None:
    shipped = resources.files("daemon").joinpath("locale").joinpath(language)
    for name, expected in generated_files(language).items():
        path = shipped.joinpath(*name.split("/"))
        committed = path.read_bytes() if path.is_file() else None
        if committed is not None and name.endswith(".mo"):
            committed, expected = _messages(committed), _messages(expected)
        assert committed == expected, (
            f"daemon/locale/{language}/{name} is out of step with the .po or with Babel:"
            " run scripts/compile-catalogs and commit what it writes"
        )


def _messages(mo: bytes) -> list[tuple[object, object, object]]:
    """A compiled catalog's messages and header, but not the Babel version that wrote it
    (the header's Generated-By): a newer Babel in a fresh install is no reason to fail."""
    return [(m.id, m.string, m.context) for m in read_mo(io.BytesIO(mo))]


def _days_of(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=n) for n in range((date(year + 1, 1, 1) - first).days)]


def _last_sunday(year: int, month: int) -> date:
    last = date(year, month + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - 6) % 7)


def _moments() -> list[datetime]:
    """Every day of 2027 at three instants, and each quarter hour around the European
    clock changes (last Sunday of March and of October) of 2026-2028."""
    moments = [
        datetime.combine(day, at, tzinfo=UTC)
        for day in _days_of(2027)
        for at in (time(0, 5), time(11, 30), time(22, 59))
    ]
    for year in (2026, 2027, 2028):
        for month in (3, 10):
            start = datetime.combine(_last_sunday(year, month), time(0, 0), tzinfo=UTC)
            moments += [start + timedelta(minutes=15 * n) for n in range(-8, 17)]
    return moments


@pytest.mark.parametrize("language", LANGUAGES)
def test_dates_are_babels_for_every_day_of_a_year_and_across_dst(language: str) -> None:
    locale = _babel_locale(language)
    t = Translator(language, AMS)
    ours = [t.when(moment) for moment in _moments()]
    babels = [format_datetime(m, _WHEN_PATTERN, tzinfo=AMS, locale=locale) for m in _moments()]
    assert ours == babels
    days = _days_of(2027) + _days_of(2028)  # 2028 a leap year
    assert [t.day(day) for day in days] == [
        format_date(day, _DAY_PATTERN, locale=locale) for day in days
    ]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"])
def test_dates_are_babels_in_other_zones_and_for_naive_moments(language: str, zone: str) -> None:
    tz = ZoneInfo(zone)
    t = Translator(language, tz)
    moments = [
        datetime(2027, 12, 31, 23, 45, tzinfo=UTC),
        datetime(2027, 1, 1, 0, 15, tzinfo=AMS),
        datetime(2027, 6, 30, 21, 7),  # naive: Babel takes it as UTC
        datetime(999, 7, 4, 9, 3, tzinfo=UTC),  # a year of three digits: no padding
    ]
    for moment in moments:
        expected = format_datetime(moment, _WHEN_PATTERN, tzinfo=tz, locale=_babel_locale(language))
        assert t.when(moment) == expected


def test_the_shipped_languages_are_left_to_right_and_known() -> None:
    assert [text_direction(language) for language in LANGUAGES] == ["ltr", "ltr"]
    assert all(known_language(language) for language in LANGUAGES)
    assert Translator("nl").direction == "ltr"


def test_dutch_and_english_load_no_babel() -> None:
    """The running daemon's wording and dates in nl and en: no Babel module, no CLDR data."""
    code = (
        "import sys\n"
        "from datetime import UTC, date, datetime\n"
        "from daemon.i18n import Translator, known_language, text_direction\n"
        "for language in ('nl', 'en'):\n"
        "    t = Translator(language)\n"
        "    t.when(datetime.now(UTC)); t.day(date.today()); t.direction\n"
        "    t('late'); t.ngettext('{n} item', '{n} items', 2)\n"
        "    text_direction(language); known_language(language)\n"
        "assert Translator('nl')('late') == 'te laat'\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'babel'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
