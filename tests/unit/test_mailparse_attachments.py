"""Attachments: names, limits, signature images, forwarded mail and winmail.dat."""

from __future__ import annotations

import struct
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest

from connectors.mail.filenames import sanitise_filename
from connectors.mail.parse import parse_mail
from daemon.ports.mail import (
    MailLimits,
    ParsedAttachment,
    ParsedMail,
    RejectedAttachment,
    RejectReason,
)

OURS = "wijkalliantie@bcop.example"
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


def parse(raw: bytes, limits: MailLimits | None = None) -> ParsedMail:
    return parse_mail(raw, our_address=OURS, limits=limits or MailLimits())


def message(subject: str = "Notitie", text: str = "Zie bijlage.") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Piet Jansen <piet@gemeente.example>"
    msg["To"] = OURS
    msg["Subject"] = subject
    msg["Message-ID"] = "<stuk-1@gemeente.example>"
    msg.set_content(text)
    return msg


def with_files(*files: tuple[str, bytes, str]) -> bytes:
    msg = message()
    for filename, content, content_type in files:
        maintype, subtype = content_type.split("/")
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def test_pdf_attachment_kept() -> None:
    parsed = parse(with_files(("nota.pdf", PDF, "application/pdf")))
    assert parsed.attachments == (
        ParsedAttachment("nota.pdf", "application/pdf", PDF, len(PDF), inline=False),
    )
    assert (parsed.text, parsed.rejected_attachments) == ("Zie bijlage.", ())


def test_forwarded_stuk_keeps_its_attachment() -> None:
    """A partner forwards a mail with the PDF attached: the PDF is the stuk."""
    msg = message(
        "Fwd: [stuk] Nota speeltuin", "---------- Doorgestuurd bericht ----------\nVan: X"
    )
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="Nota speeltuin.pdf")
    parsed = parse(msg.as_bytes())
    assert [(a.filename, a.content) for a in parsed.attachments] == [("Nota speeltuin.pdf", PDF)]
    assert parsed.subject == "Fwd: [stuk] Nota speeltuin"
    assert parsed.text.startswith("---------- Doorgestuurd bericht ----------")


def test_forwarded_mail_as_attachment_becomes_eml() -> None:
    inner = message("Verslag bewonersavond", "Het verslag.\nFrom the start.")
    outer = message("Fwd: verslag")
    outer.add_attachment(inner)
    parsed = parse(outer.as_bytes())
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("Verslag bewonersavond.eml", "message/rfc822")
    ]
    assert b"Subject: Verslag bewonersavond" in parsed.attachments[0].content
    assert b"Het verslag.\r\nFrom the start." in parsed.attachments[0].content


def test_rfc2231_non_ascii_filename() -> None:
    raw = (
        b"From: piet@gemeente.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\ntekst\r\n"
        b"--b\r\nContent-Type: application/pdf\r\n"
        b"Content-Disposition: attachment;\r\n"
        b" filename*0*=utf-8''Co%C3%B6rdinatie%20caf%C3%A9;\r\n"
        b" filename*1*=%20%E2%80%98nota%E2%80%99.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQ=\r\n--b--\r\n"
    )
    parsed = parse(raw)
    assert [a.filename for a in parsed.attachments] == ["Coördinatie café ‘nota’.pdf"]


def test_encoded_word_filename_from_content_type_name() -> None:
    raw = (
        b"From: piet@gemeente.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\ntekst\r\n"
        b'--b\r\nContent-Type: application/pdf; name="=?iso-8859-1?q?Begroting_caf=E9.pdf?="\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQ=\r\n--b--\r\n"
    )
    assert [a.filename for a in parse(raw).attachments] == ["Begroting café.pdf"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("/absolute/path/nota.pdf", "nota.pdf"),
        ("C:\\Users\\piet\\nota.pdf", "nota.pdf"),
        ("..", "bijlage-3.pdf"),
        ("", "bijlage-3.pdf"),
        (None, "bijlage-3.pdf"),
        ("nota\x00.pdf", "nota.pdf"),
        ("nota\r\nBcc: x.pdf", "notaBcc_ x.pdf"),
        ("fdp\u202egnp.exe", "fdpgnp.exe"),  # the right-to-left override is gone
        ("zero\u200bwidth.pdf", "zerowidth.pdf"),
        ('a<b>c:"d|e?f*.pdf', "a_b_c__d_e_f_.pdf"),
        ("  .verborgen.pdf  ", "verborgen.pdf"),
        ("CON.txt", "_CON.txt"),
        ("nul", "_nul"),
    ],
)
def test_sanitise_filename(name: str | None, expected: str) -> None:
    assert sanitise_filename(name, 3, "application/pdf") == expected


def test_long_filename_keeps_extension() -> None:
    name = sanitise_filename("x" * 300 + ".pdf", 1, "application/pdf")
    assert (len(name), name[-5:]) == (120, "….pdf")


@pytest.mark.parametrize(
    "evil", ["../../etc/passwd", "..\\..\\boot.ini", "/etc/shadow", "....//....//x"]
)
def test_path_traversal_filename_in_mail_is_safe(evil: str) -> None:
    parsed = parse(with_files((evil, PDF, "application/pdf")))
    (attachment,) = parsed.attachments
    assert ("/" in attachment.filename, "\\" in attachment.filename) == (False, False)
    assert attachment.filename not in ("", ".", "..")


def test_missing_filename_gets_fallback_name() -> None:
    msg = message()
    msg.add_attachment(PDF, maintype="application", subtype="octet-stream")
    assert [a.filename for a in parse(msg.as_bytes()).attachments] == ["bijlage-1.bin"]


def test_octet_stream_type_guessed_from_name() -> None:
    parsed = parse(with_files(("nota.pdf", PDF, "application/octet-stream")))
    assert [a.content_type for a in parsed.attachments] == ["application/pdf"]


def test_oversized_attachment_rejected() -> None:
    limits = MailLimits(max_attachment_bytes=1000, max_mail_bytes=100_000, max_attachments=5)
    raw = with_files(
        ("groot.pdf", PDF + b"x" * 2000, "application/pdf"),
        ("klein.pdf", PDF[:500], "application/pdf"),
    )
    parsed = parse(raw, limits)
    assert [a.filename for a in parsed.attachments] == ["klein.pdf"]
    assert parsed.rejected_attachments == (
        RejectedAttachment("groot.pdf", RejectReason.TOO_LARGE, len(PDF) + 2000),
    )


def test_too_many_attachments_rejected_beyond_the_count() -> None:
    limits = MailLimits(max_attachments=2)
    raw = with_files(*[(f"stuk{i}.pdf", PDF + bytes([i]), "application/pdf") for i in range(4)])
    parsed = parse(raw, limits)
    assert [a.filename for a in parsed.attachments] == ["stuk0.pdf", "stuk1.pdf"]
    assert [(r.filename, r.reason) for r in parsed.rejected_attachments] == [
        ("stuk2.pdf", RejectReason.TOO_MANY),
        ("stuk3.pdf", RejectReason.TOO_MANY),
    ]


def test_files_together_over_mail_limit_rejected() -> None:
    limits = MailLimits(max_attachment_bytes=1500, max_mail_bytes=2 * 1500 + 100)
    raw = with_files(*[(f"stuk{i}.pdf", bytes([i]) * 1400, "application/pdf") for i in range(3)])
    parsed = parse(raw, limits)
    assert [a.filename for a in parsed.attachments] == ["stuk0.pdf", "stuk1.pdf"]
    assert parsed.rejected_attachments == (
        RejectedAttachment("stuk2.pdf", RejectReason.MAIL_TOO_LARGE, 1400),
    )


def test_empty_attachment_rejected() -> None:
    parsed = parse(with_files(("leeg.pdf", b"", "application/pdf")))
    assert parsed.rejected_attachments == (RejectedAttachment("leeg.pdf", RejectReason.EMPTY, 0),)


def outlook_with_signature_logo(logo_disposition: str | None, logo_name: str | None) -> bytes:
    related = MIMEMultipart("related")
    related.attach(
        MIMEText('<p>Beste,</p><p>Groet<br><img src="cid:image001.png@01DA"></p>', "html")
    )
    logo = MIMEImage(PNG, "png")
    logo["Content-ID"] = "<image001.png@01DA>"
    if logo_disposition:
        logo.add_header("Content-Disposition", logo_disposition, filename=logo_name)
    related.attach(logo)
    alternative = MIMEMultipart("alternative")
    alternative.attach(MIMEText("Beste,\n\nGroet", "plain"))
    alternative.attach(related)
    mixed = MIMEMultipart("mixed")
    mixed["From"] = "piet@gemeente.example"
    mixed["Subject"] = "Nota"
    mixed.attach(alternative)
    mixed.attach(MIMEApplication(PDF, "pdf", Name="nota.pdf"))
    mixed.get_payload()[-1].add_header("Content-Disposition", "attachment", filename="nota.pdf")
    return mixed.as_bytes()


@pytest.mark.parametrize(
    ("disposition", "name"), [("inline", "image001.png"), (None, None), ("inline", None)]
)
def test_inline_signature_image_is_not_a_stuk(disposition: str | None, name: str | None) -> None:
    parsed = parse(outlook_with_signature_logo(disposition, name))
    assert [a.filename for a in parsed.attachments] == ["nota.pdf"]
    assert (parsed.inline_count, parsed.text) == (1, "Beste,\n\nGroet")


def test_small_unnamed_image_in_related_is_inline_even_unreferenced() -> None:
    related = MIMEMultipart("related")
    related.attach(MIMEText("<p>Hallo</p>", "html"))
    related.attach(MIMEImage(PNG, "png"))
    related["From"] = "piet@gemeente.example"
    parsed = parse(related.as_bytes())
    assert (parsed.attachments, parsed.inline_count) == ((), 1)


def test_explicit_attachment_referenced_by_cid_is_still_kept() -> None:
    parsed = parse(outlook_with_signature_logo("attachment", "foto.png"))
    assert [a.filename for a in parsed.attachments] == ["foto.png", "nota.pdf"]


def test_apple_inline_pdf_is_a_stuk() -> None:
    msg = message()
    msg.add_attachment(
        PDF, maintype="application", subtype="pdf", filename="nota.pdf", disposition="inline"
    )
    parsed = parse(msg.as_bytes())
    assert [(a.filename, a.inline) for a in parsed.attachments] == [("nota.pdf", True)]


def test_calendar_alternative_of_an_invitation_is_not_a_file() -> None:
    alternative = MIMEMultipart("alternative")
    alternative.attach(MIMEText("Uitnodiging overleg", "plain"))
    alternative.attach(MIMEText("<p>Uitnodiging overleg</p>", "html"))
    alternative.attach(MIMEText("BEGIN:VCALENDAR\r\nEND:VCALENDAR", "calendar"))
    alternative["From"] = "piet@gemeente.example"
    parsed = parse(alternative.as_bytes())
    assert (parsed.text, parsed.attachments) == ("Uitnodiging overleg", ())


def test_pgp_signature_is_not_a_file() -> None:
    signed = MIMEMultipart("signed", protocol="application/pgp-signature")
    signed.attach(MIMEText("Getekend."))
    signed.attach(MIMEApplication(b"-----BEGIN PGP SIGNATURE-----", "pgp-signature"))
    signed["From"] = "piet@gemeente.example"
    parsed = parse(signed.as_bytes())
    assert (parsed.text, parsed.attachments) == ("Getekend.", ())


def tnef_attribute(level: int, ident: int, kind: int, data: bytes) -> bytes:
    checksum = sum(data) & 0xFFFF
    return struct.pack("<BHHI", level, ident, kind, len(data)) + data + struct.pack("<H", checksum)


def tnef_blob(files: list[tuple[str, bytes]]) -> bytes:
    """A minimal valid TNEF stream (MS-OXTNEF): version, code page, then per file
    its rendering data (starts the attachment), title and data."""
    blob = struct.pack("<IH", 0x223E9F78, 1)
    blob += tnef_attribute(1, 0x9006, 0x0008, struct.pack("<I", 0x00010000))
    blob += tnef_attribute(1, 0x9007, 0x0006, struct.pack("<II", 1252, 0))
    for name, content in files:
        blob += tnef_attribute(2, 0x9002, 0x0006, bytes(14))
        blob += tnef_attribute(2, 0x8010, 0x0001, name.encode("cp1252") + b"\x00")
        blob += tnef_attribute(2, 0x800F, 0x0006, content)
    return blob


def test_winmail_dat_files_are_extracted() -> None:
    blob = tnef_blob([("Nota café.pdf", PDF), ("../begroting.xlsx", b"PK\x03\x04data")])
    parsed = parse(with_files(("winmail.dat", blob, "application/ms-tnef")))
    assert [(a.filename, a.content_type, a.content) for a in parsed.attachments] == [
        ("Nota café.pdf", "application/pdf", PDF),
        (
            "begroting.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            b"PK\x03\x04data",
        ),
    ]
    assert parsed.rejected_attachments == ()


def test_winmail_dat_files_obey_the_limits() -> None:
    blob = tnef_blob([("a.pdf", PDF), ("b.pdf", PDF + b"b")])
    parsed = parse(
        with_files(("winmail.dat", blob, "application/vnd.ms-tnef")), MailLimits(max_attachments=1)
    )
    assert [a.filename for a in parsed.attachments] == ["a.pdf"]
    assert parsed.rejected_attachments == (
        RejectedAttachment("b.pdf", RejectReason.TOO_MANY, len(PDF) + 1),
    )


@pytest.mark.parametrize(
    "blob",
    [
        b"this is no TNEF at all" * 10,
        tnef_blob([("nota.pdf", PDF)])[:40],  # cut off in the middle of an attribute
        struct.pack("<IH", 0x223E9F78, 1) + b"\xff" * 64,
    ],
)
def test_unreadable_winmail_dat_is_reported(blob: bytes) -> None:
    parsed = parse(with_files(("winmail.dat", blob, "application/ms-tnef")))
    assert parsed.attachments == ()
    assert parsed.rejected_attachments == (
        RejectedAttachment("winmail.dat", RejectReason.TNEF_UNREADABLE, len(blob)),
    )


def test_broken_base64_attachment_is_kept_with_a_defect() -> None:
    """What can be decoded is kept (never lost); the defect is noted for the log."""
    raw = (
        b"From: piet@gemeente.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\ntekst\r\n"
        b'--b\r\nContent-Type: application/pdf; name="kapot.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBER!!i0xLjQ=\r\n--b--\r\n"
    )
    parsed = parse(raw)
    assert [(a.filename, a.content) for a in parsed.attachments] == [("kapot.pdf", b"%PDF-1.4")]
    assert "InvalidBase64CharactersDefect" in parsed.defects
