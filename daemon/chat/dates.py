"""Due dates as people write them in chat: "vrijdag", "15 maart", "binnen 2 weken", ISO dates.

Pure: the message's own (local) time is the base, never the clock. The common
forms are read here by rule, so they never depend on a library's guesses:
ISO dates, ``binnen/over/within/in N dagen/weken/maanden``, weekday names
(the next such day after today), ``morgen``/``tomorrow``. Everything else
("15 maart", "1 april 2027", "March 15") goes to dateparser with only Dutch
and English, day-month order and a preference for the future. A bare number
("voor 5") and a date already past are refused, so the caller asks instead of
guessing.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from functools import lru_cache

import dateparser
from dateutil.relativedelta import relativedelta

_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_NUMBERS = {
    "een": 1, "één": 1, "a": 1, "an": 1, "one": 1,
    "twee": 2, "two": 2, "drie": 3, "three": 3, "vier": 4, "four": 4,
    "vijf": 5, "five": 5, "zes": 6, "six": 6, "zeven": 7, "seven": 7,
    "acht": 8, "eight": 8, "negen": 9, "nine": 9, "tien": 10, "ten": 10,
}  # fmt: skip
_UNITS = {
    "dag": "days", "dagen": "days", "day": "days", "days": "days",
    "week": "weeks", "weken": "weeks", "weeks": "weeks",
    "maand": "months", "maanden": "months", "month": "months", "months": "months",
}  # fmt: skip
_SPAN = re.compile(r"^(?:binnen|over|within|in)\s+(?P<amount>\d{1,3}|[a-zé]+)\s+(?P<unit>[a-z]+)$")
_WEEKDAYS = {
    "maandag": 0, "dinsdag": 1, "woensdag": 2, "donderdag": 3, "vrijdag": 4,
    "zaterdag": 5, "zondag": 6,
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4,
    "saturday": 5, "sunday": 6,
}  # fmt: skip
# "volgende vrijdag", "aanstaande vrijdag", "vrijdag a.s.", "next friday", "this friday".
_WEEKDAY = re.compile(
    r"^(?:(?:volgende|aanstaande|komende|next|this|coming)\s+)?(?P<day>[a-z]+)(?:\s+a\.?s\.?)?$"
)
_RELATIVE_DAYS = {"vandaag": 0, "today": 0, "morgen": 1, "tomorrow": 1, "overmorgen": 2}
_BARE_NUMBER = re.compile(r"^\d{1,4}$")
_TRAILING = " .,;:!?)"
_LONGEST_PHRASE = 60


def parse_due(phrase: str, base: datetime) -> date | None:
    """The date ``phrase`` names, seen from ``base`` (aware, local); ``None`` if unsure or past.

    Today itself is a valid due date ("voor vandaag").
    """
    text = " ".join(phrase.lower().split()).strip(_TRAILING)
    if not text or len(text) > _LONGEST_PHRASE or _BARE_NUMBER.match(text):
        return None
    today = base.date()
    found = _by_rule(text, today)
    if found is None:
        found = _by_dateparser(text, base)
    if found is None or found < today:
        return None
    return found


def parse_day(phrase: str, base: datetime) -> date | None:
    """A calendar day as in ``parse_due``, but the past is allowed (naming a meeting)."""
    text = " ".join(phrase.lower().split()).strip(_TRAILING)
    if not text or len(text) > _LONGEST_PHRASE or _BARE_NUMBER.match(text):
        return None
    return _by_rule(text, base.date()) or _by_dateparser(text, base)


def _by_rule(text: str, today: date) -> date | None:
    iso = _ISO.match(text)
    if iso is not None:
        try:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        except ValueError:
            return None
    if text in _RELATIVE_DAYS:
        return today + timedelta(days=_RELATIVE_DAYS[text])
    span = _SPAN.match(text)
    if span is not None:
        return _after_span(span["amount"], span["unit"], today)
    weekday = _WEEKDAY.match(text)
    if weekday is not None and weekday["day"] in _WEEKDAYS:
        return _next_weekday(_WEEKDAYS[weekday["day"]], today)
    return None


def _after_span(amount_text: str, unit_text: str, today: date) -> date | None:
    amount = int(amount_text) if amount_text.isdigit() else _NUMBERS.get(amount_text)
    unit = _UNITS.get(unit_text)
    if amount is None or unit is None:
        return None
    if unit == "days":
        return today + timedelta(days=amount)
    if unit == "weeks":
        return today + timedelta(weeks=amount)
    result: date = today + relativedelta(months=amount)
    return result


def _next_weekday(weekday: int, today: date) -> date:
    """The first such weekday after today ("vrijdag" said on a Friday is next week's)."""
    days_ahead = (weekday - today.weekday() - 1) % 7 + 1
    return today + timedelta(days=days_ahead)


def _by_dateparser(text: str, base: datetime) -> date | None:
    parsed = _parser(base.replace(tzinfo=None)).get_date_data(text)
    return None if parsed.date_obj is None else parsed.date_obj.date()


@lru_cache(maxsize=16)
def _parser(base: datetime) -> dateparser.date.DateDataParser:
    # Cached per base instant: building a parser per call is slow, and a chat
    # message's handling calls this a few times with the same base.
    return dateparser.date.DateDataParser(
        languages=["nl", "en"],
        settings={
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": base,
            "DATE_ORDER": "DMY",
            "PREFER_DAY_OF_MONTH": "first",
        },
    )
