"""The translation mechanism: Dutch complete, Dutch dates, bilingual messages."""

from __future__ import annotations

import re
import string
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir

from daemon.i18n import Translator, bilingual, translations

REPO = Path(__file__).resolve().parents[2]
AMS = ZoneInfo("Europe/Amsterdam")


def _message_ids_in_code() -> set[str]:
    keywords = {**DEFAULT_KEYWORDS, "mark": None}
    found: set[str] = set()
    for package in ("daemon", "connectors"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            REPO / package, keywords=keywords
        ):
            found.update([message] if isinstance(message, str) else [m for m in message if m])
    return found


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_message_in_the_code_has_a_dutch_translation() -> None:
    dutch = translations("nl")
    missing = sorted(m for m in _message_ids_in_code() if dutch.gettext(m) == m)
    # The daemon reads the compiled catalog: a translation added to the .po counts once
    # scripts/compile-catalogs has compiled it.
    assert missing == [], "translate them in the .po, then run scripts/compile-catalogs"


def test_dutch_translations_keep_the_same_fields() -> None:
    dutch = translations("nl")
    mismatched = [m for m in _message_ids_in_code() if _fields(m) != _fields(dutch.gettext(m))]
    assert mismatched == []


def test_dutch_is_the_default_language() -> None:
    assert Translator()("late") == "te laat"


def test_dates_are_shown_the_dutch_way() -> None:
    meeting = datetime(2027, 4, 6, 17, 30, tzinfo=UTC)
    assert Translator("nl", AMS).when(meeting) == "dinsdag 6 april 2027, 19:30"
    assert Translator("en", AMS).when(meeting) == "Tuesday 6 April 2027, 19:30"


def test_dates_follow_the_time_zone_across_dst() -> None:
    winter = datetime(2027, 3, 23, 18, 30, tzinfo=UTC)
    assert Translator("nl", AMS).when(winter) == "dinsdag 23 maart 2027, 19:30"
    assert Translator("nl", AMS).day(date(2027, 10, 31)) == "zondag 31 oktober 2027"


def test_bilingual_puts_dutch_first() -> None:
    text = bilingual(lambda _: _("late"), AMS)
    assert re.fullmatch(r"te laat\n\n— English —\nlate", text)
