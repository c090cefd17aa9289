"""Whatever arrives, parsing ends in a ParsedMail or an UnparseableMail, nothing else."""

from __future__ import annotations

import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.mail.charsets import decode_text
from connectors.mail.filenames import MAX_FILENAME_CHARS, sanitise_filename
from connectors.mail.parse import parse_mail
from connectors.mail.signals import parse_authentication_results
from daemon.filing.tags import parse_subject
from daemon.ports.mail import MailLimits, UnparseableMail

LIMITS = MailLimits(max_attachment_bytes=4096, max_mail_bytes=8192, max_attachments=3)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HEADER_NAMES = st.sampled_from(
    ["From", "To", "Cc", "Subject", "Message-ID", "In-Reply-To", "References", "Date",
     "Content-Type", "Content-Disposition", "Content-Transfer-Encoding", "Return-Path",
     "Authentication-Results", "Auto-Submitted", "Precedence", "Delivered-To", "Content-ID"]
)  # fmt: skip
# Header values full of what breaks parsers: brackets, quotes, encoded-word starts, 8-bit bytes.
NASTY_BYTES = st.binary(max_size=60) | st.lists(
    st.sampled_from(
        [b"<", b">", b"@", b'"', b"(", b")", b";", b",", b"=?", b"?=", b"?q?", b"?b?", b"utf-8",
         b"x", b" ", b"\t", b"\r\n ", b"\xe9", b"\xc3", b"*0*", b"''", b"%", b"multipart/mixed",
         b"boundary=", b"--", b"name=", b"filename*="]
    ),
    max_size=25,
).map(b"".join)  # fmt: skip


def attempt(raw: bytes) -> None:
    try:
        parsed = parse_mail(raw, our_address="wijkalliantie@bcop.example", limits=LIMITS)
    except UnparseableMail as refused:
        reason = refused.reason
    else:
        reason = ""
        assert len(parsed.attachments) <= LIMITS.max_attachments
        assert sum(a.size for a in parsed.attachments) <= LIMITS.max_mail_bytes
    assert not reason.startswith("parser_error"), reason  # a bug of ours, not a bad mail


@SETTINGS
@given(st.binary(max_size=2000))
def test_any_bytes(raw: bytes) -> None:
    attempt(raw)


@SETTINGS
@given(st.lists(st.tuples(HEADER_NAMES, NASTY_BYTES), max_size=12), NASTY_BYTES)
def test_mail_with_nasty_headers(headers: list[tuple[str, bytes]], body: bytes) -> None:
    raw = b"".join(name.encode() + b": " + value + b"\r\n" for name, value in headers)
    attempt(b"From: a@b.example\r\n" + raw + b"\r\n" + body)


@SETTINGS
@given(
    st.lists(st.tuples(NASTY_BYTES, NASTY_BYTES, st.binary(max_size=300)), min_size=1, max_size=6)
)
def test_multipart_with_nasty_parts(parts: list[tuple[bytes, bytes, bytes]]) -> None:
    body = b"".join(
        b"--b\r\nContent-Type: " + ctype + b"\r\nContent-Disposition: " + disp + b"\r\n\r\n" + data
        for ctype, disp, data in parts
    )
    head = b'From: a@b.example\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
    attempt(head + body + b"\r\n--b--\r\n")


@SETTINGS
@given(st.binary(max_size=500), st.none() | st.text(max_size=20))
def test_decode_text_always_gives_text(data: bytes, label: str | None) -> None:
    """Any bytes under any label decode, and ASCII under no label is itself."""
    text = decode_text(data, label)
    assert isinstance(text, str)
    if data.isascii() and label is None:
        assert text == data.decode("ascii")


@SETTINGS
@given(st.none() | st.text(max_size=400))
def test_sanitised_filename_is_one_printable_component(name: str | None) -> None:
    safe = sanitise_filename(name, 1, "application/pdf")
    assert 0 < len(safe) <= MAX_FILENAME_CHARS
    assert not {"/", "\\", "\x00"} & set(safe)
    assert safe not in (".", "..")
    assert [c for c in safe if unicodedata.category(c) in ("Cc", "Cf")] == []


@SETTINGS
@given(st.text(max_size=300))
def test_subject_title_never_empty(subject: str) -> None:
    assert parse_subject(subject, ["kerngroep"]).title.strip() != ""


@SETTINGS
@given(st.text(max_size=300))
def test_authentication_results_never_raise(value: str) -> None:
    assert isinstance(parse_authentication_results(value), list)
