"""``wijkbode preview``: what a moment will send, through the real entry point, read
from the stored agenda before the moment comes (the example configuration, no servers)."""

from __future__ import annotations

from pathlib import Path

from clitools import EXAMPLE, wijkbode, wijkbode_json

APRIL = "wijkalliantie-2027-04-06"  # Tue 6 April 2027 19:30
MAY = "bewonersbijeenkomst-2027-05-13"  # Thu 13 May 2027 19:00


def preview(state_dir: Path, *args: str) -> str:
    result = wijkbode("--config", str(EXAMPLE), "--state-dir", str(state_dir), "preview", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def file_item(state_dir: Path, kind: str, title: str, at: str, *more: str) -> None:
    args = ("file", "--kind", kind, "--title", title, "--at", at, *more)
    wijkbode_json(*args, state_dir=state_dir)


def test_preview_shows_each_moment_as_it_will_be_sent(tmp_path: Path) -> None:
    file_item(tmp_path, "agendapunt", "Bankjes in het park", "2027-03-05T10:00")
    file_item(tmp_path, "stuk", "Jaarverslag 2026", "2027-03-10T10:00")

    concept = preview(tmp_path, "concept_agenda", APRIL, "--channel", "mail")
    assert "Subject: Concept-agenda: Wijkalliantie, dinsdag 6 april 2027, 19:30" in concept
    assert "1. WB-1 Bankjes in het park (agendapunt)" in concept
    assert "- stukken ter bespreking of besluitvorming tot dinsdag 23 maart 2027, 19:30" in concept
    assert "— English —" in concept

    second = preview(tmp_path, "reminder:stuk/2d", APRIL, "--channel", "mail")
    assert "Tot dinsdag 23 maart 2027, 19:30 kun je nog stukken" in second

    html = preview(tmp_path, "stuk", APRIL, "--html")
    assert "<strong>Definitieve agenda van Wijkalliantie op dinsdag 6 april 2027" in html
    assert "<hr/><p><em>English</em></p>" in html

    calendar = preview(tmp_path, "announce", MAY, "--channel", "calendar")
    assert "SUMMARY: Bewonersbijeenkomst" in calendar
    assert "Bewonersbijeenkomst op donderdag 13 mei 2027, 19:00" in calendar

    # Nothing new after the package: the addendum would be skipped, and preview says so.
    empty = preview(tmp_path, "ter_kennisgeving", APRIL)
    assert empty.startswith("dit moment stuurt niets (this moment sends nothing): leeg addendum")
    file_item(tmp_path, "ter_kennisgeving", "Nieuwsbrief", "2027-03-25T09:00")
    addendum = preview(tmp_path, "ter_kennisgeving", APRIL)
    assert "1. WB-3 Nieuwsbrief (stuk ter kennisgeving)" in addendum

    # Nothing was sent or planned by looking.
    assert wijkbode_json("outbox", state_dir=tmp_path) == []


def test_an_unknown_moment_or_meeting_is_answered_plainly(tmp_path: Path) -> None:
    for args in (("folder", APRIL), ("announce", "nergens-2027-01-01")):
        result = wijkbode("--config", str(EXAMPLE), "--state-dir", str(tmp_path), "preview", *args)
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
    wrong = wijkbode(
        "--config", str(EXAMPLE), "--state-dir", str(tmp_path), "preview", "folder", APRIL
    )
    assert "heeft geen moment 'folder'" in wrong.stderr
    assert "has no moment 'folder'" in wrong.stderr
