"""Due dates as people write them in chat: "vrijdag", "eind januari", "binnen 2 weken", ISO dates.

Pure: the message's own (local) time is the base, never the clock. Never a
guess: a phrase is read whole or not at all, and ``read_due`` says why not
(unreadable, no such date, in the past, not one day), so the caller asks.

The forms dateparser does not read, or reads loosely, are read here by rule:
ISO dates, ``binnen/over/within/in N dagen/weken/maanden``, weekday names (the
next such day after today), ``volgende week vrijdag``, ``eind/begin/half
<maand>``, ``morgen``/``tomorrow`` and ``de volgende vergadering``. A calendar
date ("15 maart", "1 april 2027", "March 15", "15-3") goes to dateparser (only
Dutch and English, day-month order), and only a reading that names one day of
one month is taken. A date without a year is this year's; one that passed
less than half a year ago is in the past (a question), an older one means
next year's ("15 januari" said on 28 December).
"""

from __future__ import annotations

import calendar
import enum
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from dateutil.relativedelta import relativedelta

if TYPE_CHECKING:
    from dateparser.date import DateDataParser

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
_RELATIVE_DAYS = {
    "vandaag": 0, "today": 0, "morgen": 1, "tomorrow": 1, "overmorgen": 2,
    "gisteren": -1, "yesterday": -1, "eergisteren": -2,
}  # fmt: skip
_NEXT_WORDS = frozenset({"volgende", "komende", "next"})
_WEEK = r"(?P<week>volgende|komende|deze|next|this)\s+week"
# "volgende week vrijdag", "vrijdag volgende week", "friday of next week".
_WEEK_DAY = re.compile(rf"^{_WEEK}\s+(?:op\s+)?(?P<day>[a-z]+)$")
_DAY_WEEK = re.compile(rf"^(?P<day>[a-z]+)\s+(?:in\s+|of\s+)?(?:de\s+|the\s+)?{_WEEK}$")
_PARTS = {
    "eind": "end", "einde": "end", "end": "end", "the end": "end",
    "begin": "begin", "start": "begin", "beginning": "begin", "the beginning": "begin",
    "the start": "begin",
    "half": "half", "halverwege": "half", "midden": "half", "medio": "half", "mid": "half",
    "the middle": "half", "middle": "half",
}  # fmt: skip
_PART_OF_MONTH = re.compile(
    r"^(?P<part>eind|einde|begin|half|halverwege|midden|medio|(?:the\s+)?(?:end|beginning|start"
    r"|middle)|mid)(?:\s+of|-|\s)\s*(?P<month>[a-z].*)$"
)
_THIS_MONTH = frozenset({"deze maand", "de maand", "this month", "month"})
_NEXT_MONTH = frozenset({"volgende maand", "komende maand", "next month"})
_MEETING_WORDS = frozenset({"vergadering", "bijeenkomst", "meeting"})
_NEXT_MEETING = re.compile(
    r"^(?:de\s+|the\s+)?(?:volgende|eerstvolgende|komende|next)\s+(?P<name>[a-z][\w-]*)"
    r"(?:\s+(?:vergadering|bijeenkomst|meeting))?"
    r"(?:\s+(?:van\s+de|van|of\s+the|of)\s+(?P<of>[a-z][\w-]*))?$"
)
_EXPLICIT_YEAR = re.compile(
    r"(?<!\d)(?P<full>\d{4})(?!\d)|\d{1,2}[-/.]\d{1,2}[-/.](?P<short>\d{2})(?!\d)|'(?P<apos>\d{2})\b"
)
_NUMERIC_DATE = re.compile(r"^(?P<day>\d{1,2})[-/.](?P<month>\d{1,2})(?:[-/.]\d{2,4})?$")
_NAMED_DATE = re.compile(
    r"^(?P<day>\d{1,2})(?:e|ste|de|st|nd|rd|th)?\s+(?:of\s+)?(?P<month>[a-z]+\.?)"
    r"(?:\s+(?P<year>\d{4}))?$"
)
_OTHER_BASE_DAYS = 45  # a relative phrase read from two bases gives two different days
_RECENTLY_PAST_DAYS = 183
_BARE_NUMBER = re.compile(r"^\d{1,4}$")
_TRAILING = " .,;:!?)"
_LONGEST_PHRASE = 60


class DueProblem(enum.Enum):
    """Why a phrase gives no due date; each gets its own question."""

    UNREADABLE = "unreadable"
    NO_SUCH_DATE = "no_such_date"  # "31 februari", "2027-02-30", a weekday that does not fit
    PAST = "past"
    NOT_ONE_DAY = "not_one_day"  # "januari", "volgende week": which day?


@dataclass(frozen=True, slots=True)
class NextMeeting:
    """``voor de volgende vergadering``: due on the day of the next meeting of ``series``
    (``None``: the configured default series). The caller looks the meeting up."""

    series: str | None = None


DueReading = date | DueProblem | NextMeeting


def parse_due(phrase: str, base: datetime) -> date | None:
    """The date ``phrase`` names, seen from ``base`` (aware, local); ``None`` if unsure or past."""
    reading = read_due(phrase, base)
    return reading if isinstance(reading, date) else None


def read_due(phrase: str, base: datetime, known_series: Collection[str] = ()) -> DueReading:
    """What the whole of ``phrase`` says as a due date, seen from ``base`` (aware, local).

    Today itself is a valid due date ("voor vandaag"); ``known_series`` are the
    series ``voor de volgende <series>`` may name.
    """
    text = " ".join(phrase.lower().split()).strip(_TRAILING)
    if not text or len(text) > _LONGEST_PHRASE or _BARE_NUMBER.match(text):
        return DueProblem.UNREADABLE
    meeting = _next_meeting(text, known_series)
    if meeting is not None:
        return meeting
    today = base.date()
    found = _due_by_rule(text, today)
    if found is None:
        found = _calendar_date(text, today)
    if found is None:
        return DueProblem.UNREADABLE
    if isinstance(found, date) and found < today:
        return DueProblem.PAST
    return found


def _due_by_rule(text: str, today: date) -> date | DueProblem | None:
    """The forms read by rule; ``None``: not one of them."""
    iso = _ISO.match(text)
    if iso is not None:
        return _day_or_problem(int(iso[1]), int(iso[2]), int(iso[3]))
    if text in _RELATIVE_DAYS:
        return today + timedelta(days=_RELATIVE_DAYS[text])
    span = _SPAN.match(text)
    if span is not None:
        return _after_span(span["amount"], span["unit"], today) or DueProblem.UNREADABLE
    weekday = _WEEKDAY.match(text)
    if weekday is not None and weekday["day"] in _WEEKDAYS:
        return _next_weekday(_WEEKDAYS[weekday["day"]], today)
    in_week = _WEEK_DAY.match(text) or _DAY_WEEK.match(text)
    if in_week is not None:
        return _day_in_week(in_week["day"], in_week["week"], today)
    part = _PART_OF_MONTH.match(text)
    if part is not None:
        return _part_of_month(_PARTS[part["part"]], part["month"], today)
    return None


def _day_in_week(day_name: str, week: str, today: date) -> date | DueProblem:
    """ "volgende week vrijdag": that weekday in the week (Monday to Sunday) after this one."""
    if day_name not in _WEEKDAYS:
        return DueProblem.UNREADABLE
    monday = today - timedelta(days=today.weekday())
    if week in _NEXT_WORDS:
        monday += timedelta(weeks=1)
    return monday + timedelta(days=_WEEKDAYS[day_name])


def _part_of_month(part: str, month_text: str, today: date) -> date | DueProblem:
    """ "eind januari" is its last day, "begin" its first, "half"/"mid" its 15th."""
    month_text = month_text.removeprefix("van ").removeprefix("the ")
    if month_text in _THIS_MONTH:
        first = today.replace(day=1)
    elif month_text in _NEXT_MONTH:
        first = today.replace(day=1) + relativedelta(months=1)
    else:
        reading = _calendar_reading(f"1 {month_text}", today)
        if not isinstance(reading, tuple) or reading[0].day != 1:
            return DueProblem.UNREADABLE
        first, explicit_year = reading
        if not explicit_year:
            return _yearless(today, lambda year: _in_month(part, year, first.month))
    return _in_month(part, first.year, first.month)


def _in_month(part: str, year: int, month: int) -> date:
    last = calendar.monthrange(year, month)[1]
    return date(year, month, {"begin": 1, "half": 15, "end": last}[part])


def _next_meeting(text: str, known_series: Collection[str]) -> NextMeeting | None:
    match = _NEXT_MEETING.match(text)
    if match is None:
        return None
    name = match["of"] or match["name"]
    if name in _MEETING_WORDS:
        return NextMeeting()
    return NextMeeting(name) if name in known_series else None


def _calendar_date(text: str, today: date) -> date | DueProblem | None:
    """A calendar date by dateparser ("15 maart", "vrijdag 15 januari 2027"), or a problem."""
    stated_weekday, text = _leading_weekday(text)
    reading = _calendar_reading(text, today)
    if not isinstance(reading, tuple):
        return reading
    day, explicit_year = reading
    found = day if explicit_year else _yearless(today, lambda year: _same_day(year, day))
    if stated_weekday is not None and isinstance(found, date) and found.weekday() != stated_weekday:
        return DueProblem.NO_SUCH_DATE
    return found


def _calendar_reading(text: str, today: date) -> tuple[date, bool] | DueProblem | None:
    """Dateparser's day and whether a year was written; only one day of one month counts.

    Only a reading that stays the same from another base is taken: that is a
    date with its day and month written out, not a relative one dateparser
    completed ("the 15th", "10 uur").
    """
    impossible = _impossible(text)
    if impossible is not None:
        return impossible
    here = _dateparser_reading(text, today)
    if here is None:
        return None
    day, period = here
    if period != "day":
        return DueProblem.NOT_ONE_DAY
    elsewhere = _dateparser_reading(text, today + timedelta(days=_OTHER_BASE_DAYS))
    if elsewhere is None or (elsewhere[0].month, elsewhere[0].day) != (day.month, day.day):
        return None
    year = _EXPLICIT_YEAR.search(text)
    if year is not None:
        # The year as written: dateparser moves a two-digit year into the future ("2127").
        written = int(year["full"] or f"20{year['short'] or year['apos']}")
        if written % 100 != day.year % 100:
            return None
        stated = _day_or_problem(written, day.month, day.day)
        return (stated, True) if isinstance(stated, date) else stated
    if day.year not in (today.year, today.year + 1):
        return None  # dateparser read a stray number as a year ("15 maart om 10 uur")
    return day, False


def _same_day(year: int, day: date) -> date | DueProblem:
    return _day_or_problem(year, day.month, day.day)


def _yearless(today: date, in_year: Callable[[int], date | DueProblem]) -> date | DueProblem:
    """This year's date; if that passed less than half a year ago it is past, else next year's."""
    this_year = in_year(today.year)
    if isinstance(this_year, date) and this_year >= today:
        return this_year
    if isinstance(this_year, date) and (today - this_year).days < _RECENTLY_PAST_DAYS:
        return DueProblem.PAST
    return in_year(today.year + 1)


def _leading_weekday(text: str) -> tuple[int | None, str]:
    """ "vrijdag 15 januari" -> (4, "15 januari"); the weekday is checked against the date."""
    first, _, rest = text.partition(" ")
    name = first.rstrip(",")
    if name in _WEEKDAYS and rest and any(ch.isdigit() for ch in rest):
        return _WEEKDAYS[name], rest
    return None, text


def _impossible(text: str) -> DueProblem | None:
    """ "31 februari", "30-2-2027": a day past the end of a month dateparser knows."""
    numeric = _NUMERIC_DATE.match(text)
    if numeric is not None:
        day, month = int(numeric["day"]), int(numeric["month"])
        if 1 <= month <= 12 and day > calendar.monthrange(2028, month)[1]:
            return DueProblem.NO_SUCH_DATE
        return None
    named = _NAMED_DATE.match(text)
    if named is None:
        return None
    month_reading = _dateparser_reading(f"1 {named['month']}", date(2028, 1, 1))
    if month_reading is None or month_reading[1] != "day":
        return None
    year = int(named["year"]) if named["year"] else 2028  # a leap year: 29 februari exists
    days_in_month = calendar.monthrange(year, month_reading[0].month)[1]
    return DueProblem.NO_SUCH_DATE if int(named["day"]) > days_in_month else None


def _day_or_problem(year: int, month: int, day: int) -> date | DueProblem:
    try:
        return date(year, month, day)
    except ValueError:
        return DueProblem.NO_SUCH_DATE


def _dateparser_reading(text: str, today: date) -> tuple[date, str] | None:
    parsed = _parser(datetime.combine(today, time(12))).get_date_data(text)
    if parsed.date_obj is None:
        return None
    return parsed.date_obj.date(), str(parsed.period)


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
def _parser(base: datetime) -> DateDataParser:
    # Cached per base instant: building a parser per call is slow, and a chat
    # message's handling calls this a few times with the same base. dateparser (about
    # 11 MB) is imported at the first afspraak, not when the daemon starts.
    from dateparser.date import DateDataParser

    return DateDataParser(
        languages=["nl", "en"],
        settings={
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": base,
            "DATE_ORDER": "DMY",
            "PREFER_DAY_OF_MONTH": "first",
        },
    )
