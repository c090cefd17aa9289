"""Afspraak due dates, table-driven: a phrase is read whole or not at all, never guessed.

"Now" is fixed: Monday 28 December 2026 (around New Year) and Wednesday
10 March 2027. A phrase gives one day, or the reason for a question: it
cannot be read (typos), the date does not exist, it is past, or it is not one
day (a bare month, "volgende week").
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from daemon.chat.afspraak import RecordAgreement, parse_agreement
from daemon.chat.dates import DueProblem, DueReading, NextMeeting, read_due
from daemon.chat.replies import agreement_question, agreement_reply
from daemon.rules.names import Names

AMS = ZoneInfo("Europe/Amsterdam")
NEW_YEAR = datetime(2026, 12, 28, 12, 0, tzinfo=AMS)  # a Monday
SPRING = datetime(2027, 3, 10, 12, 0, tzinfo=AMS)  # a Wednesday
SERIES = ("kerngroep", "wijkalliantie")
# The core room's members: a typed @name is one of them (issue 15).
BOB, ANNA = "@bob:example.org", "@anna:example.org"
MEMBERS = Names({BOB: "Bob", ANNA: "Anna"})

UNREADABLE = DueProblem.UNREADABLE
NO_SUCH_DATE = DueProblem.NO_SUCH_DATE
PAST = DueProblem.PAST
NOT_ONE_DAY = DueProblem.NOT_ONE_DAY

AROUND_NEW_YEAR: list[tuple[str, DueReading]] = [
    # weekdays: the first such day after today
    ("vrijdag", date(2027, 1, 1)),
    ("Vrijdag", date(2027, 1, 1)),
    ("friday", date(2027, 1, 1)),
    ("vrijdag a.s.", date(2027, 1, 1)),
    ("aanstaande vrijdag", date(2027, 1, 1)),
    ("next friday", date(2027, 1, 1)),
    ("maandag", date(2027, 1, 4)),  # said on a Monday: next week's
    ("zondag", date(2027, 1, 3)),
    # "volgende week X": X in the week (Monday to Sunday) after this one
    ("volgende week vrijdag", date(2027, 1, 8)),
    ("vrijdag volgende week", date(2027, 1, 8)),
    ("volgende week maandag", date(2027, 1, 4)),
    ("komende week woensdag", date(2027, 1, 6)),
    ("next week friday", date(2027, 1, 8)),
    ("friday next week", date(2027, 1, 8)),
    ("friday of next week", date(2027, 1, 8)),
    ("deze week woensdag", date(2026, 12, 30)),
    # over/binnen N dagen/weken
    ("over 3 dagen", date(2026, 12, 31)),
    ("over 2 weken", date(2027, 1, 11)),
    ("over twee weken", date(2027, 1, 11)),
    ("over een week", date(2027, 1, 4)),
    ("binnen 10 dagen", date(2027, 1, 7)),
    ("binnen een maand", date(2027, 1, 28)),
    ("within 2 weeks", date(2027, 1, 11)),
    ("in 3 days", date(2026, 12, 31)),
    ("morgen", date(2026, 12, 29)),
    ("tomorrow", date(2026, 12, 29)),
    ("vandaag", date(2026, 12, 28)),
    # eind/begin/half <maand>: the next such day
    ("eind januari", date(2027, 1, 31)),
    ("eind februari", date(2027, 2, 28)),
    ("eind december", date(2026, 12, 31)),
    ("eind van de maand", date(2026, 12, 31)),
    ("eind volgende maand", date(2027, 1, 31)),
    ("begin februari", date(2027, 2, 1)),
    ("begin januari", date(2027, 1, 1)),
    ("half maart", date(2027, 3, 15)),
    ("midden januari", date(2027, 1, 15)),
    ("end of january", date(2027, 1, 31)),
    ("the end of march", date(2027, 3, 31)),
    ("mid-march", date(2027, 3, 15)),
    ("beginning of february", date(2027, 2, 1)),
    ("eind januari 2028", date(2028, 1, 31)),
    # dates without a year: across New Year; with a year: as written
    ("15 januari", date(2027, 1, 15)),
    ("2 jan", date(2027, 1, 2)),
    ("1 january", date(2027, 1, 1)),
    ("31 december", date(2026, 12, 31)),
    ("15-1", date(2027, 1, 15)),
    ("15/1", date(2027, 1, 15)),
    ("January 15", date(2027, 1, 15)),
    ("15th of January", date(2027, 1, 15)),
    ("15 januari 2027", date(2027, 1, 15)),
    ("15-01-2027", date(2027, 1, 15)),
    ("15-1-27", date(2027, 1, 15)),
    ("2027-01-15", date(2027, 1, 15)),
    ("vrijdag 15 januari 2027", date(2027, 1, 15)),
    ("friday 15 january", date(2027, 1, 15)),
    ("29 februari 2028", date(2028, 2, 29)),
    # voor de volgende vergadering: the caller looks up the meeting
    ("de volgende vergadering", NextMeeting()),
    ("the next meeting", NextMeeting()),
    ("de volgende kerngroep", NextMeeting("kerngroep")),
    ("de volgende vergadering van de kerngroep", NextMeeting("kerngroep")),
    ("next wijkalliantie meeting", NextMeeting("wijkalliantie")),
    # never a guess: a question instead
    ("januari", NOT_ONE_DAY),
    ("in januari", NOT_ONE_DAY),
    ("volgende week", NOT_ONE_DAY),
    ("next week", NOT_ONE_DAY),
    ("volgende maand", NOT_ONE_DAY),
    ("31 februari", NO_SUCH_DATE),
    ("30-02-2027", NO_SUCH_DATE),
    ("2027-02-29", NO_SUCH_DATE),
    ("29 februari 2027", NO_SUCH_DATE),
    ("32 januari", NO_SUCH_DATE),
    ("31 april", NO_SUCH_DATE),
    ("donderdag 15 januari 2027", NO_SUCH_DATE),  # 15 January 2027 is a Friday
    ("27 december", PAST),  # yesterday: not next year's
    ("half december", PAST),
    ("gisteren", PAST),
    ("15 maart 2026", PAST),
    ("5", UNREADABLE),
    ("eind", UNREADABLE),
    ("de volgende", UNREADABLE),
    ("the 15th", UNREADABLE),  # which month?
    ("10 uur", UNREADABLE),
    ("15 maart om 10 uur", UNREADABLE),
    ("de volgende buurtschouw", UNREADABLE),  # no such series
    # typos: a question, never a wrong date
    ("vrijdga", UNREADABLE),
    ("vrjdag", UNREADABLE),
    ("volgende wek vrijdag", UNREADABLE),
    ("volgende week vrijdga", UNREADABLE),
    ("15 janurai", UNREADABLE),
    ("15 januarii", UNREADABLE),
    ("eind januarie", UNREADABLE),
    ("over 3 dagn", UNREADABLE),
    ("binnen twe weken", UNREADABLE),
    ("nex friday", UNREADABLE),
]

IN_SPRING: list[tuple[str, DueReading]] = [
    ("vrijdag", date(2027, 3, 12)),
    ("woensdag", date(2027, 3, 17)),  # said on a Wednesday: next week's
    ("volgende week vrijdag", date(2027, 3, 19)),
    ("eind maart", date(2027, 3, 31)),
    ("eind januari", PAST),  # seven weeks ago: not next year's
    ("half maart", date(2027, 3, 15)),
    ("begin maart", PAST),
    ("1 oktober", date(2027, 10, 1)),
    ("27 december", date(2027, 12, 27)),
    ("15 januari", PAST),
    ("29 februari", date(2028, 2, 29)),
    ("15 mrt", date(2027, 3, 15)),
    ("March 15, 2027", date(2027, 3, 15)),
]


@pytest.mark.parametrize(("phrase", "expected"), AROUND_NEW_YEAR)
def test_phrases_around_new_year(phrase: str, expected: DueReading) -> None:
    assert read_due(phrase, NEW_YEAR, SERIES) == expected


@pytest.mark.parametrize(("phrase", "expected"), IN_SPRING)
def test_phrases_in_spring(phrase: str, expected: DueReading) -> None:
    assert read_due(phrase, SPRING, SERIES) == expected


def test_the_table_covers_at_least_sixty_phrases() -> None:
    assert len(AROUND_NEW_YEAR) + len(IN_SPRING) >= 60


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The three rows of issue 9, section 2.
        (
            "Begroting indienen @bob voor eind januari",
            RecordAgreement("Begroting indienen", BOB, date(2027, 1, 31)),
        ),
        (
            "Huurcommissie bellen @bob voor volgende week vrijdag",
            RecordAgreement("Huurcommissie bellen", BOB, date(2027, 1, 8)),
        ),
        (
            "Subsidie aanvragen @bob voor 31 februari",
            RecordAgreement("Subsidie aanvragen", BOB, None, "31 februari", NO_SUCH_DATE),
        ),
        # A date part is never read on its own.
        (
            "Flyers @bob voor volgende wek vrijdag",
            RecordAgreement(
                "Flyers voor volgende wek vrijdag", BOB, None, "volgende wek vrijdag", UNREADABLE
            ),
        ),
        (
            "Zaal huren @bob voor januari",
            RecordAgreement("Zaal huren", BOB, None, "januari", NOT_ONE_DAY),
        ),
        (
            "Zaal huren @bob eind januari",
            RecordAgreement("Zaal huren", BOB, date(2027, 1, 31)),
        ),
        (
            "Zaal huren @bob 27 december",
            RecordAgreement("Zaal huren", BOB, None, "27 december", PAST),
        ),
        (
            "Verslag voor de buurt schrijven @bob voor de volgende vergadering",
            RecordAgreement(
                "Verslag voor de buurt schrijven", BOB, None, next_meeting=NextMeeting()
            ),
        ),
        (
            "Call the city @anna by the end of january",
            RecordAgreement("Call the city", ANNA, date(2027, 1, 31)),
        ),
        (
            "@bob belt de huurcommissie binnen 2 weken",
            RecordAgreement("belt de huurcommissie", BOB, date(2027, 1, 11)),
        ),
    ],
)
def test_afspraak_takes_the_date_phrase_whole(text: str, expected: RecordAgreement) -> None:
    assert parse_agreement(text, NEW_YEAR, known_series=SERIES, members=MEMBERS) == expected


def test_the_confirmation_repeats_the_date_in_full() -> None:
    reply = agreement_reply(3, "Huurcommissie bellen", "bob", date(2027, 1, 15), AMS)
    assert "vrijdag 15 januari 2027" in reply.body
    assert "Friday 15 January 2027" in reply.body


@pytest.mark.parametrize(
    ("problem", "dutch", "english"),
    [
        (NO_SUCH_DATE, "bestaat niet", "does not exist"),
        (PAST, "verleden", "past"),
        (NOT_ONE_DAY, "welke dag", "which day"),
        (UNREADABLE, "niet als datum lezen", "could not read"),
    ],
)
def test_each_problem_gets_its_own_bilingual_question(
    problem: DueProblem, dutch: str, english: str
) -> None:
    request = RecordAgreement("Subsidie aanvragen", "bob", None, "31 februari", problem)
    reply = agreement_question(request, AMS)
    nl, en = reply.body.split("— English —")
    assert dutch in nl.lower()
    assert english in en.lower()
    assert "31 februari" in nl
