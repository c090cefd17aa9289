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
from functools import cache
from importlib import resources
from typing import Final
from zoneinfo import ZoneInfo

LANGUAGES: Final = ("nl", "en")
DEFAULT_LANGUAGE: Final = "nl"
DOMAIN: Final = "wijkbode"

_WHEN_PATTERN = "EEEE d MMMM y, HH:mm"
_DAY_PATTERN = "EEEE d MMMM y"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalog of ``language``, compiled in memory from its ``.po`` file."""
    # Babel is imported where it is used, not when the daemon starts (idle memory).
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}; choose one of {LANGUAGES}")
    po_file = (
        resources.files("daemon")
        .joinpath("locale")
        .joinpath(language)
        .joinpath("LC_MESSAGES")
        .joinpath(f"{DOMAIN}.po")
    )
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


class Translator:
    """Wording and date formatting for one language and one time zone."""

    def __init__(self, language: str = DEFAULT_LANGUAGE, tz: ZoneInfo | None = None) -> None:
        self.language = language
        self.tz = tz or ZoneInfo("Europe/Amsterdam")
        self._translations = translations(language)

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
        from babel.dates import format_datetime

        return format_datetime(moment, _WHEN_PATTERN, tzinfo=self.tz, locale=self._locale)

    def day(self, day: date) -> str:
        from babel.dates import format_date

        return format_date(day, _DAY_PATTERN, locale=self._locale)

    @property
    def _locale(self) -> str:
        return "nl_NL" if self.language == "nl" else "en_GB"


def bilingual(render: Callable[[Translator], str], tz: ZoneInfo | None = None) -> str:
    """Render one message Dutch first, then English, separated by a rule."""
    dutch = render(Translator("nl", tz))
    english = render(Translator("en", tz))
    return f"{dutch}\n\n— English —\n{english}"


def mark(message: str) -> str:
    """Mark a message id for extraction where it is translated later."""
    return message
