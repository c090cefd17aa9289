"""A partner is trusted when our server verified it, not merely when nothing failed.

Where a partner's domain publishes no DMARC and its SPF ends in ``~all``, a forgery gets
``spf=softfail, dkim=none, dmarc=none`` at our server: nothing failed, nothing passed.
With ``[mail] authserv_id`` such a mail is not the partner's: it waits for acceptance,
its room post says our server could not confirm the partner, and it has no partner
privileges. Without ``authserv_id`` nothing can be verified and the From decides, as
before (``check-config`` warns about that). docs/security.md, "Someone who can send
mail to the address".
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from connectors.mail.parse import parse_mail
from daemon.config import parse_config
from daemon.config.runnable import trust_warnings
from daemon.config.schema import Partner
from daemon.filing.submission import Filed, FilingRules
from daemon.mail.understand import Understood, may_add_version, trusted_partner, understand
from daemon.model import Item, ItemId, ItemStatus, Kind, SeriesId
from daemon.ports.mail import MailLimits, ParsedMail
from daemon.publish.item_posts import new_item_post
from daemon.publish.receipts import ReceiptTo, filed_receipt
from daemon.rules import defaults
from daemon.rules.assignment import assign
from daemon.safe_text import WORD_JOINER

OURS = "mx.wijk.test"
AT = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
GEMEENTE = Partner(name="Gemeente", addresses=(), domains=("gemeente.test",))
SOFTFAIL = (
    f"{OURS}; spf=softfail smtp.mailfrom=gemeente.test; dkim=none;"
    " dmarc=none header.from=gemeente.test"
)


def parsed_with(*headers: str, subject: str = "[stuk] Notitie") -> ParsedMail:
    """A mail from the partner's domain with these Authentication-Results, the first on
    top where our server puts its own, the rest below the From, where a sender writes."""
    top, *lower = [f"Authentication-Results: {h}\r\n" for h in headers] or [""]
    raw = (
        f"{top}From: Gemeente <ambtenaar@gemeente.test>\r\nTo: wijk@wijk.test\r\n"
        f"{''.join(lower)}Subject: {subject}\r\nMessage-ID: <n@x.test>\r\n\r\nTekst.\r\n"
    ).encode()
    return parse_mail(raw, our_address="wijk@wijk.test", limits=MailLimits())


def read(parsed: ParsedMail, authserv: str | None = OURS) -> Understood:
    return understand(
        parsed, AT, partners=[GEMEENTE], authserv_id=authserv, known_series=["wijkalliantie"]
    )


def test_a_softfail_forgery_of_a_partner_without_dmarc_is_not_the_partners() -> None:
    understood = read(parsed_with(SOFTFAIL))
    assert trusted_partner(parsed_with(SOFTFAIL), [GEMEENTE], OURS) is None
    assert understood.partner is None
    assert understood.submission.awaiting_acceptance
    assert understood.auth_failure is None  # nothing failed: not "possibly forged"
    assert understood.sender.partner is None
    assert understood.sender.unverified_partner == "Gemeente"


def test_a_partner_mail_without_any_verdict_of_ours_is_not_the_partners() -> None:
    """No header of ours at all (a server that writes none), or only another server's pass."""
    for parsed in (
        parsed_with(),
        parsed_with("mx.elders.test; dmarc=pass header.from=gemeente.test"),
    ):
        understood = read(parsed)
        assert understood.partner is None
        assert understood.submission.awaiting_acceptance
        assert understood.sender.unverified_partner == "Gemeente"


def test_a_forged_pass_below_our_softfail_does_not_make_the_partner() -> None:
    forged = (
        f"{OURS}; spf=pass smtp.mailfrom=gemeente.test; dkim=pass header.d=gemeente.test;"
        " dmarc=pass header.from=gemeente.test"
    )
    assert read(parsed_with(SOFTFAIL, forged)).partner is None


def test_a_partner_verified_by_our_server_is_the_partners() -> None:
    """An aligned DMARC pass, or without DMARC an aligned DKIM pass (a forwarder: SPF
    softfails) or SPF pass."""
    dmarc = f"{OURS}; spf=pass smtp.mailfrom=gemeente.test; dmarc=pass header.from=gemeente.test"
    dkim = (
        f"{OURS}; spf=softfail smtp.mailfrom=forwarder.test; dkim=pass header.d=gemeente.test;"
        " dmarc=none header.from=gemeente.test"
    )
    spf = f"{OURS}; spf=pass smtp.mailfrom=gemeente.test; dkim=none; dmarc=none"
    for verified in (dmarc, dkim, spf):
        understood = read(parsed_with(verified))
        assert understood.partner == GEMEENTE, verified
        assert not understood.submission.awaiting_acceptance
        assert understood.sender.partner == "Gemeente"
        assert understood.sender.unverified_partner is None


def test_a_failed_partner_mail_is_possibly_forged_not_merely_unverified() -> None:
    failed = f"{OURS}; spf=fail smtp.mailfrom=gemeente.test; dmarc=fail header.from=gemeente.test"
    understood = read(parsed_with(failed))
    assert understood.partner is None
    assert understood.auth_failure == "dmarc=fail (gemeente.test)"
    assert understood.sender.unverified_partner is None  # the post says "possibly forged"


def test_without_authserv_id_a_partner_is_still_trusted_by_its_from() -> None:
    understood = read(parsed_with(), authserv=None)
    assert understood.partner == GEMEENTE
    assert not understood.submission.awaiting_acceptance
    assert understood.sender.unverified_partner is None


def test_an_unverified_partner_mail_adds_no_version_to_the_partners_item() -> None:
    item = Item(ItemId(4), Kind.STUK, "Begroting", "ambtenaar@gemeente.test", AT, None,
                False, False, ItemStatus.FILED, "mail")  # fmt: skip
    subject = "Re: [WB-4] Begroting"
    assert not may_add_version(item, read(parsed_with(SOFTFAIL, subject=subject)), [GEMEENTE])
    verified = f"{OURS}; dkim=pass header.d=gemeente.test; dmarc=none header.from=gemeente.test"
    assert may_add_version(item, read(parsed_with(verified, subject=subject)), [GEMEENTE])


TZ = ZoneInfo("Europe/Amsterdam")
SERIES = SeriesId("wijkalliantie")
RULES = FilingRules(TZ, SERIES, {SERIES: defaults.WIJKALLIANTIE})


def test_the_post_tells_the_core_group_the_partner_was_not_verified() -> None:
    understood = read(parsed_with(SOFTFAIL))
    at = datetime(2027, 3, 1, 10, 0, tzinfo=TZ)
    assignment = assign(Kind.STUK, at, [], defaults.WIJKALLIANTIE, TZ)
    item = Item(ItemId(7), Kind.STUK, "Notitie", "ambtenaar@gemeente.test", at, None,
                False, False, ItemStatus.AWAITING_ACCEPTANCE, "mail")  # fmt: skip
    post = new_item_post(Filed(item, assignment, None), understood.sender, RULES)
    dutch, _, english = post.body.partition("\n\n— English —\n")
    sender = f"Gemeente <ambtenaar@{WORD_JOINER}gemeente.test>"
    assert dutch.splitlines()[1] == (
        f"Van: {sender}, maar onze mailserver kon niet bevestigen dat dit van Gemeente komt"
        " (niet geverifieerd): wacht op acceptatie"
    )
    assert english.splitlines()[1] == (
        f"From: {sender}, but our mail server could not confirm that this comes from"
        " Gemeente (not verified): awaiting acceptance"
    )
    assert "geen bekende partner" not in post.body


PARTNERS = """\
[series.wijkalliantie]
[series.wijkalliantie.plan]
dates = [2027-04-06T19:30:00]

[[partners]]
name = "Gemeente"
domains = ["gemeente.test"]

[mail]
address = "wijkbode@wijk.test"
{authserv}
[mail.imap]
host = "imap.wijk.test"
username = "wijkbode"
password_env = "WIJKBODE_TEST_IMAP"
[mail.smtp]
host = "smtp.wijk.test"
username = "wijkbode"
password_env = "WIJKBODE_TEST_SMTP"
"""


def test_check_config_warns_that_partners_are_trusted_by_from_alone_without_authserv_id() -> None:
    without = parse_config(PARTNERS.format(authserv=""), Path("wijkbode.toml"))
    [warning] = trust_warnings(without)
    assert "mail.authserv_id" in warning
    assert "alleen op het From-adres" in warning
    assert "by their From address alone" in warning
    with_id = parse_config(
        PARTNERS.format(authserv=f'authserv_id = "{OURS}"'), Path("wijkbode.toml")
    )
    assert trust_warnings(with_id) == []
    no_partners = PARTNERS.format(authserv="").replace(
        '[[partners]]\nname = "Gemeente"\ndomains = ["gemeente.test"]\n', ""
    )
    assert trust_warnings(parse_config(no_partners, Path("wijkbode.toml"))) == []


def test_the_receipt_does_not_tell_the_partner_its_address_is_not_on_the_list() -> None:
    """It is on the list; our server could not confirm the mail is really from it."""
    at = datetime(2027, 3, 1, 10, 0, tzinfo=TZ)
    assignment = assign(Kind.STUK, at, [], defaults.WIJKALLIANTIE, TZ)
    item = Item(ItemId(7), Kind.STUK, "Notitie", "ambtenaar@gemeente.test", at, None,
                False, False, ItemStatus.AWAITING_ACCEPTANCE, "mail")  # fmt: skip
    to = ReceiptTo("receipt/mail/1/1", "ambtenaar@gemeente.test", None, (), "wijk.test", TZ)
    filed = Filed(item, assignment, None)
    text = filed_receipt(to, filed, defaults.WIJKALLIANTIE, unverified=True).text
    assert (
        "Onze mailserver kon niet bevestigen dat deze mail echt van uw adres komt (geen"
        " geslaagde SPF-, DKIM- of DMARC-controle). Daarom bekijkt een lid van de kerngroep"
        " uw inzending eerst; u hoort van ons zodra die is geaccepteerd."
    ) in text
    assert "Our mail server could not confirm that this mail really comes from your address" in text
    assert "niet op de lijst van partners" not in text
    assert "niet op de lijst van partners" in filed_receipt(to, filed, defaults.WIJKALLIANTIE).text
