"""The bytes of an outgoing mail: read back by the email package's strict modern parser,
every field is what the ``MailOut`` said, every line is 7-bit, CRLF-ended and within
RFC 5322's limits, and no header value can add a header."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.smtp_message import build_bytes, build_utf8
from daemon.ports.outbox import DocumentRef, MailOut

NOW = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)
SENDER = "wijkalliantie@wijk.example.org"
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40
SHA = "b" * 64


def mail(**changes: object) -> MailOut:
    fields: dict[str, object] = {
        "to": ("Ambtenaar Één <ambtenaar@gemeente.test>",),
        "subject": "Ontvangen: Re: [stuk] Jaarverslag 2026 — begroting (WB-123)",
        "text": "Uw stuk “Jaarverslag” is genoteerd als WB-123.\n\nThe English below.\n",
        "message_id": "<wb-123.r1@wijk.example.org>",
        "in_reply_to": "<abc@gemeente.test>",
        "references": ("<root@gemeente.test>", "<abc@gemeente.test>"),
        "auto_submitted": "auto-replied",
    }
    fields.update(changes)
    return MailOut(**fields)  # type: ignore[arg-type]


def read(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    assert not message.defects
    return message


def assert_wire_form(raw: bytes) -> None:
    assert raw.isascii()
    lines = raw.split(b"\r\n")
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    assert max(len(line) for line in lines) <= 998


def test_a_receipt_reads_back_field_by_field() -> None:
    out = mail(html="<p>Uw stuk is genoteerd.</p>")
    raw = build_bytes(out, SENDER, {}, NOW, to=["ambtenaar@gemeente.test"])
    assert_wire_form(raw)
    message = read(raw)
    assert message["From"] == f"Wijkbode <{SENDER}>"
    assert message["To"] == "ambtenaar@gemeente.test"
    assert message["Subject"] == out.subject
    assert message["Message-ID"] == out.message_id
    assert message["In-Reply-To"] == out.in_reply_to
    assert message["References"].split() == list(out.references)
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["X-Auto-Response-Suppress"] == "All"
    assert message["Date"].datetime == NOW
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    assert text.get_content().replace("\r\n", "\n") == out.text  # CRLF on the wire
    assert html.get_content().replace("\r\n", "\n") == f"{out.html}\n"


def test_attachments_keep_their_bytes_type_and_name() -> None:
    files = (
        DocumentRef(SHA, "Begroting één.pdf", "application/pdf"),
        DocumentRef("c" * 64, "notulen.txt", "multipart/evil"),
    )
    out = mail(attachments=files)
    documents = {SHA: PDF, "c" * 64: b"notulen\n"}
    raw = build_bytes(out, SENDER, documents, NOW, to=["a@gemeente.test"])
    assert_wire_form(raw)
    message = read(raw)
    assert message.get_content_type() == "multipart/mixed"
    attached = list(message.iter_attachments())
    assert [a.get_filename() for a in attached] == ["Begroting één.pdf", "notulen.txt"]
    assert [a.get_content_type() for a in attached] == [
        "application/pdf",
        "application/octet-stream",  # never a multipart of our making
    ]
    assert [a.get_content() for a in attached] == [PDF, b"notulen\n"]


def test_extra_headers_and_a_long_url_stay_whole() -> None:
    url = "<https://wijk.example.org/unsubscribe?t=" + "u" * 43 + ">"
    out = mail(
        headers=(("List-Unsubscribe", url), ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    )
    message = read(build_bytes(out, SENDER, {}, NOW, to=["a@b.test"]))
    assert message["List-Unsubscribe"] == url
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_long_thread_folds_its_references() -> None:
    references = tuple(f"<message-{n:04d}@gemeente.test>" for n in range(60))
    raw = build_bytes(mail(references=references), SENDER, {}, NOW, to=["a@b.test"])
    assert_wire_form(raw)
    header_lines = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert max(len(line) for line in header_lines) <= 78  # encoded words: 76 (RFC 2047)
    assert read(raw)["References"].split() == list(references)


@pytest.mark.parametrize(
    "changes",
    [
        {"subject": "Titel\r\nBcc: iedereen@example.org"},
        {"subject": "Titel\nX-Injected: 1"},
        {"in_reply_to": "<a@b>\r\nBcc: x@y"},
        {"headers": (("List-Unsubscribe", "<https://x>\nBcc: x@y"),)},
        {"headers": (("Bad Name", "x"),)},
    ],
)
def test_no_value_can_add_a_header(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"line break|header field name"):
        build_bytes(mail(**changes), SENDER, {}, NOW, to=["a@b.test"])


@given(
    subject=st.text(
        st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\r\n"),
        max_size=300,
    ),
    text=st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"), max_size=2000
    ),
)
def test_any_subject_and_text_read_back_unchanged(subject: str, text: str) -> None:
    out = mail(subject=subject, text=text)
    raw = build_bytes(out, SENDER, {}, NOW, to=["a@b.test"])
    assert_wire_form(raw)
    message = read(raw)
    # Folding whitespace at the ends of a header is not part of its value (RFC 5322).
    assert str(message["Subject"]).strip() == subject.strip()
    body = message.get_body(("plain",))
    assert body is not None
    ends_in_a_line_break = text if text.endswith("\n") else text + "\n"
    assert body.get_content().replace("\r\n", "\n") == ends_in_a_line_break


def test_an_international_address_gets_utf8_headers() -> None:
    out = mail(to=("jürgen@gemeente.test",))
    raw = build_utf8(out, SENDER, {}, NOW, to=["jürgen@gemeente.test"])
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["To"] == "jürgen@gemeente.test"
    assert message["Subject"] == out.subject
