"""All user-facing wording goes through here: gettext catalogs read with Babel.

Message ids in the code are English; ``locale/nl`` translates every one of them
(a test checks that no message lacks a Dutch translation), ``locale/en`` is the
identity. Dutch is the default. Dates are shown the Dutch way
("dinsdag 6 april 2027, 19:30") by Babel's CLDR data, not by hand.

Most outgoing messages are bilingual: Dutch first, then English. ``bilingual``
renders one message in both.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable
from datetime import date, datetime
from functools import cache, lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Final
from zoneinfo import ZoneInfo

LANGUAGES: Final = ("nl", "en")
DEFAULT_LANGUAGE: Final = "nl"
DOMAIN: Final = "wijkbode"

_WHEN_PATTERN = "EEEE d MMMM y, HH:mm"
_DAY_PATTERN = "EEEE d MMMM y"


@cache
def translations(language: str, catalogs: str | None = None) -> gettext.NullTranslations:
    """The catalog of ``language``, compiled in memory from its ``.po`` file.

    nl and en are shipped; another language (``[http] languages``) is read from
    ``catalogs/<language>/LC_MESSAGES/wijkbode.po``, a directory the deployment
    keeps. A message its catalog lacks is shown in English (gettext's fallback).
    """
    # Babel is imported where it is used, not when the daemon starts (idle memory).
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    if language in LANGUAGES:
        po_file: Traversable = resources.files("daemon").joinpath("locale")
    elif catalogs is not None:
        po_file = _directory(catalogs)
    else:
        raise ValueError(f"unsupported language {language!r}; choose one of {LANGUAGES}")
    po_file = po_file.joinpath(language).joinpath("LC_MESSAGES").joinpath(f"{DOMAIN}.po")
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=_babel_locale(language), domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _directory(path: str) -> Traversable:
    """A directory of catalogs the deployment keeps, as ``importlib.resources`` reads one."""
    from pathlib import Path

    return Path(path)


def _babel_locale(language: str) -> str:
    """The CLDR locale of a language: the Netherlands' Dutch, British English, else as given."""
    return {"nl": "nl_NL", "en": "en_GB"}.get(language, language)


def text_direction(language: str) -> str:
    """``"rtl"`` for a language written right to left (Arabic, Hebrew, ...), else ``"ltr"``."""
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
        return _when(moment, self.tz, self._locale)

    def day(self, day: date) -> str:
        return _day(day, self._locale)

    @property
    def direction(self) -> str:
        """``"rtl"`` or ``"ltr"``: how this language is written (``dir`` on the page)."""
        return text_direction(self.language)

    @property
    def _locale(self) -> str:
        return _babel_locale(self.language)


# A backlog's receipts and posts name the same few meetings and deadlines again and
# again, and Babel's formatting was a large part of filing a mail. The text depends
# only on the instant, the zone and the language (equal instants hash equal).
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
