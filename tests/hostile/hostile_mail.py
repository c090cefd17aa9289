"""Hostile mails for tests/hostile/test_hostile_mail.py: each built for one address."""

from __future__ import annotations

import base64
import gzip
import io
import quopri
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from daemon.model import Item, ItemStatus

# The daemon's [mail] authserv_id and its configured partner (tests/integration/daemon_runner).
AUTHSERV_ID = "mx.wijk.test"
PARTNER = "secretariaat@partner.test"

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"

# What the daemon does with a mail.
FILED = "filed"  # an item, maybe with files refused; never anything outside the state dir
QUARANTINED = "quarantined"  # moved to the quarantine folder with a reason, the sender told
IGNORED = "ignored"  # understood, nothing to file


@dataclass(frozen=True)
class MailCase:
    name: str
    build: Callable[[str, str], bytes]  # (our address, sender) -> the raw mail
    outcome: str
    receipt: bool | None = None  # True: the sender gets a receipt; False: none; None: either
    check: Callable[[Item], bool] | None = None  # on the item filed


def head(to: str, sender: str, subject: str, extra: str = "") -> str:
    local = sender.partition("@")[0]
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{local}@elders.test>\r\nDate: Mon, 1 Mar 2027 10:00:00 +0100\r\n"
        f"MIME-Version: 1.0\r\n{extra}"
    )


def simple(
    subject: str, body: str = "De tekst.\r\n", extra: str = ""
) -> Callable[[str, str], bytes]:
    def build(to: str, sender: str) -> bytes:
        return (
            head(to, sender, subject, extra)
            + "Content-Type: text/plain; charset=utf-8\r\n\r\n"
            + body
        ).encode("utf-8", "surrogateescape")

    return build


def raw(make: Callable[[str, str], bytes]) -> Callable[[str, str], bytes]:
    return make


def quoted(subject: str, body: str, ctype: str = "text/plain") -> Callable[[str, str], bytes]:
    """A body with lines longer than SMTP carries (RFC 5321: 1000), as quoted-printable
    with soft line breaks: the decoded text keeps its huge lines."""

    def build(to: str, sender: str) -> bytes:
        return (
            head(to, sender, subject) + f"Content-Type: {ctype}; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        ).encode() + quopri.encodestring(body.encode())

    return build


def relay_safe(raw_mail: bytes) -> bytes:
    """Header lines folded below SMTP's line limit (a folded header is still one header:
    a 900 kB Subject stays 900 kB for the parser)."""
    header, sep, body = raw_mail.partition(b"\r\n\r\n")
    lines = []
    for line in header.split(b"\r\n"):
        while len(line) > 900:
            lines.append(line[:900])
            line = b" " + line[900:]
        lines.append(line)
    return b"\r\n".join(lines) + sep + body


def with_parts(
    subject: str, parts: list[bytes], kind: str = "mixed", extra: str = "", boundary: str = "hb"
) -> Callable[[str, str], bytes]:
    def build(to: str, sender: str) -> bytes:
        body = b"".join(b"--" + boundary.encode() + b"\r\n" + p + b"\r\n" for p in parts)
        top = head(to, sender, subject, extra) + (
            f'Content-Type: multipart/{kind}; boundary="{boundary}"\r\n\r\n'
        )
        return top.encode() + body + b"--" + boundary.encode() + b"--\r\n"

    return build


def text_part(text: str = "De tekst.") -> bytes:
    return b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + text.encode()


def file_part(data: bytes, name: str, ctype: str = "application/octet-stream") -> bytes:
    encoded = base64.encodebytes(data)
    name = "\r\n ".join(name[i : i + 800] for i in range(0, len(name), 800))  # SMTP's limit
    return (
        f'Content-Type: {ctype}; name="{name}"\r\nContent-Transfer-Encoding: base64\r\n'
        f'Content-Disposition: attachment; filename="{name}"\r\n\r\n'
    ).encode() + encoded


def zip_bomb() -> bytes:
    """50 MB of zeros in a zip of some 50 kB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("nullen.bin", b"\0" * 50_000_000)
    return buffer.getvalue()


def nested_zip(levels: int) -> bytes:
    data = b"\0" * 5_000_000
    for level in range(levels):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for copy in range(10):
                archive.writestr(f"laag{level}-{copy}.zip", data)
        data = buffer.getvalue()
    return data


def nested_mime(depth: int, kind: str = "mixed") -> Callable[[str, str], bytes]:
    def build(to: str, sender: str) -> bytes:
        opening = "".join(
            f'Content-Type: multipart/{kind}; boundary="n{i}"\r\n\r\n--n{i}\r\n'
            for i in range(depth)
        )
        closing = "".join(f"\r\n--n{i}--" for i in reversed(range(depth)))
        return (
            head(to, sender, f"Genest {depth}")
            + opening
            + "Content-Type: text/plain\r\n\r\nOnderop."
            + closing
            + "\r\n"
        ).encode()

    return build


def nested_rfc822(depth: int) -> Callable[[str, str], bytes]:
    def build(to: str, sender: str) -> bytes:
        inner = "From: x@y.test\r\nSubject: binnenste\r\nContent-Type: text/plain\r\n\r\nkern\r\n"
        for level in range(depth):
            inner = (
                f"From: x{level}@y.test\r\nSubject: laag {level}\r\n"
                "Content-Type: message/rfc822\r\n\r\n" + inner
            )
        return (
            head(to, sender, f"Doorgestuurd {depth}x")
            + "Content-Type: message/rfc822\r\n\r\n"
            + inner
        ).encode()

    return build


def encoded_words(count: int, text: bytes = b"Geluidsoverlast ") -> str:
    word = f"=?utf-8?b?{base64.b64encode(text).decode()}?="
    return "\r\n ".join([word] * count)


SMIME_SIGNED = with_parts(
    "S/MIME ondertekend",
    [
        text_part("Ondertekende brief."),
        file_part(b"0\x82\x01\x00" + b"\x11" * 300, "smime.p7s", "application/pkcs7-signature"),
    ],
    kind='signed; protocol="application/pkcs7-signature"; micalg=sha-256',
)
SMIME_ENCRYPTED = raw(
    lambda to, sender: (
        head(to, sender, "S/MIME versleuteld")
        + 'Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"\r\n'
        + "Content-Transfer-Encoding: base64\r\n"
        + 'Content-Disposition: attachment; filename="smime.p7m"\r\n\r\n'
        + base64.encodebytes(b"0\x80\x06\x09*\x86H\x86\xf7\r\x01\x07\x03" + b"\x42" * 500).decode()
    ).encode()
)
PGP_SIGNED = with_parts(
    "PGP ondertekend",
    [
        text_part("Ondertekend met PGP."),
        b'Content-Type: application/pgp-signature; name="signature.asc"\r\n\r\n'
        b"-----BEGIN PGP SIGNATURE-----\r\n\r\niQEzBAEBCAAdFiEE\r\n=abcd\r\n"
        b"-----END PGP SIGNATURE-----",
    ],
    kind='signed; micalg=pgp-sha256; protocol="application/pgp-signature"',
)
PGP_ENCRYPTED = with_parts(
    "PGP versleuteld",
    [
        b"Content-Type: application/pgp-encrypted\r\n\r\nVersion: 1",
        b'Content-Type: application/octet-stream; name="encrypted.asc"\r\n\r\n'
        b"-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMA1234567890\r\n=abcd\r\n-----END PGP MESSAGE-----",
    ],
    kind='encrypted; protocol="application/pgp-encrypted"',
)
PGP_INLINE = simple(
    "PGP in de tekst",
    "-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: SHA256\r\n\r\nDe brief.\r\n"
    "-----BEGIN PGP SIGNATURE-----\r\n\r\niQEzBAEBCAAd\r\n-----END PGP SIGNATURE-----\r\n",
)
TNEF_SIGNATURE = b"\x78\x9f\x3e\x22"


def from_partner(results: list[str]) -> Callable[[str, str], bytes]:
    """A [stuk] from the partner's address; ``results`` as Authentication-Results headers,
    the first where our server puts its own (on top), the rest among the sender's."""

    def build(to: str, sender: str) -> bytes:
        top, *lower = [f"Authentication-Results: {AUTHSERV_ID}; {r}\r\n" for r in results]
        local = sender.partition("@")[0]
        return (
            f"{top}From: Partner <{PARTNER}>\r\nTo: {to}\r\n{''.join(lower)}"
            f"Subject: [stuk] Notitie {local}\r\nMessage-ID: <{local}@partner.test>\r\n"
            "Content-Type: text/plain\r\n\r\nDe notitie.\r\n"
        ).encode()

    return build


def many_files(count: int) -> list[bytes]:
    return [text_part("Zie bijlagen.")] + [
        file_part(PDF + bytes([n]), f"stuk{n}.pdf", "application/pdf") for n in range(count)
    ]


def case_list() -> list[MailCase]:
    long_name = "x" * 5000 + ".pdf"
    return [
        MailCase(
            "zip_bomb",
            with_parts(
                "[stuk] Archief",
                [text_part(), file_part(zip_bomb(), "archief.zip", "application/zip")],
            ),
            FILED,
        ),
        MailCase(
            "nested_zip_bomb",
            with_parts(
                "[stuk] Archief in archief",
                [text_part(), file_part(nested_zip(3), "42.zip", "application/zip")],
            ),
            FILED,
        ),
        MailCase(
            "gzip_bomb",
            with_parts(
                "[stuk] Gzip",
                [
                    text_part(),
                    file_part(gzip.compress(b"\0" * 30_000_000, 9), "data.gz", "application/gzip"),
                ],
            ),
            FILED,
        ),
        MailCase("nested_mime_39", nested_mime(39), FILED),
        MailCase("nested_mime_200", nested_mime(200), FILED),
        MailCase("nested_alternative_100", nested_mime(100, "alternative"), FILED),
        MailCase(
            "nested_rfc822_60",
            nested_rfc822(60),
            FILED,
            check=lambda i: [d.filename for d in i.documents] == ["laag 59.eml"],
        ),
        MailCase("encoded_word_flood_subject", simple(encoded_words(5000)), FILED),
        MailCase(
            "encoded_word_flood_from_name",
            raw(
                lambda to, sender: (
                    head(to, sender, "Naam vol encoded words").replace(
                        f"From: {sender}", f"From: {encoded_words(2000, b'Jan ')} <{sender}>"
                    )
                    + "Content-Type: text/plain\r\n\r\nTekst.\r\n"
                ).encode()
            ),
            FILED,
        ),
        MailCase(
            "encoded_word_flood_filename",
            with_parts(
                "[stuk] Naam",
                [
                    text_part(),
                    (
                        "Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
                        "Content-Disposition: attachment;\r\n"
                        + "".join(f" filename*{n}*=utf-8''%C3%A9{n};\r\n" for n in range(1000))
                        + "\r\n"
                    ).encode()
                    + base64.encodebytes(PDF),
                ],
            ),
            FILED,
        ),
        MailCase(
            "encoded_words_broken",
            simple("=?utf-8?b?====?= =?x-bogus?q?a?= =?utf-8?q?=ZZ?="),
            FILED,
        ),
        MailCase("nul_in_subject", simple("Agenda\x00punt"), FILED),
        MailCase("bare_cr_in_subject", simple("Eerste\rBcc: iemand@x.test"), FILED),
        MailCase(
            "nul_in_from",
            raw(
                lambda to, sender: (
                    head(to, sender, "NUL in From")
                    .replace(f"From: {sender}", f"From: Jan\x00 <{sender}>")
                    .encode()
                    + b"Content-Type: text/plain\r\n\r\nTekst.\r\n"
                )
            ),
            FILED,
        ),
        # Bare CR ends no line: the whole mail is one header line after Dovecot's own.
        MailCase(
            "bare_cr_line_endings",
            raw(lambda to, sender: simple("Alleen CR")(to, sender).replace(b"\r\n", b"\r")),
            FILED,
        ),
        MailCase(
            "bare_lf_line_endings",
            raw(lambda to, sender: simple("Alleen LF")(to, sender).replace(b"\r\n", b"\n")),
            FILED,
        ),
        MailCase(
            "raw_8bit_headers", raw(lambda to, sender: simple("Overlast café ☃")(to, sender)), FILED
        ),
        MailCase(
            "forged_auto_submitted",
            simple("[agendapunt] Echt van een mens", extra="Auto-Submitted: auto-replied\r\n"),
            FILED,
            receipt=False,
        ),
        MailCase(
            "auto_submitted_no",
            simple("[agendapunt] Gewoon", extra="Auto-Submitted: no\r\n"),
            FILED,
            receipt=True,
        ),
        MailCase(
            "auto_submitted_odd_case",
            simple("Vakantie", extra="Auto-Submitted: AUTO-GENERATED (vacation)\r\n"),
            FILED,
            receipt=False,
        ),
        MailCase(
            "x_autoreply", simple("Afwezig", extra="X-Autoreply: yes\r\n"), FILED, receipt=False
        ),
        MailCase(
            "precedence_bulk",
            simple("Nieuwsbrief", extra="Precedence: bulk\r\nList-Id: <nieuws.elders.test>\r\n"),
            FILED,
            receipt=False,
        ),
        MailCase(
            "smime_signed",
            SMIME_SIGNED,
            FILED,
            check=lambda i: i.documents == () and "Ondertekende brief." in i.text,
        ),
        MailCase("smime_encrypted", SMIME_ENCRYPTED, FILED),
        MailCase(
            "pgp_signed",
            PGP_SIGNED,
            FILED,
            check=lambda i: i.documents == () and "Ondertekend met PGP." in i.text,
        ),
        MailCase("pgp_encrypted", PGP_ENCRYPTED, FILED),
        MailCase("pgp_inline", PGP_INLINE, FILED),
        MailCase(
            "tnef_truncated",
            with_parts(
                "[stuk] Outlook",
                [
                    text_part(),
                    file_part(
                        TNEF_SIGNATURE + b"\x01\x00\x01\x90\x08\x00\x00",
                        "winmail.dat",
                        "application/ms-tnef",
                    ),
                ],
            ),
            FILED,
            check=lambda i: i.documents == (),
        ),
        MailCase(
            "tnef_signature_only",
            with_parts(
                "[stuk] Outlook leeg",
                [file_part(TNEF_SIGNATURE, "winmail.dat", "application/ms-tnef")],
            ),
            FILED,
            check=lambda i: i.documents == (),
        ),
        MailCase(
            "tnef_garbage",
            with_parts(
                "[stuk] Outlook rommel",
                [
                    text_part(),
                    file_part(bytes(range(256)) * 40, "WINMAIL.DAT", "application/vnd.ms-tnef"),
                ],
            ),
            FILED,
            check=lambda i: i.documents == (),
        ),
        MailCase(
            "broken_base64_attachment",
            with_parts(
                "[stuk] Kapot",
                [
                    text_part(),
                    (
                        b'Content-Type: application/pdf; name="a.pdf"\r\n'
                        b"Content-Transfer-Encoding: base64\r\n"
                        b'Content-Disposition: attachment; filename="a.pdf"\r\n\r\n'
                        b"!!!!****====@@@"
                    ),
                ],
            ),
            FILED,
        ),
        MailCase("too_many_files", with_parts("[stuk] Tien stukken", many_files(10)), FILED),
        MailCase(
            "empty_file",
            with_parts("[stuk] Leeg", [text_part(), file_part(b"", "leeg.pdf", "application/pdf")]),
            FILED,
        ),
        MailCase(
            "hostile_filename",
            with_parts(
                "[stuk] Naam",
                [
                    text_part(),
                    file_part(PDF, "../../../etc/\u202egpj.exe\x00.pdf", "application/pdf"),
                ],
            ),
            FILED,
            check=lambda i: len(i.documents) == 1,
        ),
        MailCase(
            "bidi_override_filename",
            with_parts(
                "[stuk] Omgekeerd",
                [
                    text_part(),
                    (
                        b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
                        b"Content-Disposition: attachment;"
                        b" filename*=utf-8''%E2%80%AEfdp.exe\r\n\r\n"
                    )
                    + base64.encodebytes(PDF),
                ],
            ),
            FILED,
            check=lambda i: len(i.documents) == 1,
        ),
        MailCase(
            "huge_filename",
            with_parts(
                "[stuk] Lange naam", [text_part(), file_part(PDF, long_name, "application/pdf")]
            ),
            FILED,
        ),
        MailCase(
            "content_type_1000_params",
            with_parts(
                "Parameters",
                [
                    (
                        "Content-Type: text/plain; "
                        + ";\r\n ".join(f"p{n}=v{n}" for n in range(1000))
                        + "\r\n\r\nTekst."
                    ).encode()
                ],
            ),
            FILED,
        ),
        MailCase(
            "received_flood",
            simple(
                "Veel hops",
                extra="".join(
                    f"Received: from h{n}.test by h{n + 1}.test; Mon, 1 Mar 2027 10:00:00 +0100\r\n"
                    for n in range(3000)
                ),
            ),
            FILED,
        ),
        MailCase("subject_900k", simple("S" * 900_000), FILED),
        MailCase(
            "no_from",
            raw(
                lambda to, sender: (
                    head(to, sender, "Zonder afzender").replace(f"From: {sender}\r\n", "").encode()
                    + b"Content-Type: text/plain\r\n\r\nTekst.\r\n"
                )
            ),
            FILED,
        ),
        MailCase(
            "from_100_addresses",
            raw(
                lambda to, sender: (
                    head(to, sender, "Veel afzenders")
                    .replace(
                        f"From: {sender}",
                        "From: " + ", ".join([sender] + [f"a{n}@elders.test" for n in range(100)]),
                    )
                    .encode()
                    + b"Content-Type: text/plain\r\n\r\nTekst.\r\n"
                )
            ),
            FILED,
        ),
        MailCase(
            "huge_message_id",
            raw(
                lambda to, sender: (
                    head(to, sender, "Lange id")
                    .replace(
                        f"Message-ID: <{sender.partition('@')[0]}@",
                        "Message-ID: <" + "m" * 10_000 + "@",
                    )
                    .encode()
                    + b"Content-Type: text/plain\r\n\r\nTekst.\r\n"
                )
            ),
            FILED,
        ),
        MailCase(
            "references_flood",
            simple(
                "Re: lang gesprek",
                extra="References: "
                + " ".join(f"<r{n}@elders.test>" for n in range(5000))
                + "\r\n",
            ),
            FILED,
        ),
        MailCase(
            "date_garbage",
            raw(
                lambda to, sender: (
                    head(to, sender, "Datum")
                    .replace("Mon, 1 Mar 2027 10:00:00 +0100", "Mon, 31 Feb 99999 25:61:61 +9999")
                    .encode()
                    + b"Content-Type: text/plain\r\n\r\nTekst.\r\n"
                )
            ),
            FILED,
        ),
        MailCase(
            "html_script_and_deep_divs",
            quoted(
                "HTML",
                "<script>alert(1)</script>"
                "<style>x{}</style>" + "<div>" * 20_000 + "Inhoud" + "</div>" * 20_000,
                "text/html",
            ),
            FILED,
        ),
        MailCase("html_entity_flood", quoted("Entiteiten", "&amp;" * 200_000, "text/html"), FILED),
        MailCase(
            "utf7_script",
            raw(
                lambda to, sender: (
                    head(to, sender, "=?utf-7?q?+ADw-script+AD4-?=") + "Content-Type: text/plain;"
                    " charset=utf-7\r\n\r\n+ADw-script+AD4-alert(1)+ADw-/script+AD4-\r\n"
                ).encode()
            ),
            FILED,
        ),
        MailCase(
            "unknown_charset",
            raw(
                lambda to, sender: (
                    head(to, sender, "=?x-bogus?q?Onbekend?=") + "Content-Type: text/plain;"
                    " charset=x-bogus-42\r\n\r\n\xe9\xe8 tekst\r\n"
                ).encode("latin-1")
            ),
            FILED,
        ),
        MailCase(
            "multipart_without_boundary",
            raw(
                lambda to, sender: (
                    head(to, sender, "Geen grens") + "Content-Type: multipart/mixed\r\n\r\n"
                    "--x\r\nContent-Type: text/plain\r\n\r\nTekst\r\n--x--\r\n"
                ).encode()
            ),
            FILED,
        ),
        MailCase(
            "boundary_never_closed",
            raw(
                lambda to, sender: (
                    head(to, sender, "Open grens")
                    + 'Content-Type: multipart/mixed; boundary="o"\r\n\r\n'
                    "--o\r\nContent-Type: text/plain\r\n\r\nTekst zonder einde\r\n"
                ).encode()
            ),
            FILED,
        ),
        MailCase("one_3mb_line", quoted("Lange regel", "woord " * 500_000), FILED),
        MailCase("nul_bytes_in_body", simple("NUL in tekst", "a\x00b\x00c\r\n" * 100), FILED),
        MailCase(
            "message_partial",
            raw(
                lambda to, sender: (
                    head(to, sender, "Deel 1 van 9") + 'Content-Type: message/partial; id="x@y";'
                    " number=1; total=9\r\n\r\nFrom: a@b\r\n"
                ).encode()
            ),
            FILED,
        ),
        MailCase(
            "uuencode",
            raw(
                lambda to, sender: (
                    head(to, sender, "[stuk] uu") + "Content-Type: application/pdf; name=a.pdf\r\n"
                    "Content-Transfer-Encoding: x-uuencode\r\n"
                    "Content-Disposition: attachment\r\n\r\n"
                    "begin 644 a.pdf\r\n#0V%T\r\n`\r\nend\r\n"
                ).encode()
            ),
            FILED,
        ),
        # A forged partner mail with a "pass" naming our server below our server's "fail".
        MailCase(
            "forged_authentication_results",
            from_partner(
                [
                    "spf=fail smtp.mailfrom=partner.test; dkim=none;"
                    " dmarc=fail header.from=partner.test",
                    "spf=pass smtp.mailfrom=partner.test; dmarc=pass header.from=partner.test",
                ]
            ),
            FILED,
            check=lambda i: i.status is ItemStatus.AWAITING_ACCEPTANCE and bool(i.auth_failure),
        ),
        # The partner's domain has no DMARC: a forged SPF/DKIM (and DMARC) pass naming our
        # server below our server's own verdicts (docs/security.md, finding 2).
        MailCase(
            "forged_pass_where_the_partner_has_no_dmarc",
            from_partner(
                [
                    "spf=fail smtp.mailfrom=partner.test; dkim=none;"
                    " dmarc=none header.from=partner.test",
                    "spf=pass smtp.mailfrom=partner.test; dkim=pass header.d=partner.test;"
                    " dmarc=pass header.from=partner.test",
                ]
            ),
            FILED,
            receipt=False,
            check=lambda i: (
                i.status is ItemStatus.AWAITING_ACCEPTANCE
                and i.auth_failure == "spf=fail (partner.test)"
            ),
        ),
        # The partner's domain has no DMARC and its SPF ends in ~all: a forgery fails
        # nothing at our server, but nothing passed either. Not the partner's: it waits,
        # and is not "possibly forged" (docs/security.md: a partner needs a verified From).
        MailCase(
            "softfail_forgery_of_a_partner_without_dmarc",
            from_partner(
                [
                    "spf=softfail smtp.mailfrom=partner.test; dkim=none;"
                    " dmarc=none header.from=partner.test"
                ]
            ),
            FILED,
            check=lambda i: i.status is ItemStatus.AWAITING_ACCEPTANCE and i.auth_failure is None,
        ),
        MailCase(
            "verified_partner_control",
            from_partner(
                ["spf=pass smtp.mailfrom=partner.test; dmarc=pass header.from=partner.test"]
            ),
            FILED,
            check=lambda i: i.status is ItemStatus.FILED and i.auth_failure is None,
        ),
        MailCase(
            "not_a_mail_at_all",
            raw(lambda to, sender: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10),
            FILED,
        ),  # Dovecot's trace headers make it a mail: text, no file
    ]
