"""Sender-supplied text is shown safely: no markup, no pings, no direction tricks."""

from __future__ import annotations

from daemon.safe_text import WORD_JOINER, untrusted, untrusted_html


def test_markup_is_escaped_not_rendered() -> None:
    assert untrusted_html('<a href="https://evil.example">ymere.nl</a>') == (
        "&lt;a href=&quot;https://evil.example&quot;&gt;ymere.nl&lt;/a&gt;"
    )


def test_room_mentions_cannot_ping() -> None:
    assert untrusted("Let op @room en @alice:example.org") == (
        f"Let op @{WORD_JOINER}room en @{WORD_JOINER}alice:example.org"
    )


def test_right_to_left_override_is_removed() -> None:
    assert untrusted("factuur\u202efdp.exe") == "factuurfdp.exe"


def test_control_characters_and_newlines_are_flattened() -> None:
    assert untrusted("regel 1\r\nregel\x00 2\x1b[31m") == "regel 1 regel 2[31m"


def test_long_text_is_cut_with_an_ellipsis() -> None:
    cut = untrusted("a" * 100_000, limit=50)
    assert (len(cut), cut[-1]) == (50, "…")


def test_multiline_keeps_line_breaks_as_br() -> None:
    assert untrusted_html("een\ntwee <b>", multiline=True) == "een<br>twee &lt;b&gt;"


def test_dutch_letters_survive() -> None:
    assert untrusted("Café ‘De Punt’ – ëé") == "Café ‘De Punt’ – ëé"
