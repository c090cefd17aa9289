"""A title that shows as nothing (zero-width, bidi or blank characters) counts as no title:
a mail gets "(geen onderwerp)", a chat filing is asked for a title (issue 9, section 8)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from daemon.chat.actions import pinned_title
from daemon.chat.parsing import EMPTY_TITLE, BadFiling, FileItem, parse_request
from daemon.filing.tags import NO_SUBJECT, parse_subject
from daemon.safe_text import is_blank

INVISIBLE = [
    "\u200b",
    "\u200b\u200c\u200d\u2060\ufeff",
    " \u200b \ufeff ",
    "\u202e\u2066\u200f",  # bidi controls
    "\u3164\u2800",  # a Hangul filler and the braille blank
    "\u00a0\u200b\u3000",  # no-break and ideographic spaces
]


@pytest.mark.parametrize("title", INVISIBLE)
def test_a_title_of_only_invisible_characters_is_blank(title: str) -> None:
    assert is_blank(title)


@pytest.mark.parametrize("title", ["a", "\u200bBankjes", "@room", "·", "(geen onderwerp)"])
def test_a_title_with_anything_visible_is_not_blank(title: str) -> None:
    assert not is_blank(title)


@pytest.mark.parametrize("title", INVISIBLE)
def test_a_mail_subject_of_invisible_characters_gets_the_one_fallback(title: str) -> None:
    assert parse_subject(title, ()).title == NO_SUBJECT
    assert parse_subject(f"[stuk] {title}", ()).title == NO_SUBJECT


@pytest.mark.parametrize("title", INVISIBLE)
@pytest.mark.parametrize("prefix", ["Agendapunt:", "Stuk:", "Agenda item:"])
def test_a_chat_filing_with_an_invisible_title_is_asked_for_one(prefix: str, title: str) -> None:
    request = parse_request(f"{prefix} {title}", received_at=datetime.now(UTC))
    assert request == BadFiling(EMPTY_TITLE)


def test_a_chat_filing_of_only_tags_is_asked_for_a_title() -> None:
    request = parse_request(
        "Agendapunt: [kerngroep]", received_at=datetime.now(UTC), known_series=("kerngroep",)
    )
    assert request == BadFiling(EMPTY_TITLE)


def test_a_visible_title_with_a_zero_width_character_is_filed() -> None:
    request = parse_request("Agendapunt: Bankjes\u200b", received_at=datetime.now(UTC))
    assert isinstance(request, FileItem)


def test_a_pinned_message_whose_first_line_is_invisible_takes_the_next() -> None:
    assert pinned_title("\u200b\u2060\nBankjes in het park\nmeer", ()) == (
        "Bankjes in het park",
        "meer",
    )
    assert pinned_title("\u200b\ufeff", ()) == ("(bericht zonder tekst)", "")
