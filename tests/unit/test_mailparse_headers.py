"""Headers: who sent it, to which address, in which thread, automatic or not, authenticated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from connectors.mail.parse import parse_mail
from connectors.mail.signals import parse_authentication_results
from daemon.ports.mail import (
    AuthResult,
    MailLimits,
    ParsedMail,
    UnparseableMail,
    authentication_failed,
)

OURS = "wijkalliantie@bcop.example"


def parse(raw: bytes) -> ParsedMail:
    return parse_mail(raw, our_address=OURS, limits=MailLimits())


def mail(*headers: str, body: str = "Hallo.") -> bytes:
    lines = [*headers, "Content-Type: text/plain; charset=utf-8", "", body]
    return "\r\n".join(lines).encode()


BASE = ("From: Piet Jansen <Piet.Jansen@Gemeente.example>", "To: wijkalliantie@bcop.example")


def test_addresses_lowercased_and_names_decoded() -> None:
    parsed = parse(
        mail(
            "From: =?utf-8?q?Ren=C3=A9e_de_Vries?= <Renee@Ymere.example>",
            'To: "Wijkalliantie, BCOP" <wijkalliantie@bcop.example>, ander@x.example',
            "Cc: Kerngroep <kerngroep@bcop.example>",
            "Reply-To: secretariaat@ymere.example",
            "Delivered-To: wijkalliantie@bcop.example",
        )
    )
    assert (parsed.from_address, parsed.from_name) == ("renee@ymere.example", "Renée de Vries")
    assert parsed.to_addresses == ("wijkalliantie@bcop.example", "ander@x.example")
    assert parsed.cc_addresses == ("kerngroep@bcop.example",)
    assert parsed.reply_to == ("secretariaat@ymere.example",)
    assert parsed.delivered_to == ("wijkalliantie@bcop.example",)


def test_display_name_with_bidi_override_is_cleaned() -> None:
    parsed = parse(mail("From: =?utf-8?q?Gemeente=E2=80=AE_xyz?= <a@b.example>"))
    assert parsed.from_name == "Gemeente xyz"


def test_subject_cannot_smuggle_line_breaks() -> None:
    """A receipt reuses the subject; decoded CR/LF or NUL must not survive into it."""
    parsed = parse(mail(*BASE, "Subject: =?utf-8?q?Nota=0D=0ABcc:_x=00?= y"))
    assert parsed.subject == "Nota Bcc: x y"


def test_no_from_gives_empty_sender() -> None:
    parsed = parse(mail("To: wijkalliantie@bcop.example", "Subject: x"))
    assert (parsed.from_address, parsed.from_name) == ("", "")


@pytest.mark.parametrize(
    "recipients",
    [
        ("Delivered-To: wijkalliantie+stuk@bcop.example",),
        ("To: Wijkalliantie <WijkAlliantie+Stuk@BCOP.example>",),
        ("To: iemand@x.example", "Cc: wijkalliantie+stuk@bcop.example"),
        ("X-Original-To: wijkalliantie+stuk@bcop.example",),
    ],
)
def test_plus_tag(recipients: tuple[str, ...]) -> None:
    assert parse(mail("From: a@b.example", *recipients)).plus_tag == "stuk"


@pytest.mark.parametrize(
    "recipients",
    [
        ("To: wijkalliantie@bcop.example",),
        ("To: wijkalliantie+stuk@ander.example",),  # someone else's domain
        ("To: wijkalliantiefoo+stuk@bcop.example",),  # another local part
        ("To: wijkalliantie+@bcop.example",),  # an empty tag
    ],
)
def test_no_plus_tag(recipients: tuple[str, ...]) -> None:
    assert parse(mail("From: a@b.example", *recipients)).plus_tag is None


def test_message_id_normalised_and_thread_headers() -> None:
    parsed = parse(
        mail(
            *BASE,
            "Message-ID:\r\n  <abc.123@gemeente.example>  ",
            "In-Reply-To: Piet's mail <wb-42@bcop.example>",
            "References: <root@x.example>\r\n <wb-42@bcop.example> <root@x.example>",
        )
    )
    assert parsed.message_id == "<abc.123@gemeente.example>"
    assert parsed.message_id_synthesized is False
    assert parsed.in_reply_to == "<wb-42@bcop.example>"
    assert parsed.references == ("<root@x.example>", "<wb-42@bcop.example>")


def test_missing_message_id_synthesised_deterministically() -> None:
    raw = mail(*BASE, "Subject: zonder id")
    first, second = parse(raw), parse(raw)
    assert first.message_id == second.message_id == f"<{first.content_sha256}@wijkbode.invalid>"
    assert first.message_id_synthesized is True
    assert parse(raw + b" ").message_id != first.message_id


def test_headers_that_make_the_modern_policy_raise_are_read() -> None:
    """``policy.default`` raises IndexError on these; we read what can be read."""
    parsed = parse(mail("From: a@b.example", "To: =?utf-8?q?x?= <", "Message-ID: <@>"))
    assert (parsed.from_address, parsed.to_addresses, parsed.message_id) == (
        "a@b.example",
        (),
        "<@>",
    )


def test_date_header_parsed_informational() -> None:
    parsed = parse(mail(*BASE, "Date: Tue, 16 Mar 2027 09:30:00 +0100"))
    assert parsed.date_header == datetime(2027, 3, 16, 9, 30, tzinfo=timezone(timedelta(hours=1)))


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("Tue, 16 Mar 2027 09:30:00 -0000", datetime(2027, 3, 16, 9, 30, tzinfo=UTC)),
        ("gisteren", None),
        ("Mon, 32 Foo 2020 99:99:99 +9999", None),
        ("", None),
    ],
)
def test_bad_or_zoneless_dates(date: str, expected: datetime | None) -> None:
    assert parse(mail(*BASE, f"Date: {date}")).date_header == expected


def flags(parsed: ParsedMail) -> tuple[bool, bool, bool, bool]:
    return (parsed.is_auto, parsed.is_bulk_or_list, parsed.is_bounce, parsed.auto_submitted)


def test_ordinary_mail_has_no_flags() -> None:
    assert flags(parse(mail(*BASE, "Auto-Submitted: no", "Return-Path: <piet@x.example>"))) == (
        False,
        False,
        False,
        False,
    )


@pytest.mark.parametrize(
    "header",
    [
        "Auto-Submitted: auto-replied",
        "Auto-Submitted: auto-generated; owner-email=x@y.example",
        "Auto-Submitted: AUTO-NOTIFIED",
        "X-Autoreply: yes",
        "X-Autorespond: Afwezig",
    ],
)
def test_auto_reply_flagged(header: str) -> None:
    assert flags(parse(mail(*BASE, header))) == (True, False, False, True)


@pytest.mark.parametrize(
    "header",
    [
        "Precedence: bulk",
        "Precedence: junk",
        "Precedence: list",
        "List-Id: Bewoners <bewoners.lists.example>",
        "List-Unsubscribe: <mailto:leave@lists.example>",
    ],
)
def test_list_and_bulk_flagged(header: str) -> None:
    assert flags(parse(mail(*BASE, header))) == (False, True, False, True)


@pytest.mark.parametrize(
    "headers",
    [
        ("From: a@b.example", "Return-Path: <>"),
        ("From: MAILER-DAEMON@mx.example",),
        ("From: Mail Delivery System <postmaster@mx.example>",),
    ],
)
def test_bounce_by_sender(headers: tuple[str, ...]) -> None:
    assert parse(mail(*headers)).is_bounce is True


def test_null_sender_return_path() -> None:
    assert parse(mail(*BASE, "Return-Path: <>")).return_path == ""
    assert parse(mail(*BASE, "Return-Path: <Piet@X.example>")).return_path == "piet@x.example"
    assert parse(mail(*BASE)).return_path is None


DSN = """From: Mail Delivery Subsystem <bounces@mx.example>
To: wijkalliantie@bcop.example
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="r"

--r
Content-Type: text/plain

Your message could not be delivered.
--r
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example

Final-Recipient: rfc822; weg@x.example
Action: failed
Status: 5.1.1
--r
Content-Type: text/rfc822-headers

From: wijkalliantie@bcop.example
Subject: Ontvangstbevestiging
--r--
"""


def test_delivery_status_report_is_a_bounce() -> None:
    parsed = parse(DSN.replace("\n", "\r\n").encode())
    assert (parsed.is_bounce, parsed.auto_submitted) == (True, True)
    assert (parsed.text, parsed.attachments) == ("Your message could not be delivered.", ())


def test_read_receipt_is_automatic() -> None:
    raw = DSN.replace("delivery-status;", "disposition-notification;").replace(
        "message/delivery-status", "message/disposition-notification"
    )
    parsed = parse(raw.encode())
    assert (parsed.is_auto, parsed.is_bounce) == (True, False)


AR_HEADERS = (
    "Authentication-Results: mx.bcop.example;\r\n"
    "  spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=bounce@gemeente.example;\r\n"
    '  dkim=fail (bad signature) header.d=gemeente.example header.s="sel1";\r\n'
    "  dmarc=pass action=none header.from=gemeente.example",
    "Authentication-Results: forged.example; dkim=pass header.d=ymere.example",
)


def test_authentication_results_parsed() -> None:
    parsed = parse(mail(*BASE, *AR_HEADERS))
    assert parsed.auth_results == (
        AuthResult("mx.bcop.example", "spf", "pass", "gemeente.example"),
        AuthResult("mx.bcop.example", "dkim", "fail", "gemeente.example"),
        AuthResult("mx.bcop.example", "dmarc", "pass", "gemeente.example"),
        AuthResult("forged.example", "dkim", "pass", "ymere.example", header=1),
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("mx.example; none", []),
        ("mx.example 1; spf=fail smtp.mailfrom=example.org", [("spf", "fail", "example.org")]),
        # results separated by spaces only, a common mistake
        (
            "mx.example; spf=softfail smtp.mailfrom=a@x.example dkim=none",
            [("spf", "softfail", "x.example"), ("dkim", "none", None)],
        ),
        ("mx.example; dkim/1=pass header.i=@Sub.X.example", [("dkim", "pass", "sub.x.example")]),
        (
            'mx.example; dkim=pass (a "quoted; comment" (nested)) header.d=x.example',
            [("dkim", "pass", "x.example")],
        ),
        ("", []),
        (";;;", []),
    ],
)
def test_parse_authentication_results(
    value: str, expected: list[tuple[str, str, str | None]]
) -> None:
    results = parse_authentication_results(value)
    assert [(r.method, r.result, r.domain) for r in results] == expected


def ar(server: str, method: str, result: str, domain: str | None) -> AuthResult:
    return AuthResult(server, method, result, domain)


OUR_SERVER = "mx.bcop.example"


@pytest.mark.parametrize(
    ("results", "failed"),
    [
        ([], False),
        ([ar(OUR_SERVER, "dmarc", "fail", "gemeente.example")], True),
        (
            [
                ar(OUR_SERVER, "dmarc", "pass", "gemeente.example"),
                ar(OUR_SERVER, "dkim", "fail", "gemeente.example"),
            ],
            False,
        ),
        ([ar(OUR_SERVER, "spf", "fail", "gemeente.example")], True),
        (
            [ar(OUR_SERVER, "spf", "fail", "mail.gemeente.example")],
            True,
        ),  # a subdomain speaks for it
        ([ar(OUR_SERVER, "dkim", "fail", "gemeente.example")], True),
        (
            [
                ar(OUR_SERVER, "spf", "fail", "gemeente.example"),
                ar(OUR_SERVER, "dkim", "pass", "gemeente.example"),
            ],
            False,
        ),
        ([ar(OUR_SERVER, "spf", "softfail", "gemeente.example")], False),  # softfail is not a no
        (
            [
                ar(OUR_SERVER, "dmarc", "none", "gemeente.example"),
                ar(OUR_SERVER, "spf", "fail", "gemeente.example"),
            ],
            True,
        ),
        ([ar("forged.example", "dmarc", "fail", "gemeente.example")], False),  # not our server
        ([ar(OUR_SERVER, "spf", "fail", "anders.example")], False),  # another domain
        ([ar(OUR_SERVER, "spf", "fail", "notgemeente.example")], False),  # not a subdomain
        ([ar(OUR_SERVER, "spf", "fail", None)], False),
    ],
)
def test_authentication_failed(results: list[AuthResult], failed: bool) -> None:
    assert authentication_failed(results, OUR_SERVER, "gemeente.example") is failed


def test_authentication_failed_matches_server_case_insensitively() -> None:
    results = parse_authentication_results(
        "MX.BCOP.example; dmarc=fail header.from=Gemeente.example"
    )
    assert authentication_failed(results, "mx.bcop.example", "GEMEENTE.example") is True
    assert authentication_failed(results, "", "gemeente.example") is False


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"  \r\n\r\n ", "empty"),
        (b"\r\nJust text, no headers at all.\r\n", "no_headers"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "no_headers"),
        (b"X-Note: only\r\nX-Other: headers\r\n\r\nbody", "not_a_mail"),
    ],
)
def test_unparseable_mail(raw: bytes, reason: str) -> None:
    with pytest.raises(UnparseableMail) as caught:
        parse(raw)
    assert caught.value.reason.split(":")[0] == reason


def test_obsolete_space_before_colon_is_understood() -> None:
    parsed = parse(b"From  : Piet <piet@x.example>\r\nSubject   : Hallo\r\n\r\nTekst\r\n")
    assert (parsed.from_address, parsed.subject, parsed.text) == (
        "piet@x.example",
        "Hallo",
        "Tekst",
    )


def nested(depth: int) -> bytes:
    head = "".join(
        f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n' for i in range(depth)
    )
    return ("From: a@b.example\r\n" + head + "Content-Type: text/plain\r\n\r\ndiep\r\n").encode()


def test_deep_nesting_is_cut_off_with_a_defect() -> None:
    parsed = parse(nested(60))
    assert (parsed.text, "too_deep" in parsed.defects) == ("", True)


def test_pathological_nesting_is_unparseable_not_a_crash() -> None:
    """The email parser recurses per level; thousands of levels become a clear reason."""
    with pytest.raises(UnparseableMail) as caught:
        parse(nested(3000))
    assert caught.value.reason.startswith("too_deep")


def test_many_parts_are_bounded() -> None:
    part = b"--b\r\nContent-Type: application/pdf\r\n\r\n%PDF\r\n"
    raw = b"From: a@b.example\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" + part * 3000
    parsed = parse(raw + b"--b--\r\n")
    assert (len(parsed.attachments), "too_many_parts" in parsed.defects) == (20, True)
