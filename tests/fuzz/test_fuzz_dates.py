"""The afspraak date parser on any phrase: a date not in the past, a problem or the next
meeting; never an exception, and never a date before today."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from fuzz_settings import FUZZ
from hypothesis import example, given
from hypothesis import strategies as st

from daemon.chat.dates import DueProblem, NextMeeting, parse_day, read_due

TZ = ZoneInfo("Europe/Amsterdam")
WORDS = st.sampled_from(
    ["voor", "uiterlijk", "op", "by", "vrijdag", "friday", "volgende", "week", "over", "binnen",
     "twee", "99999", "dagen", "maanden", "jaar", "eind", "begin", "januari", "februari", "31",
     "30", "29", "2027", "9999", "0", "-1", "de", "vergadering", "kerngroep", "morgen",
     "overmorgen", "vandaag", "2027-02-30", "31-02-2027", "1e", "\u200b", "\x00", ".", ","]
)  # fmt: skip
PHRASES = st.text(max_size=80) | st.lists(WORDS, max_size=10).map(" ".join)
# The base is when the message arrived: our own clock, so a plausible year.
BASES = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(TZ)
)


@FUZZ
@given(PHRASES, BASES)
@example("over 99999 jaar", datetime(2027, 3, 1, tzinfo=TZ))
@example("31 december 9999", datetime(2027, 3, 1, tzinfo=TZ))
@example("over 99999999 dagen", datetime(2027, 3, 1, tzinfo=TZ))
def test_any_due_phrase(phrase: str, base: datetime) -> None:
    reading = read_due(phrase, base, ("kerngroep",))
    assert isinstance(reading, date | DueProblem | NextMeeting)
    if isinstance(reading, date):
        assert reading >= base.date()


@FUZZ
@given(PHRASES, BASES)
def test_any_day_phrase(phrase: str, base: datetime) -> None:
    assert isinstance(parse_day(phrase, base), date | None)
