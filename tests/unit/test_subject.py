"""Subject tags and titles: kind, series, date, item reference; the kind rule of issue 4."""

from __future__ import annotations

from datetime import date

import pytest

from daemon.filing.tags import NO_SUBJECT, SubjectInfo, kind_for, parse_date, parse_subject
from daemon.model import Kind

SERIES = ("wijkalliantie", "kerngroep", "bewonersbijeenkomst")


@pytest.mark.parametrize(
    ("subject", "title", "kind"),
    [
        ("[agendapunt] Speeltuin Osdorp", "Speeltuin Osdorp", Kind.AGENDAPUNT),
        ("[stuk] Notitie parkeren", "Notitie parkeren", Kind.STUK),
        ("[STUK] Notitie parkeren", "Notitie parkeren", Kind.STUK),
        ("Notitie parkeren [Stuk]", "Notitie parkeren", Kind.STUK),
        ("[tk] Jaarverslag", "Jaarverslag", Kind.TER_KENNISGEVING),
        ("[ter kennisgeving] Jaarverslag", "Jaarverslag", Kind.TER_KENNISGEVING),
        ("[Ter  Kennisgeving] Jaarverslag", "Jaarverslag", Kind.TER_KENNISGEVING),
        ("[actualiteit] Brand in de flat", "Brand in de flat", Kind.ACTUALITEIT),
        ("Geen tag hier", "Geen tag hier", None),
        ("[stuk] [tk] Twee tags", "Twee tags", Kind.STUK),  # the first kind tag wins
    ],
)
def test_kind_tags(subject: str, title: str, kind: Kind | None) -> None:
    """Kind tags are found anywhere, in any case, and leave the title."""
    info = parse_subject(subject, SERIES)
    assert (title, kind) == (info.title, info.kind)


@pytest.mark.parametrize(
    "subject",
    [
        "Re: [stuk] Notitie",
        "RE: [stuk] Notitie",
        "Fwd: [stuk] Notitie",
        "FW: [stuk] Notitie",
        "Fw: [stuk] Notitie",
        "Antw: [stuk] Notitie",
        "Doorst: [stuk] Notitie",
        "AW: [stuk] Notitie",
        "WG: [stuk] Notitie",
        "Re: Fwd: RE: [stuk] Notitie",
        "Re[2]: [stuk] Notitie",
        "RE : [stuk] Notitie",
        "[stuk] Re: Notitie",
        "Re: Notitie [stuk]",
        "Antw: Doorst: Notitie [stuk]",
        "[stuk] - Notitie",
    ],
)
def test_reply_prefixes(subject: str) -> None:
    """Tags after (repeated) reply and forward prefixes count; the prefixes leave the title."""
    assert SubjectInfo("Notitie", Kind.STUK, None, None, None) == parse_subject(subject, SERIES)


@pytest.mark.parametrize(
    ("subject", "series", "on_date"),
    [
        ("[kerngroep] Begroting", "kerngroep", None),
        ("[Kerngroep] Begroting", "kerngroep", None),
        ("[wijkalliantie 16-03-2027] Begroting", "wijkalliantie", date(2027, 3, 16)),
        ("[wijkalliantie 16-3-2027] Begroting", "wijkalliantie", date(2027, 3, 16)),
        ("[wijkalliantie 2027-03-16] Begroting", "wijkalliantie", date(2027, 3, 16)),
        ("[wijkalliantie 16/03/2027] Begroting", "wijkalliantie", date(2027, 3, 16)),
        ("[16-03-2027] Begroting", None, date(2027, 3, 16)),
        ("Re: [stuk] [wijkalliantie 6-4-2027] Begroting", "wijkalliantie", date(2027, 4, 6)),
    ],
)
def test_meeting_targets(subject: str, series: str | None, on_date: date | None) -> None:
    """A series, a Dutch or ISO date, or both, target a meeting."""
    info = parse_subject(subject, SERIES)
    assert ("Begroting", series, on_date) == (info.title, info.series, info.on_date)


@pytest.mark.parametrize(
    ("subject", "title"),
    [
        ("[sportclub] Begroting", "[sportclub] Begroting"),  # not a known series
        ("[wijkalliantie 31-02-2027] Begroting", "[wijkalliantie 31-02-2027] Begroting"),
        ("[onbekend 16-03-2027] Begroting", "[onbekend 16-03-2027] Begroting"),
        ("[concept] Begroting", "[concept] Begroting"),
        ("[EXTERN] Begroting", "Begroting"),  # a mail gateway's marker is noise
    ],
)
def test_unknown_tags_stay_in_title(subject: str, title: str) -> None:
    """Brackets we do not understand are the sender's words and stay."""
    info = parse_subject(subject, SERIES)
    assert (title, None, None) == (info.title, info.series, info.on_date)


@pytest.mark.parametrize(
    ("subject", "item_ref"),
    [
        ("Re: [WB-42] Notitie", 42),
        ("Re: [wb-42] Notitie", 42),
        ("Re: [WB 42] Notitie", 42),
        ("[#42] Notitie", 42),
        ("[item 42] Notitie", 42),
        ("[Item42] Notitie", 42),
        ("Notitie", None),
    ],
)
def test_item_reference(subject: str, item_ref: int | None) -> None:
    """Our receipts put [WB-42] in the subject; a reply finds its item by it."""
    info = parse_subject(subject, SERIES)
    assert ("Notitie", item_ref) == (info.title, info.item_ref)


@pytest.mark.parametrize("subject", ["", "   ", "Re:", "[stuk]", "Fwd: [tk]", "[WB-7] - "])
def test_title_never_empty(subject: str) -> None:
    assert parse_subject(subject, SERIES).title == NO_SUBJECT


def test_whitespace_collapsed() -> None:
    assert parse_subject("  Notitie \t over\n  parkeren ", ()).title == "Notitie over parkeren"


def test_long_title_shortened() -> None:
    title = parse_subject("x" * 500, ()).title
    assert (len(title), title[-1]) == (200, "…")


def test_pathological_subject_is_fast_enough_to_finish() -> None:
    """Runs of brackets and separators do not make the patterns backtrack."""
    subject = "Re:" * 5_000 + "[" * 20_000 + "-" * 20_000 + "x"
    assert parse_subject(subject, SERIES).title[:4] == "[[[["


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("16-03-2027", date(2027, 3, 16)),
        ("6-4-2027", date(2027, 4, 6)),
        ("06.04.2027", date(2027, 4, 6)),
        ("2027-04-06", date(2027, 4, 6)),
        ("29-02-2027", None),
        ("2027-13-01", None),
        ("16-03-27", None),
    ],
)
def test_parse_date(text: str, expected: date | None) -> None:
    assert expected == parse_date(text)


@pytest.mark.parametrize(
    ("subject_kind", "plus_tag", "has_attachments", "expected"),
    [
        (Kind.ACTUALITEIT, "stuk", True, Kind.ACTUALITEIT),  # the subject tag wins
        (None, "stuk", False, Kind.STUK),
        (None, "agendapunt", True, Kind.AGENDAPUNT),
        (None, "tk", True, Kind.TER_KENNISGEVING),
        (None, "ter_kennisgeving", True, Kind.TER_KENNISGEVING),
        (None, "actualiteit", False, Kind.ACTUALITEIT),
        (None, "Stuk", False, Kind.STUK),
        (None, "nieuwsbrief", True, Kind.STUK),  # an unknown plus word falls through
        (None, None, True, Kind.STUK),
        (None, None, False, Kind.AGENDAPUNT),
        (None, "", False, Kind.AGENDAPUNT),
    ],
)
def test_kind_for(
    subject_kind: Kind | None, plus_tag: str | None, has_attachments: bool, expected: Kind
) -> None:
    """Subject tag, else plus address, else stuk with attachments and agendapunt without."""
    assert expected == kind_for(subject_kind, plus_tag, has_attachments)
