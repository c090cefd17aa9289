"""A mail's identity leaves out the trace fields servers add, and nothing the sender wrote."""

from __future__ import annotations

from connectors.mail.identity import identity_sha256
from connectors.mail.parse import parse_mail
from daemon.ports.mail import MailLimits

OURS = "wijkalliantie@wijk.test"
SENT = (
    b"From: Piet <p@gemeente.test>\r\nTo: wijkalliantie@wijk.test\r\n"
    b"Subject: [stuk] Jaarverslag\r\nMessage-ID: <jv-1@gemeente.test>\r\n"
    b"Received: from laptop (by mx.gemeente.test); Mon, 1 Mar 2027 09:00:00 +0100\r\n"
    b"\r\nBijgaand het jaarverslag.\r\nReceived: in the body is text\r\n"
)


def delivered(trace: bytes, mail: bytes = SENT) -> bytes:
    """``mail`` as our mailbox holds it after one delivery: trace fields on top."""
    return trace + mail


FIRST = delivered(
    b"Return-Path: <p@gemeente.test>\r\nDelivered-To: wijkalliantie@wijk.test\r\n"
    b"Received: from mx.wijk.test by imap (Dovecot) with LMTP id AAA\r\n"
    b"\tfor <wijkalliantie@wijk.test>; Mon, 1 Mar 2027 09:00:02 +0100\r\n"
    b"Authentication-Results: mx.wijk.test; dmarc=pass header.from=gemeente.test\r\n"
    b"X-Spam-Status: No, score=-0.1\r\n"
)
AGAIN = delivered(
    b"Return-Path: <p@gemeente.test>\r\nDelivered-To: alliantie@wijk.test\r\n"
    b"X-Original-To: alliantie@wijk.test\r\n"
    b"Received: from mx.wijk.test by imap (Dovecot) with LMTP id BBB\r\n"
    b"\tfor <alliantie@wijk.test>; Mon, 1 Mar 2027 09:07:45 +0100\r\n"
    b"Received: from mx.gemeente.test by mx.wijk.test; Mon, 1 Mar 2027 09:07:44 +0100\r\n"
    b"Authentication-Results: mx.wijk.test; dmarc=pass header.from=gemeente.test\r\n"
    b"X-Spam-Status: No, score=0.3\r\n"
)


def parsed_id(raw: bytes) -> tuple[str, str]:
    mail = parse_mail(raw, our_address=OURS, limits=MailLimits())
    return mail.message_id, mail.content_sha256


def test_a_redelivered_mail_has_the_same_identity() -> None:
    """A retry by the sender's server, or one mail to two of our aliases."""
    assert parsed_id(FIRST) == parsed_id(AGAIN)
    assert identity_sha256(FIRST) == identity_sha256(SENT) == identity_sha256(AGAIN)


def test_anything_the_sender_wrote_counts() -> None:
    """Other text, or another subject, under the same Message-ID is another mail."""
    other_body = delivered(FIRST[: FIRST.index(b"From:")], SENT.replace(b"jaarverslag.", b"x."))
    other_subject = FIRST.replace(b"[stuk] Jaarverslag", b"[stuk] Jaarverslag v2")
    ids = {parsed_id(raw) for raw in (FIRST, other_body, other_subject)}
    assert len(ids) == 3
    assert {message_id for message_id, _ in ids} == {"<jv-1@gemeente.test>"}


def test_a_trace_word_in_the_body_or_a_folded_line_is_not_a_field() -> None:
    folded = SENT.replace(
        b"Subject: [stuk] Jaarverslag\r\n", b"Subject: [stuk]\r\n Received: x\r\n"
    )
    assert identity_sha256(folded) != identity_sha256(SENT)
    assert identity_sha256(SENT.replace(b"Received: in the body", b"Other")) != identity_sha256(
        SENT
    )
