"""A sender may write an ``Authentication-Results`` header naming our server themselves.

When our server's own DMARC verdict is ``fail``, a ``pass`` the sender wrote below it
(claiming our authserv-id) must not turn a forged partner mail into a verified one
(docs/security.md, "Someone who can send mail to the address").
"""

from __future__ import annotations

from connectors.mail.parse import parse_mail
from daemon.config.schema import Partner
from daemon.mail.understand import trusted_partner
from daemon.ports.mail import AuthResult, MailLimits, authentication_failure

OURS = "mx.wijk.test"
REAL_FAIL = (
    f"{OURS}; spf=fail smtp.mailfrom=gemeente.test; dkim=none; dmarc=fail header.from=gemeente.test"
)
FORGED_PASS = (
    f"{OURS}; spf=pass smtp.mailfrom=gemeente.test; dkim=pass header.d=gemeente.test;"
    " dmarc=pass header.from=gemeente.test"
)


def test_our_dmarc_fail_is_not_undone_by_a_pass_claiming_our_name() -> None:
    results = [
        AuthResult(OURS, "dmarc", "fail", "gemeente.test"),  # our MTA's, prepended on top
        AuthResult(OURS, "dmarc", "pass", "gemeente.test"),  # the sender's, further down
    ]
    assert authentication_failure(results, OURS, "gemeente.test") == "dmarc=fail (gemeente.test)"


def test_a_forged_partner_mail_with_a_forged_pass_is_not_trusted() -> None:
    raw = (
        f"Authentication-Results: {REAL_FAIL}\r\n"
        "From: Gemeente <ambtenaar@gemeente.test>\r\nTo: wijk@wijk.test\r\n"
        f"Authentication-Results: {FORGED_PASS}\r\n"
        "Subject: [stuk] Echt waar\r\nMessage-ID: <v@x.test>\r\n\r\nTekst.\r\n"
    ).encode()
    parsed = parse_mail(raw, our_address="wijk@wijk.test", limits=MailLimits())
    partner = Partner(name="Gemeente", addresses=(), domains=("gemeente.test",))
    assert trusted_partner(parsed, [partner], OURS) is None


def test_our_dmarc_pass_still_trusts_the_partner() -> None:
    results = [AuthResult(OURS, "dmarc", "pass", "gemeente.test")]
    assert authentication_failure(results, OURS, "gemeente.test") is None
