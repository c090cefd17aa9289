"""Reading a parsed mail as a submission: kind, title, partner checks, who may add a version."""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.mail.parse import parse_mail
from daemon.config import Partner
from daemon.mail.understand import NO_SENDER, Understood, may_add_version, understand
from daemon.model import Item, ItemId, ItemStatus, Kind
from daemon.ports.mail import MailLimits, ParsedMail

OURS = "wijkalliantie@wijk.test"
GEMEENTE = Partner("Gemeente", (), ("gemeente.test",))
WONEN = Partner("Wonen", ("info@wonen.test",), ())
AT = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def mail(sender: str, subject: str, *headers: str, to: str = OURS) -> ParsedMail:
    head = "".join(f"{h}\r\n" for h in headers)
    raw = f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n{head}\r\nTekst.\r\n"
    return parse_mail(raw.encode(), our_address=OURS, limits=MailLimits())


def read(parsed: ParsedMail, authserv: str | None = "mx.wijk.test") -> Understood:
    return understand(
        parsed, AT, partners=[GEMEENTE, WONEN], authserv_id=authserv,
        known_series=["wijkalliantie", "kerngroep"],
    )  # fmt: skip


# Our server verified the partner's domain: with authserv_id a partner needs that.
PARTNER_VERIFIED = "Authentication-Results: mx.wijk.test; dmarc=pass header.from=gemeente.test"


def item_of(submitter: str) -> Item:
    return Item(ItemId(4), Kind.STUK, "Begroting", submitter, AT, None, False, False,
                ItemStatus.FILED, "mail")  # fmt: skip


def test_tags_give_kind_series_date_and_a_clean_title() -> None:
    subject = "Re: [tk] [kerngroep 01-04-2027] Jaarverslag"
    understood = read(mail("p@gemeente.test", subject, PARTNER_VERIFIED))
    submission = understood.submission
    assert (submission.kind, submission.title) == (Kind.TER_KENNISGEVING, "Jaarverslag")
    assert (submission.series, str(submission.on_date)) == ("kerngroep", "2027-04-01")
    assert (submission.received_at, submission.awaiting_acceptance) == (AT, False)


def test_plus_address_gives_the_kind_when_the_subject_has_none() -> None:
    parsed = mail("p@gemeente.test", "Notitie", to="wijkalliantie+actualiteit@wijk.test")
    assert read(parsed).submission.kind is Kind.ACTUALITEIT


def test_unknown_and_automatic_senders_await_acceptance() -> None:
    assert read(mail("x@elders.test", "Hallo")).submission.awaiting_acceptance
    auto = mail("p@gemeente.test", "Afwezig", "Auto-Submitted: auto-replied")
    assert read(auto).submission.awaiting_acceptance


def test_only_our_own_servers_dmarc_failure_makes_a_partner_unknown() -> None:
    failed = "Authentication-Results: mx.wijk.test; dmarc=fail header.from=gemeente.test"
    foreign = "Authentication-Results: mx.evil.test; dmarc=fail header.from=gemeente.test"
    assert read(mail("p@gemeente.test", "A", failed)).partner is None
    assert read(mail("p@gemeente.test", "A", PARTNER_VERIFIED, foreign)).partner == GEMEENTE
    assert read(mail("p@gemeente.test", "A", failed), authserv=None).partner == GEMEENTE


def test_thread_ids_and_item_reference_are_read() -> None:
    parsed = mail(
        "p@gemeente.test", "Re: Ontvangen / Received: Begroting [WB-4]",
        "In-Reply-To: <r@wijk.test>", "References: <a@gemeente.test> <r@wijk.test>",
    )  # fmt: skip
    understood = read(parsed)
    assert (understood.thread_ids, understood.item_ref) == (
        ("<a@gemeente.test>", "<r@wijk.test>"),
        4,
    )


def test_a_partners_item_takes_versions_only_from_that_partner_verified() -> None:
    item = item_of("p@gemeente.test")
    colleague = mail("collega@gemeente.test", "v2", PARTNER_VERIFIED)
    assert may_add_version(item, read(colleague), [GEMEENTE, WONEN])
    assert not may_add_version(item, read(mail("x@elders.test", "v2")), [GEMEENTE, WONEN])
    spoofed = mail(
        "p@gemeente.test",
        "v2",
        "Authentication-Results: mx.wijk.test; dmarc=fail header.from=gemeente.test",
    )
    assert not may_add_version(item, read(spoofed), [GEMEENTE, WONEN])


# Our server verified the From domain (a non-partner's version needs that: finding 3).
VERIFIED = "Authentication-Results: mx.wijk.test; dmarc=pass header.from=elders.test"


def test_an_unknown_senders_item_takes_versions_only_from_the_same_address() -> None:
    item = item_of("x@elders.test")
    assert may_add_version(item, read(mail("x@elders.test", "v2", VERIFIED)), [GEMEENTE])
    assert not may_add_version(item, read(mail("y@elders.test", "v2", VERIFIED)), [GEMEENTE])
    assert not may_add_version(item_of(NO_SENDER), read(mail("", "v2")), [GEMEENTE])


def test_mail_that_failed_at_our_server_is_possibly_forged_partner_or_not() -> None:
    """The failing result is kept for the core group; such mail waits for acceptance."""
    dmarc = "Authentication-Results: mx.wijk.test; dmarc=fail header.from=gemeente.test"
    spf = "Authentication-Results: mx.wijk.test; spf=fail smtp.mailfrom=elders.test"
    partner = read(mail("p@gemeente.test", "A", dmarc))
    stranger = read(mail("x@elders.test", "B", spf))
    honest = read(mail("x@elders.test", "C"))

    assert partner.auth_failure == "dmarc=fail (gemeente.test)"
    assert stranger.auth_failure == "spf=fail (elders.test)"
    assert honest.auth_failure is None
    for forged in (partner, stranger):
        assert forged.submission.awaiting_acceptance
        assert forged.submission.auth_failure == forged.auth_failure


def test_possibly_forged_mail_never_adds_a_version() -> None:
    """Not even to an unknown sender's item under the same (forged) address."""
    spf = "Authentication-Results: mx.wijk.test; spf=fail smtp.mailfrom=elders.test"
    item = item_of("x@elders.test")
    assert may_add_version(item, read(mail("x@elders.test", "v2", VERIFIED)), [GEMEENTE, WONEN])
    assert not may_add_version(item, read(mail("x@elders.test", "v2", spf)), [GEMEENTE, WONEN])
