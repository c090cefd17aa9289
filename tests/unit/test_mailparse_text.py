"""Mail text comes out right: encoded words, mislabelled charsets, HTML from Outlook."""

from __future__ import annotations

import pytest

from connectors.mail.charsets import codec_for, decode_text
from connectors.mail.headers import decode_words
from connectors.mail.html import html_to_text
from connectors.mail.parse import parse_mail
from daemon.ports.mail import MailLimits, ParsedMail

OURS = "wijkalliantie@bcop.example"


def parse(raw: bytes) -> ParsedMail:
    return parse_mail(raw, our_address=OURS, limits=MailLimits())


def mail(
    body: bytes, *, content_type: bytes = b"text/plain; charset=utf-8", extra: bytes = b""
) -> bytes:
    return (
        b"From: Piet Jansen <piet@gemeente.example>\r\n"
        b"To: wijkalliantie@bcop.example\r\n"
        b"Subject: Test\r\n"
        b"Message-ID: <test-1@gemeente.example>\r\n"
        b"MIME-Version: 1.0\r\n" + extra + b"Content-Type: " + content_type + b"\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + body
    )


def test_dutch_encoded_word_subject() -> None:
    """é, ë and smart quotes in Q and B encoded words, split over folded lines."""
    raw = mail(b"x", extra=b"")
    raw = raw.replace(
        b"Subject: Test\r\n",
        b"Subject: =?utf-8?q?Re=C3=AFntegratie_van_het_caf=C3=A9_?=\r\n"
        b" =?UTF-8?B?4oCYZGUgYnJ1Z+KAmQ==?= =?iso-8859-1?q?en_co=F6rdinatie?=\r\n",
    )
    assert parse(raw).subject == "Reïntegratie van het café ‘de brug’en coördinatie"


def test_encoded_word_keeps_plain_text_spacing() -> None:
    """Whitespace between an encoded word and plain text stays; between two words it goes."""
    assert decode_words("Notitie =?utf-8?q?caf=C3=A9?= Osdorp") == "Notitie café Osdorp"
    assert decode_words("=?utf-8?q?a?= =?utf-8?q?b?=") == "ab"


def test_utf8_character_split_across_two_encoded_words() -> None:
    """é is two bytes; a mailer may put them in two words. They are joined before decoding."""
    assert decode_words("=?utf-8?b?Y2Fmww==?= =?utf-8?b?qQ==?=") == "café"


def test_unknown_charset_in_encoded_word_is_detected() -> None:
    assert decode_words("=?x-bogus?q?Caf=E9?=") == "Café"


def test_raw_utf8_header_rfc6532() -> None:
    raw = mail(b"x").replace(b"Subject: Test", "Subject: Coördinatie café".encode())
    assert parse(raw).subject == "Coördinatie café"


def test_utf8_labelled_latin1_body() -> None:
    """A body labelled utf-8 that is really latin-1 is not dropped or replaced."""
    parsed = parse(mail(b"Tot ziens in het Caf\xe9.\r\n"))
    assert parsed.text == "Tot ziens in het Café."


def test_iso_8859_1_labelled_cp1252_smart_quotes() -> None:
    """Bytes 0x91-0x94 under an iso-8859-1 label are Windows-1252 quotes (as WHATWG says)."""
    body = b"Zie de \x91notitie\x92 en het \x93stuk\x94 \x96 groet.\r\n"
    parsed = parse(mail(body, content_type=b"text/plain; charset=iso-8859-1"))
    assert parsed.text == "Zie de ‘notitie’ en het “stuk” – groet."


def test_unknown_charset_label_is_detected() -> None:
    parsed = parse(mail(b"Caf\xe9 \x91x\x92\r\n", content_type=b"text/plain; charset=x-weird"))
    assert parsed.text == "Café ‘x’"


def test_us_ascii_label_with_utf8_bytes_is_utf8() -> None:
    parsed = parse(mail("Coördinatie".encode(), content_type=b"text/plain; charset=us-ascii"))
    assert parsed.text == "Coördinatie"


@pytest.mark.parametrize(
    ("data", "label", "expected"),
    [
        (b"Caf\xc3\xa9", "utf-8", "Café"),
        (b"Caf\xe9", "utf-8", "Café"),
        (b"Caf\xe9", None, "Café"),
        (b"\x91quotes\x92", "latin1", "‘quotes’"),
        (b"\x91quotes\x92", "ISO-8859-1", "‘quotes’"),
        (b"\x81", "iso-8859-1", "\x81"),  # undefined in cp1252: kept as its C1 control
        ("Привет, как дела? Всё хорошо.".encode("cp1251"), None, "Привет, как дела? Всё хорошо."),
        ("日本語のテキストです。".encode("shift_jis"), "shift_jis", "日本語のテキストです。"),
        ("①".encode("cp932"), "shift_jis", "①"),  # vendor extension: decoded via cp932
        ("\ufeffHallo".encode(), "utf-8", "Hallo"),  # byte order mark dropped
        ("Hallo".encode("utf-16"), "utf-16", "Hallo"),
    ],
)
def test_decode_text(data: bytes, label: str | None, expected: str) -> None:
    assert decode_text(data, label) == expected


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("UTF-8", "utf-8"),
        ('"utf-8"', "utf-8"),
        ("windows-1252", "cp1252"),
        ("ks_c_5601-1987", "cp949"),
        ("gb2312", "gb18030"),
        ("base64", None),  # not a text encoding
        ("rot13", None),
        ("unicode_escape", None),  # no charset a mail can honestly use
        ("x-unknown", None),
        ("", None),
        (None, None),
    ],
)
def test_codec_for(label: str | None, codec: str | None) -> None:
    assert codec_for(label) == codec


OUTLOOK_HTML = """<html xmlns:o="urn:schemas-microsoft-com:office:office">
<head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>Nota</title>
<style><!-- p.MsoNormal {margin:0cm; font-family:"Calibri"} --></style>
<!--[if gte mso 9]><xml><o:shapedefaults v:ext="edit" spidmax="1026" /></xml><![endif]-->
</head>
<body lang="NL">
<div class="WordSection1">
<p class="MsoNormal">Beste kerngroep,<o:p></o:p></p>
<p class="MsoNormal"><o:p>&nbsp;</o:p></p>
<p class="MsoNormal">Hierbij de nota over het caf&eacute; &amp; de
&lsquo;speeltuin&rsquo;.<o:p></o:p></p>
<p class=MsoListParagraph><![if !supportLists]>1.<![endif]>Eerste punt</p>
<script>document.write('geheim'); alert(1)</script>
<table><tr><td>Datum</td><td>16-03-2027</td></tr></table>
<p class="MsoNormal">Met vriendelijke groet,<br>Piet</p>
<img src="cid:image001.png@01DA1234.56789AB0">
</div></body></html>"""


def test_outlook_html_only_mail_becomes_clean_text() -> None:
    raw = mail(OUTLOOK_HTML.encode(), content_type=b"text/html; charset=utf-8")
    assert parse(raw).text == (
        "Beste kerngroep,\n"
        "\n"
        "Hierbij de nota over het café & de ‘speeltuin’.\n"
        "\n"
        "1.Eerste punt\n"
        "\n"
        "  Datum  16-03-2027\n"
        "\n"
        "Met vriendelijke groet,\n"
        "Piet"
    )


def test_html_without_charset_uses_meta_charset() -> None:
    html = (
        b'<html><head><meta charset="windows-1252"></head><body><p>\x93stuk\x94</p></body></html>'
    )
    assert parse(mail(html, content_type=b"text/html")).text == "“stuk”"


def test_plain_part_preferred_over_html_alternative() -> None:
    raw = mail(
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlatte tekst\r\n"
        b"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>HTML tekst</p>\r\n--b--\r\n",
        content_type=b'multipart/alternative; boundary="b"',
    )
    assert parse(raw).text == "Platte tekst"


def test_html_alternative_used_when_plain_is_empty() -> None:
    raw = mail(
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n \r\n"
        b"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>HTML tekst</p>\r\n--b--\r\n",
        content_type=b'multipart/alternative; boundary="b"',
    )
    assert parse(raw).text == "HTML tekst"


def test_html_escaped_markup_stays_text_not_tags() -> None:
    """``&lt;b&gt;`` is the sender's text; it is shown as text, nothing is interpreted."""
    assert html_to_text("<p>a &lt;b&gt; c</p>") == "a <b> c"


def test_deeply_nested_html_keeps_its_text() -> None:
    """lxml drops text nested deeper than 255 elements; the plain fallback keeps it."""
    markup = "<div>" * 2000 + "diep &amp; verstopt" + "</div>" * 2000
    assert html_to_text(markup) == "diep & verstopt"


def test_huge_html_takes_the_plain_path_and_stays_clean() -> None:
    row = "<tr><td style='x'>Cel &amp; tekst</td></tr><script>geheim()</script>"
    text = html_to_text("<table>" + row * 40_000 + "</table>")
    assert set(text.split("\n")) - {""} == {"Cel & tekst"}


def test_quoted_printable_body() -> None:
    raw = mail(b"Caf=C3=A9 =E2=80=98x=E2=80=99\r\n").replace(
        b"Content-Transfer-Encoding: 8bit", b"Content-Transfer-Encoding: quoted-printable"
    )
    assert parse(raw).text == "Café ‘x’"


def test_crlf_and_trailing_spaces_normalised() -> None:
    assert parse(mail(b"regel 1   \r\nregel 2\r\n\r\n\r\n\r\nregel 3\r\n")).text == (
        "regel 1\nregel 2\n\nregel 3"
    )
