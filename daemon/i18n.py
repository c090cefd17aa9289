"""All user-facing wording goes through here: gettext catalogs, dates from CLDR.

Message ids in the code are English; ``locale/nl`` translates every one of them
(a test checks that no message lacks a Dutch translation), ``locale/en`` is the
identity. Dutch is the default. Dates are shown the Dutch way
("dinsdag 6 april 2027, 19:30") with CLDR's names, not typed by hand.

For the shipped languages (nl, en) Babel works ahead of time, not in the daemon:
``scripts/compile-catalogs`` compiles each ``.po`` to the ``.mo`` that stdlib
``gettext`` reads and writes the day and month names and text direction the two
date patterns need from Babel's CLDR data to ``locale/<language>/dates.json``
(both committed; tests/unit/test_i18n_shipped.py fails when they are out of step
with the ``.po`` or with Babel). Loading Babel's whole locale data for a few
names cost the idle daemon about 6 MB that Python never gives back. Further
page languages (``[http] languages``) are rare and their data exists only in
Babel: for them the ``.po`` is compiled and dates formatted by Babel when used.

Most outgoing messages are bilingual: Dutch first, then English. ``bilingual``
renders one message in both.
"""

from __future__ import annotations

import gettext
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

LANGUAGES: Final = ("nl", "en")
DEFAULT_LANGUAGE: Final = "nl"
DOMAIN: Final = "wijkbode"
DATES_FILE: Final = "dates.json"

_WHEN_PATTERN = "EEEE d MMMM y, HH:mm"
_DAY_PATTERN = "EEEE d MMMM y"

# Babel stamps a compiled catalog with the time of compiling when the .po names no
# creation date (ours do not); the committed .mo must come out the same each time.
_REPRODUCIBLE: Final = datetime(1970, 1, 1, tzinfo=UTC)


@cache
def translations(language: str, catalogs: str | None = None) -> gettext.NullTranslations:
    """The catalog of ``language``.

    nl and en are shipped, compiled (``scripts/compile-catalogs``); another language
    (``[http] languages``) is compiled from ``catalogs/<language>/LC_MESSAGES/wijkbode.po``,
    a directory the deployment keeps. A message its catalog lacks is shown in English
    (gettext's fallback).
    """
    if language in LANGUAGES:
        mo_file = _shipped(language).joinpath("LC_MESSAGES").joinpath(f"{DOMAIN}.mo")
        with mo_file.open("rb") as handle:
            return gettext.GNUTranslations(handle)
    if catalogs is None:
        raise ValueError(f"unsupported language {language!r}; choose one of {LANGUAGES}")
    po_file = Path(catalogs) / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    return gettext.GNUTranslations(io.BytesIO(compile_catalog(po_file.read_bytes(), language)))


def _shipped(language: str) -> Traversable:
    """The directory of a shipped language's catalog and date names, inside the package."""
    return resources.files("daemon").joinpath("locale").joinpath(language)


def _babel_locale(language: str) -> str:
    """The CLDR locale of a language: the Netherlands' Dutch, British English, else as given."""
    return {"nl": "nl_NL", "en": "en_GB"}.get(language, language)


def compile_catalog(po: bytes, language: str) -> bytes:
    """A ``.po`` file's content compiled by Babel to a gettext ``.mo`` file's."""
    # Babel is imported where it is used, never by the daemon for nl and en (idle memory).
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    catalog = read_po(io.BytesIO(po), locale=_babel_locale(language), domain=DOMAIN)
    catalog.creation_date = _REPRODUCIBLE
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    return compiled.getvalue()


def date_names(language: str) -> bytes:
    """What formatting dates in ``language`` needs of CLDR, as ``dates.json``'s content.

    The two patterns name the weekday (``EEEE``) and the month (``MMMM``) in full, in
    the format context, as Babel takes them; the rest are digits. The page also needs
    the text direction.
    """
    from babel import Locale
    from babel.dates import get_day_names, get_month_names

    locale = Locale.parse(_babel_locale(language))
    days = get_day_names("wide", "format", locale)
    months = get_month_names("wide", "format", locale)
    data = {
        "locale": str(locale),
        "direction": locale.text_direction,
        "days": [days[weekday] for weekday in range(7)],  # Monday first, as date.weekday()
        "months": [months[month] for month in range(1, 13)],
    }
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode()


def generated_files(language: str) -> dict[str, bytes]:
    """What ``scripts/compile-catalogs`` writes for a shipped language, by path under
    ``daemon/locale/<language>/``: made by Babel from the shipped ``.po`` and CLDR."""
    po_file = _shipped(language).joinpath("LC_MESSAGES").joinpath(f"{DOMAIN}.po")
    return {
        f"LC_MESSAGES/{DOMAIN}.mo": compile_catalog(po_file.read_bytes(), language),
        DATES_FILE: date_names(language),
    }


@dataclass(frozen=True, slots=True)
class _Names:
    days: tuple[str, ...]
    months: tuple[str, ...]
    direction: str


@cache
def _names(language: str) -> _Names:
    """A shipped language's CLDR date names and direction, as ``compile-catalogs`` stored them."""
    data = json.loads(_shipped(language).joinpath(DATES_FILE).read_text(encoding="utf-8"))
    return _Names(tuple(data["days"]), tuple(data["months"]), str(data["direction"]))


def text_direction(language: str) -> str:
    """``"rtl"`` for a language written right to left (Arabic, Hebrew, ...), else ``"ltr"``."""
    if language in LANGUAGES:
        return _names(language).direction
    from babel import Locale, UnknownLocaleError

    try:
        return str(Locale.parse(_babel_locale(language)).text_direction)
    except (UnknownLocaleError, ValueError):  # a code CLDR does not know: the common case
        return "ltr"


def native_name(language: str) -> str:
    """A language's name in that language ("Nederlands", "English", "العربية")."""
    from babel import Locale, UnknownLocaleError

    try:
        name = Locale.parse(language).get_display_name(language)
    except (UnknownLocaleError, ValueError):
        return language
    return str(name or language)[:1].upper() + str(name or language)[1:]


def known_language(language: str) -> bool:
    """Whether CLDR (Babel) knows ``language``: dates and direction need it."""
    if language in LANGUAGES:  # their CLDR data is shipped (dates.json): no need to load Babel
        return True
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        return False
    return True


class Translator:
    """Wording and date formatting for one language and one time zone.

    ``catalogs``: the directory of the catalogs of languages beyond nl and en.
    """

    def __init__(
        self,
        language: str = DEFAULT_LANGUAGE,
        tz: ZoneInfo | None = None,
        catalogs: str | None = None,
    ) -> None:
        self.language = language
        self.tz = tz or ZoneInfo("Europe/Amsterdam")
        self._translations = translations(language, None if language in LANGUAGES else catalogs)

    def gettext(self, message: str) -> str:
        return self._translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._translations.ngettext(singular, plural, n)

    def __call__(self, message: str, **fields: object) -> str:
        """Translate ``message`` and fill its ``{named}`` fields."""
        text = self._translations.gettext(message)
        return text.format(**fields) if fields else text

    def when(self, moment: datetime) -> str:
        """'dinsdag 6 april 2027, 19:30' (nl) / 'Tuesday 6 April 2027, 19:30' (en)."""
        if self.language not in LANGUAGES:
            return _when(moment, self.tz, self._locale)
        # _WHEN_PATTERN with CLDR's names; tests/unit/test_i18n_shipped.py compares it with
        # Babel's formatting for every day of a year. Babel takes a naive moment as UTC.
        local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(self.tz)
        return f"{self._day_text(local)}, {local.hour:02d}:{local.minute:02d}"

    def day(self, day: date) -> str:
        """'dinsdag 6 april 2027' (nl) / 'Tuesday 6 April 2027' (en)."""
        if self.language not in LANGUAGES:
            return _day(day, self._locale)
        return self._day_text(day)

    def _day_text(self, day: date) -> str:
        """_DAY_PATTERN (EEEE d MMMM y) with the shipped CLDR names."""
        names = _names(self.language)
        return f"{names.days[day.weekday()]} {day.day} {names.months[day.month - 1]} {day.year}"

    @property
    def direction(self) -> str:
        """``"rtl"`` or ``"ltr"``: how this language is written (``dir`` on the page)."""
        return text_direction(self.language)

    @property
    def _locale(self) -> str:
        return _babel_locale(self.language)


# Further languages only. A backlog's receipts and posts name the same few meetings and
# deadlines again and again, and Babel's formatting was a large part of filing a mail.
# The text depends only on the instant, the zone and the language (equal instants hash
# equal).
@lru_cache(maxsize=1024)
def _when(moment: datetime, tz: ZoneInfo, locale: str) -> str:
    from babel.dates import format_datetime

    return format_datetime(moment, _WHEN_PATTERN, tzinfo=tz, locale=locale)


@lru_cache(maxsize=1024)
def _day(day: date, locale: str) -> str:
    from babel.dates import format_date

    return format_date(day, _DAY_PATTERN, locale=locale)


def bilingual(render: Callable[[Translator], str], tz: ZoneInfo | None = None) -> str:
    """Render one message Dutch first, then English, separated by a rule."""
    dutch = render(Translator("nl", tz))
    english = render(Translator("en", tz))
    return f"{dutch}\n\n— English —\n{english}"


def mark(message: str) -> str:
    """Mark a message id for extraction where it is translated later."""
    return message
