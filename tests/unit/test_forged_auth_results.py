"""A sender may write an ``Authentication-Results`` header naming our server themselves.

When our server's own DMARC verdict is ``fail``, a ``pass`` the sender wrote below it
(claiming our authserv-id) must not turn a forged partner mail into a verified one
(docs/security.md, "Someone who can send mail to the address").
"""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.mail.parse import parse_mail
from daemon.config.schema import Partner
from daemon.mail.understand import Understood, may_add_version, trusted_partner, understand
from daemon.model import Item, ItemId, ItemStatus, Kind
from daemon.ports.mail import (
    AuthResult,
    MailLimits,
    ParsedMail,
    authentication_failure,
    authentication_verified,
)

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


AT = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def test_our_dmarc_pass_still_trusts_the_partner() -> None:
    results = [AuthResult(OURS, "dmarc", "pass", "gemeente.test")]
    assert authentication_failure(results, OURS, "gemeente.test") is None


# --- Finding 2: our server's verdict per method is its topmost header; lower ones are the
# sender's words. A domain without DMARC leaves SPF and DKIM to decide, and those a sender
# could write below ours too (docs/security.md).


def parsed_with(
    *headers: str, sender: str = "ambtenaar@gemeente.test", subject: str = "[stuk] Notitie"
) -> ParsedMail:
    """A mail with these Authentication-Results, the first on top where our server puts its
    own, the rest below the From, where a sender writes theirs."""
    top, *lower = [f"Authentication-Results: {h}\r\n" for h in headers] or [""]
    raw = (
        f"{top}From: <{sender}>\r\nTo: wijk@wijk.test\r\n{''.join(lower)}"
        f"Subject: {subject}\r\nMessage-ID: <n@x.test>\r\n\r\nTekst.\r\n"
    ).encode()
    return parse_mail(raw, our_address="wijk@wijk.test", limits=MailLimits())


GEMEENTE = Partner(name="Gemeente", addresses=(), domains=("gemeente.test",))
NO_DMARC = (
    f"{OURS}; spf=fail smtp.mailfrom=gemeente.test; dkim=none; dmarc=none header.from=gemeente.test"
)


def test_the_headers_keep_their_place_top_to_bottom() -> None:
    parsed = parsed_with(NO_DMARC, FORGED_PASS, "mx.elders.test; dkim=pass header.d=x.test")
    assert [(r.header, r.method, r.result) for r in parsed.auth_results] == [
        (0, "spf", "fail"), (0, "dkim", "none"), (0, "dmarc", "none"),
        (1, "spf", "pass"), (1, "dkim", "pass"), (1, "dmarc", "pass"),
        (2, "dkim", "pass"),
    ]  # fmt: skip


def test_a_forged_spf_and_dkim_pass_below_ours_do_not_count_where_there_is_no_dmarc() -> None:
    forged = f"{OURS}; spf=pass smtp.mailfrom=gemeente.test; dkim=pass header.d=gemeente.test"
    parsed = parsed_with(NO_DMARC, forged)
    assert authentication_failure(parsed.auth_results, OURS, "gemeente.test") == (
        "spf=fail (gemeente.test)"
    )
    assert trusted_partner(parsed, [GEMEENTE], OURS) is None


def test_a_forged_dmarc_pass_does_not_outweigh_our_dmarc_none() -> None:
    parsed = parsed_with(NO_DMARC, f"{OURS}; dmarc=pass header.from=gemeente.test")
    assert authentication_failure(parsed.auth_results, OURS, "gemeente.test") == (
        "spf=fail (gemeente.test)"
    )
    assert not authentication_verified(parsed.auth_results, OURS, "gemeente.test")


def test_opendkim_and_opendmarc_writing_separate_headers_are_all_our_verdict() -> None:
    """Each milter prepends its own header; each method's topmost one is ours."""
    parsed = parsed_with(
        f"{OURS}; dmarc=none header.from=gemeente.test",  # OpenDMARC, last milter, on top
        f"{OURS}; dkim=pass header.d=gemeente.test",  # OpenDKIM
        f"{OURS}; spf=fail smtp.mailfrom=gemeente.test",  # the SPF policy service
        f"{OURS}; dkim=fail header.d=gemeente.test; spf=fail smtp.mailfrom=gemeente.test",
    )
    assert authentication_verified(parsed.auth_results, OURS, "gemeente.test")
    assert trusted_partner(parsed, [GEMEENTE], OURS) == GEMEENTE


def test_a_forged_dkim_pass_below_our_separate_dkim_header_does_not_count() -> None:
    parsed = parsed_with(
        f"{OURS}; dmarc=none header.from=gemeente.test",
        f"{OURS}; dkim=none; spf=fail smtp.mailfrom=gemeente.test",
        f"{OURS}; dkim=pass header.d=gemeente.test",  # the sender's
    )
    assert authentication_failure(parsed.auth_results, OURS, "gemeente.test") == (
        "spf=fail (gemeente.test)"
    )


def test_all_results_of_our_topmost_header_count_two_dkim_signatures() -> None:
    parsed = parsed_with(
        f"{OURS}; dkim=fail header.d=lijst.test; dkim=pass header.d=gemeente.test;"
        " dmarc=none header.from=gemeente.test",
    )
    assert authentication_verified(parsed.auth_results, OURS, "gemeente.test")


def test_our_spf_verdict_for_another_domain_still_hides_a_forged_one_below() -> None:
    """Per method, not per domain: our server checked SPF (for the envelope's domain)."""
    parsed = parsed_with(
        f"{OURS}; spf=pass smtp.mailfrom=elders.test; dkim=none;"
        " dmarc=none header.from=gemeente.test",
        f"{OURS}; spf=pass smtp.mailfrom=gemeente.test",
    )
    assert not authentication_verified(parsed.auth_results, OURS, "gemeente.test")


def test_without_any_spf_verdict_of_ours_a_forged_spf_pass_still_counts() -> None:
    """The limit, and so the requirement on the mail server: it must write a verdict for
    every method (``dkim=none`` for unsigned mail), or remove headers naming it."""
    parsed = parsed_with(
        f"{OURS}; dkim=none; dmarc=none header.from=gemeente.test",
        f"{OURS}; spf=pass smtp.mailfrom=gemeente.test",
    )
    assert authentication_verified(parsed.auth_results, OURS, "gemeente.test")


# --- Finding 3: a non-partner's item takes a version only from a verified From.

ITEM = Item(ItemId(4), Kind.STUK, "Begroting", "x@elders.test", AT, None, False, False,
            ItemStatus.FILED, "mail")  # fmt: skip


def version_from(*headers: str, authserv: str | None = OURS) -> Understood:
    """``Re: [WB-4]`` from the item's own address, with these Authentication-Results."""
    parsed = parsed_with(*headers, sender="x@elders.test", subject="Re: [WB-4] Begroting")
    return understand(
        parsed, AT, partners=[GEMEENTE], authserv_id=authserv, known_series=["wijkalliantie"]
    )


def test_a_version_from_an_unverified_from_is_not_added() -> None:
    """No check failed, none passed: the From may be forged (a domain without DMARC)."""
    assert not may_add_version(ITEM, version_from(), [GEMEENTE])
    none = (
        f"{OURS}; spf=none smtp.mailfrom=elders.test; dkim=none; dmarc=none header.from=elders.test"
    )
    assert not may_add_version(ITEM, version_from(none), [GEMEENTE])


def test_a_version_with_a_forged_pass_below_ours_is_not_added() -> None:
    none = (
        f"{OURS}; spf=none smtp.mailfrom=elders.test; dkim=none; dmarc=none header.from=elders.test"
    )
    forged = f"{OURS}; spf=pass smtp.mailfrom=elders.test; dkim=pass header.d=elders.test"
    assert not may_add_version(ITEM, version_from(none, forged), [GEMEENTE])


def test_a_version_verified_by_our_server_is_added() -> None:
    dmarc = f"{OURS}; dmarc=pass header.from=elders.test"
    spf = f"{OURS}; spf=pass smtp.mailfrom=bounce.elders.test; dmarc=none header.from=elders.test"
    dkim = f"{OURS}; spf=softfail smtp.mailfrom=fwd.test; dkim=pass header.d=elders.test"
    for verified in (dmarc, spf, dkim):
        assert may_add_version(ITEM, version_from(verified), [GEMEENTE]), verified


def test_a_pass_for_another_domain_does_not_verify_the_from() -> None:
    other = f"{OURS}; spf=pass smtp.mailfrom=spammer.test; dkim=pass header.d=spammer.test"
    assert not may_add_version(ITEM, version_from(other), [GEMEENTE])


def test_without_authserv_id_nothing_can_be_verified_and_the_address_decides() -> None:
    assert may_add_version(ITEM, version_from(authserv=None), [GEMEENTE])
