"""The key-line scanner that lets messages name the line of a key."""

from __future__ import annotations

from daemon.config.lines import KeyLines, split_dotted

TEXT = """\
timezone = "Europe/Amsterdam"   # 1
# a comment = not a key          # 2
[series.wijkalliantie]          # 3
title = "Wijk"                  # 4
notes = \"\"\"                  # 5
fake = "inside a string"
\"\"\"                          # 7
[series."kern.groep".plan]      # 8
dates = [                       # 9
  2027-01-04T20:00:00,
]
[[partners]]                    # 12
name = "Ymere"                  # 13
[[partners]]                    # 14
name = "Gemeente"               # 15
deadlines.stuk = "14d"          # 16
"""


def test_keys_and_tables_have_their_lines() -> None:
    lines = KeyLines.scan(TEXT)
    assert lines.line_of("timezone") == 1
    assert lines.line_of("series.wijkalliantie") == 3
    assert lines.line_of("series.wijkalliantie.title") == 4
    assert lines.line_of("series.wijkalliantie.notes") == 5
    assert lines.line_of("series.kern.groep.plan.dates") == 9
    assert lines.line_of("partners[1].name") == 13
    assert lines.line_of("partners[2].name") == 15
    assert lines.line_of("partners[2].deadlines.stuk") == 16


def test_missing_key_falls_back_to_its_table_then_to_nothing() -> None:
    lines = KeyLines.scan(TEXT)
    assert lines.line_of("series.wijkalliantie.public") == 3
    assert lines.line_of("series.kern.groep.plan.dates[1]") == 9
    assert lines.line_of("partners[2].domains[1]") == 14
    assert lines.line_of("matrix.homeserver") is None


def test_text_inside_multiline_strings_is_not_a_key() -> None:
    lines = KeyLines.scan(TEXT)
    assert lines.line_of("series.wijkalliantie.fake") == 3  # the table, not line 6
    assert lines.path_at(6) is None


def test_path_at_a_line() -> None:
    lines = KeyLines.scan(TEXT)
    assert lines.path_at(4) == "series.wijkalliantie.title"
    assert lines.path_at(12) == "partners[1]"
    assert lines.path_at(2) is None
    assert lines.path_at(10) is None


def test_split_dotted_keeps_quoted_dots() -> None:
    assert split_dotted('series."kern.groep" . plan') == ["series", "kern.groep", "plan"]
