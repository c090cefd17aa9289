"""RULES.md's default numbers, per meeting series, in one place.

A deployment may override any of them per series in its configuration; the
rules then follow the configured value everywhere.
"""

from __future__ import annotations

from daemon.model import Kind, Offset, SeriesRules

_d = Offset.parse

# The two-week rule: nothing is decided unless its information was there 14 days ahead.
TWO_WEEK_RULE = _d("14d")

WIJKALLIANTIE = SeriesRules(
    concept_agenda=_d("21d"),
    deadlines={
        Kind.AGENDAPUNT: _d("15d"),
        Kind.STUK: _d("14d"),
        Kind.TER_KENNISGEVING: _d("7d"),
        Kind.ACTUALITEIT: _d("48h"),
    },
    deadline_reminders=(_d("7d"), _d("2d")),
    announce=None,
    folder=None,
    meeting_reminder=None,
    decision_offset=TWO_WEEK_RULE,
)

BEWONERSBIJEENKOMST = SeriesRules(
    concept_agenda=None,
    deadlines={},
    deadline_reminders=(),
    announce=_d("28d"),
    folder=_d("14d"),
    meeting_reminder=_d("2d"),
    decision_offset=TWO_WEEK_RULE,
)

KERNGROEP = SeriesRules(
    concept_agenda=None,
    deadlines={},
    deadline_reminders=(),
    announce=None,
    folder=None,
    meeting_reminder=_d("2d"),
    decision_offset=TWO_WEEK_RULE,
)

# A series RULES.md does not name gets the alliance's agenda rules: they are the
# collective's general rules for submissions.
BY_SERIES: dict[str, SeriesRules] = {
    "wijkalliantie": WIJKALLIANTIE,
    "bewonersbijeenkomst": BEWONERSBIJEENKOMST,
    "kerngroep": KERNGROEP,
}


def rules_for(series_id: str) -> SeriesRules:
    return BY_SERIES.get(series_id, WIJKALLIANTIE)


# What of a public series is public besides its dates (RULES.md, "Who hears what"): the
# bewonersbijeenkomst's agenda and the wijkalliantie's agenda titles are; the kerngroep
# has nothing public. A series RULES.md does not name follows the alliance, as above.
PRIVATE_AGENDA_SERIES = frozenset({"kerngroep"})


def public_agenda_for(series_id: str, public: bool) -> bool:
    """``[series.X] public_agenda`` when it is left out: the agenda is public with the
    dates, except for a series RULES.md keeps private."""
    return public and series_id not in PRIVATE_AGENDA_SERIES


# Afspraken: reminded to the owner this long before they are due.
AGREEMENT_REMINDERS = (_d("7d"), _d("1d"))

DEFAULT_TIMEZONE = "Europe/Amsterdam"
DEFAULT_LANGUAGE = "nl"
