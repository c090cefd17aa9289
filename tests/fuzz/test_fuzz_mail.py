"""The mail parser on arbitrary bytes and on MIME that is well-formed in shape but broken
in detail: it returns a ``ParsedMail`` or raises ``UnparseableMail``, nothing else, and what
it returns stays within bounds (files within the limits, text no longer than the mail).

tests/unit/test_mailparse_robust.py already throws flat header soup at the parser; here the
strategies build trees: nested multiparts with wrong or missing boundaries, broken transfer
encodings, embedded mails, encoded-word floods, TNEF and signature parts, NUL and bare CR.
"""

from __future__ import annotations

import base64
import quopri

from fuzz_settings import FUZZ
from hypothesis import example, given
from hypothesis import strategies as st

from connectors.mail.parse import parse_mail
from daemon.ports.mail import MailLimits, ParsedMail, UnparseableMail

LIMITS = MailLimits(max_attachment_bytes=4096, max_mail_bytes=8192, max_attachments=3)
OUR = "wijkalliantie@bcop.example"

LEAF_TYPES = st.sampled_from(
    ["text/plain", "text/html", "application/pdf", "application/ms-tnef", "image/png",
     "application/pkcs7-mime", "application/pgp-encrypted", "application/pkcs7-signature",
     "message/delivery-status", "text/calendar", "application/octet-stream", "x/☃", ""]
)  # fmt: skip
MULTI_TYPES = st.sampled_from(
    ["mixed", "alternative", "related", "signed", "encrypted", "report", "digest", "x-weird"]
)
ENCODINGS = st.sampled_from(["base64", "quoted-printable", "7bit", "8bit", "binary", "x-uue", ""])
CHARSETS = st.sampled_from(
    ["utf-8", "iso-8859-1", "windows-1252", "utf-16", "utf-7", "x-bogus", ""]
)
DISPOSITIONS = st.sampled_from(["attachment", "inline", "", "attachment; filename=", "bogus"])
FILENAMES = st.text(max_size=40) | st.sampled_from(
    ["../../etc/passwd", "winmail.dat", "a.pdf\x00.exe", "CON", ".", "=?utf-8?q?x=2Epdf?="]
)
# The words that make header decoders work hardest.
WORDS = st.sampled_from(
    ["=?utf-8?q?", "=?utf-8?b?", "=?iso-8859-1?q?=E9?=", "=?x?q?a?=", "?=", "=?", "=20",
     "\x00", "\r", "\n", "\r\n ", "\t", "<", ">", "@", '"', ";", "é", "☃", "\u202e", "a"]
)  # fmt: skip
HEADER_TEXT = st.lists(WORDS | st.text(max_size=8), max_size=30).map("".join)


def encoded_word_flood(count: int) -> str:
    return " ".join(f"=?utf-8?b?{base64.b64encode(b'x' * 30).decode()}?=" for _ in range(count))


def encode(body: bytes, encoding: str, broken: bool) -> bytes:
    if encoding == "base64":
        out = base64.encodebytes(body)
        return out[: len(out) // 2] + b"!*" if broken else out
    if encoding == "quoted-printable":
        out = quopri.encodestring(body)
        return out + b"=Z" if broken else out
    return body


@st.composite
def leaf(draw: st.DrawFn) -> bytes:
    ctype = draw(LEAF_TYPES)
    encoding = draw(ENCODINGS)
    body = draw(st.binary(max_size=400) | st.text(max_size=200).map(str.encode))
    if ctype == "application/ms-tnef" and draw(st.booleans()):
        body = b"\x78\x9f\x3e\x22" + body  # the TNEF signature, then garbage: a truncated TNEF
    head = f'Content-Type: {ctype}; charset={draw(CHARSETS)}; name="{draw(FILENAMES)}"\r\n'
    head += f"Content-Transfer-Encoding: {encoding}\r\n"
    head += f"Content-Disposition: {draw(DISPOSITIONS)}; filename*=utf-8''{draw(FILENAMES)}\r\n"
    if draw(st.booleans()):
        head += f"Content-ID: <{draw(HEADER_TEXT)}>\r\n"
    return (
        head.encode("utf-8", "surrogatepass")
        + b"\r\n"
        + encode(body, encoding, draw(st.booleans()))
    )


def multipart(children: list[bytes], subtype: str, boundary: str, close: bool) -> bytes:
    head = f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'.encode()
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + child + b"\r\n" for child in children)
    return head + b"preamble\r\n" + body + (b"--" + boundary.encode() + b"--\r\n" if close else b"")


@st.composite
def embedded(draw: st.DrawFn, inner: st.SearchStrategy[bytes]) -> bytes:
    return b"Content-Type: message/rfc822\r\n\r\nFrom: x@y.example\r\n" + draw(inner)


def tree(max_leaves: int = 12) -> st.SearchStrategy[bytes]:
    return st.recursive(
        leaf(),
        lambda children: st.one_of(
            st.builds(
                multipart,
                st.lists(children, max_size=4),
                MULTI_TYPES,
                # The same boundary at two levels, an empty one, one with quotes and spaces.
                st.sampled_from(["b", "b", "", "a b", '"', "--", "x" * 80]),
                st.booleans(),
            ),
            embedded(children),
        ),
        max_leaves=max_leaves,
    )


@st.composite
def mail(draw: st.DrawFn) -> bytes:
    headers = [
        ("From", draw(HEADER_TEXT | st.just("Jan <jan@gemeente.test>"))),
        ("To", draw(HEADER_TEXT | st.just(f"{OUR.replace('@', '+stuk@')}"))),
        ("Subject", draw(HEADER_TEXT | st.integers(0, 400).map(encoded_word_flood))),
        ("Message-ID", draw(HEADER_TEXT)),
        ("Date", draw(HEADER_TEXT | st.just("Mon, 30 Feb 2026 25:61:00 +9999"))),
        ("References", draw(HEADER_TEXT | st.integers(0, 300).map(lambda n: "<a@b> " * n))),
        ("Auto-Submitted", draw(HEADER_TEXT)),
        ("MIME-Version", "1.0"),
    ]
    chosen = draw(st.lists(st.sampled_from(headers), max_size=len(headers), unique=True))
    head = "".join(f"{name}: {value}\r\n" for name, value in chosen)
    return head.encode("utf-8", "surrogatepass") + draw(tree())


def check(raw: bytes) -> None:
    """Only ParsedMail or UnparseableMail; within the limits; no parser bug of ours."""
    try:
        parsed = parse_mail(raw, our_address=OUR, limits=LIMITS)
    except UnparseableMail as refused:
        reason = refused.reason
        assert reason
        assert not reason.startswith("parser_error"), reason  # a bug of ours, not a bad mail
        return
    assert isinstance(parsed, ParsedMail)
    assert len(parsed.attachments) <= LIMITS.max_attachments
    assert all(a.size <= LIMITS.max_attachment_bytes for a in parsed.attachments)
    assert sum(a.size for a in parsed.attachments) <= LIMITS.max_mail_bytes
    assert len(parsed.text) <= len(raw)
    assert len(parsed.subject) <= len(raw)
    assert len(parsed.references) <= 100
    assert "\x00" not in parsed.subject
    assert "\r" not in parsed.subject


@FUZZ
@given(st.binary(max_size=4000))
@example(b"From: a@b\r\n\r\n")
@example(b"\x00" * 100)
def test_arbitrary_bytes(raw: bytes) -> None:
    check(raw)


@FUZZ
@given(mail())
@example(b"From: a@b.example\r\nSubject: x\x00y\rz\r\n\r\nbody")
@example(b"From: a@b.example\r\nSubject: " + encoded_word_flood(2000).encode() + b"\r\n\r\n.")
def test_structured_but_broken_mime(raw: bytes) -> None:
    check(raw)


@FUZZ
@given(st.integers(1, 80), st.sampled_from(["mixed", "related", "alternative"]))
@example(1_000, "mixed")
def test_deep_nesting(depth: int, subtype: str) -> None:
    body = b"Content-Type: text/plain\r\n\r\nbottom"
    for level in range(depth):
        body = multipart([body], subtype, f"b{level}", close=level % 3 == 0)
    check(b"From: a@b.example\r\nSubject: diep\r\n" + body)
