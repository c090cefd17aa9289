"""Who may answer a non-binding advice's request: the advised partner, really them.

The request's Message-ID is made from its outbox key (``advice/<n>/request``), so a
stranger can name it in ``In-Reply-To``; the From decides, and a From our server found
forged, or could not verify, must not file the motivation (docs/security.md).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from connectors.mail.parse import parse_mail
from daemon.config import Partner
from daemon.mail.advice import from_the_advised
from daemon.mail.understand import Understood, understand
from daemon.ports.mail import MailLimits
from daemon.store.decisions import StoredAdvice

OURS = "mx.wijk.test"
AT = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
PARTNER = Partner("Gemeente", ("ambtenaar@gemeente.test",), ())
ADVICE = StoredAdvice(
    id=1, decision=1, partner="Gemeente", address="ambtenaar@gemeente.test",
    due=date(2027, 3, 29), agreement=None, requested_by="@voorzitter:wijk.test",
    requested_at=AT, motivation=None, answered_at=None,
)  # fmt: skip


def reply(auth: str | None, partners: list[Partner]) -> Understood:
    head = f"Authentication-Results: {OURS}; {auth}\r\n" if auth else ""
    raw = (
        f"{head}From: ambtenaar@gemeente.test\r\nTo: wijk@wijk.test\r\n"
        "Subject: Re: Niet-bindend advies [WB-3]\r\n\r\nGeen budget.\r\n"
    ).encode()
    parsed = parse_mail(raw, our_address="wijk@wijk.test", limits=MailLimits())
    return understand(parsed, AT, partners=partners, authserv_id=OURS, known_series=[])


def test_the_partners_own_reply_answers() -> None:
    assert from_the_advised(ADVICE, reply("dmarc=pass header.from=gemeente.test", [PARTNER]),
                            "ambtenaar@gemeente.test")  # fmt: skip


def test_a_reply_our_server_found_forged_does_not_answer() -> None:
    forged = reply("spf=fail smtp.mailfrom=gemeente.test; dmarc=fail header.from=gemeente.test",
                   [PARTNER])  # fmt: skip
    assert not from_the_advised(ADVICE, forged, "ambtenaar@gemeente.test")


def test_by_address_alone_only_a_from_our_server_verified_answers() -> None:
    """The partner is no longer configured under that name: the address remains."""
    assert not from_the_advised(ADVICE, reply(None, []), "ambtenaar@gemeente.test")
    failed = reply("dmarc=fail header.from=gemeente.test", [])
    assert not from_the_advised(ADVICE, failed, "ambtenaar@gemeente.test")
    verified = reply("dkim=pass header.d=gemeente.test; dmarc=none header.from=gemeente.test", [])
    assert from_the_advised(ADVICE, verified, "ambtenaar@gemeente.test")
