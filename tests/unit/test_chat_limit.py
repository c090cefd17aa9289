"""The last guard on a chat post's size: never sent larger than one Matrix event."""

from __future__ import annotations

from daemon.ports.chat_limit import (
    MATRIX_CONTENT_LIMIT,
    SHORTENED,
    matrix_content_size,
    within_matrix_limit,
)
from daemon.ports.outbox import ChatPost, DocumentRef

FILE = DocumentRef("a" * 64, "begroting.pdf", "application/pdf")


def test_a_post_that_fits_is_left_alone() -> None:
    post = ChatPost(body="Definitieve agenda", html="<p>Definitieve agenda</p>", documents=(FILE,))
    assert within_matrix_limit(post) is post


def test_a_post_whose_formatting_is_too_large_loses_only_its_formatting() -> None:
    body = "regel\n" * 5000
    post = ChatPost(body=body, html="<p>" + "<b>regel</b><br/>" * 5000 + "</p>")
    fitted = within_matrix_limit(post)
    assert fitted.body == body
    assert fitted.html == ""


def test_a_post_too_large_as_text_keeps_whole_lines_and_says_it_is_shortened() -> None:
    lines = [f"- WB-{n} Vergadering Wijkalliantie, stuk {n} (ë)" for n in range(5000)]
    post = ChatPost(body="\n".join(lines), html="<p>x</p>", documents=(FILE,))
    fitted = within_matrix_limit(post)
    assert matrix_content_size(fitted.body, fitted.html) <= MATRIX_CONTENT_LIMIT
    assert fitted.body.endswith(SHORTENED)
    kept = fitted.body.removesuffix(SHORTENED).split("\n")
    assert kept == lines[: len(kept)]
    assert len(kept) > 100
    assert fitted.documents == (FILE,)  # the files are still posted


def test_one_enormous_line_is_cut_too() -> None:
    fitted = within_matrix_limit(ChatPost(body="x" * 200_000, html=""))
    assert matrix_content_size(fitted.body, fitted.html) <= MATRIX_CONTENT_LIMIT
    assert fitted.body.endswith(SHORTENED)


def test_a_long_file_caption_is_capped() -> None:
    fitted = within_matrix_limit(ChatPost(body="b", html="", file_caption="WB-1: " + "t" * 5000))
    assert len(fitted.file_caption) <= 1000
    assert fitted.file_caption.startswith("WB-1: ")
