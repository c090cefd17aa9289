"""The subject tag parser on any subject: a clean, bounded, never-empty title and only
tags it understood; never an exception."""

from __future__ import annotations

from fuzz_settings import FUZZ
from hypothesis import example, given
from hypothesis import strategies as st

from daemon.filing.tags import MAX_TITLE_CHARS, NO_SUBJECT, parse_date, parse_subject
from daemon.model import Kind

SERIES = ["wijkalliantie", "kerngroep"]
PIECES = st.sampled_from(
    ["[", "]", "[stuk]", "[tk]", "[WB-42]", "[#999999999]", "[item 7]", "[kerngroep]",
     "[wijkalliantie 31-02-2027]", "[16-3-2027]", "[2027-13-01]", "[9999-12-31]",
     "[0001-01-01]", "[EXTERN]", "Re:", "Fwd[2]:", "AW(3):", " - ", "|", "\u200b", "\x00",
     "\r\n", "\t", "é", "☃", "\u202e", "[" * 50, "]" * 50, "[" + "x" * 81 + "]"]
)  # fmt: skip
SUBJECTS = st.text(max_size=300) | st.lists(PIECES | st.text(max_size=10), max_size=40).map("".join)


@FUZZ
@given(SUBJECTS)
@example("[" * 10_000 + "stuk" + "]" * 10_000)
@example("Re: " * 5_000)
@example("[wijkalliantie 29-02-2028] [item 000000001]")
def test_any_subject(subject: str) -> None:
    info = parse_subject(subject, SERIES)
    assert info.title
    assert len(info.title) <= MAX_TITLE_CHARS
    assert info.title == NO_SUBJECT or info.title == info.title.strip()
    assert info.kind is None or isinstance(info.kind, Kind)
    assert info.series is None or info.series in SERIES
    assert info.item_ref is None or 0 <= info.item_ref < 10**9


@FUZZ
@given(st.text(max_size=30) | st.from_regex(r"\A\d{1,4}[-/.]\d{1,4}[-/.]\d{1,5}\Z"))
def test_any_date_tag(text: str) -> None:
    found = parse_date(text)
    assert found is None or 1 <= found.year <= 9999
