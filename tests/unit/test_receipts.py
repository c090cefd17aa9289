"""Receipts: RFC 3834 rules, threading headers, and what the sender is told (Dutch first)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from daemon.filing.submission import DateHint, Filed
from daemon.model import (
    Document,
    DocumentHash,
    Item,
    ItemId,
    ItemStatus,
    Kind,
    Meeting,
    MeetingId,
    MeetingStatus,
    SeriesId,
)
from daemon.ports.mail import MailLimits, RejectedAttachment, RejectReason
from daemon.ports.outbox import message_id_for
from daemon.publish import receipts
from daemon.publish.receipts import (
    MAX_LISTED,
    MAX_TEXT_CHARS,
    NoReceipt,
    ReceiptTo,
    filed_receipt,
    is_own_address,
    receipt_blocker,
    receipt_key,
    unreadable_receipt,
    version_receipt,
)
from daemon.rules import defaults
from daemon.rules.assignment import assign

TZ = ZoneInfo("Europe/Amsterdam")
RULES = defaults.WIJKALLIANTIE
OURS = "wijkalliantie@wijk.test"
SERIES = SeriesId("wijkalliantie")


def meeting(day: str) -> Meeting:
    start = datetime.fromisoformat(f"{day}T19:30").replace(tzinfo=TZ)
    return Meeting(MeetingId(f"wijkalliantie-{day}"), SERIES, "Wijkalliantie", start, start, "")


APRIL, MAY = meeting("2027-04-06"), meeting("2027-05-18")


def filed(kind: Kind, received: str, status: ItemStatus | None = None) -> Filed:
    at = datetime.fromisoformat(received).replace(tzinfo=TZ)
    assignment = assign(kind, at, [APRIL, MAY], RULES, TZ)
    item = Item(
        id=ItemId(42),
        kind=kind,
        title="Jaarverslag “Groen” 2026",
        submitter="p@gemeente.test",
        received_at=at,
        meeting=assignment.meeting.id if assignment.meeting else None,
        late=assignment.late,
        decision_ready=assignment.decision_ready,
        status=status or assignment.status,
        source="mail",
    )
    return Filed(item, assignment, assignment.moved_from or assignment.meeting)


def to(key: str = receipt_key(7, 3)) -> ReceiptTo:
    return ReceiptTo(key, "p@gemeente.test", "<orig@gemeente.test>", ("<root@x>",), "wijk.test", TZ)


def dutch_and_english(text: str) -> tuple[str, str]:
    dutch, rule, english = text.partition("\n\n— English —\n")
    assert rule, "a receipt has a Dutch and an English part"
    return dutch, english


# --- may we answer at all (RFC 3834) ---------------------------------------------


def blocker(address: str = "p@gemeente.test", sent: int = 0, **flags: bool) -> NoReceipt | None:
    return receipt_blocker(
        address,
        is_auto=flags.get("auto", False),
        is_bounce=flags.get("bounce", False),
        is_bulk_or_list=flags.get("bulk", False),
        our_address=OURS,
        sent_this_hour=sent,
        per_hour=5,
        auth_failed=flags.get("forged", False),
    )


@pytest.mark.parametrize(
    ("address", "sent", "flags", "expected"),
    [
        ("p@gemeente.test", 0, {}, None),
        ("p@gemeente.test", 4, {}, None),
        ("p@gemeente.test", 5, {}, NoReceipt.RATE_LIMITED),
        ("p@gemeente.test", 0, {"auto": True}, NoReceipt.AUTO_SUBMITTED),
        ("mailer-daemon@x.test", 0, {"bounce": True}, NoReceipt.BOUNCE),
        ("p@gemeente.test", 0, {"bulk": True}, NoReceipt.LIST_OR_BULK),
        ("", 0, {}, NoReceipt.NO_SENDER),
        (OURS, 0, {}, NoReceipt.OURSELVES),
        ("Wijkalliantie+stuk@Wijk.test", 0, {}, NoReceipt.OURSELVES),
        # RFC 3834 §2: failed SPF/DKIM/DMARC at our server, likely forged: no backscatter.
        ("p@gemeente.test", 0, {"forged": True}, NoReceipt.FORGED),
    ],
)
def test_receipt_blocker_follows_rfc_3834_and_the_hourly_limit(
    address: str, sent: int, flags: dict[str, bool], expected: NoReceipt | None
) -> None:
    assert blocker(address, sent, **flags) == expected


def overall(*, partner: bool, outside: int, limit: int, sent: int = 0) -> NoReceipt | None:
    return receipt_blocker(
        "iemand@elders.test",
        is_auto=False,
        is_bounce=False,
        is_bulk_or_list=False,
        our_address=OURS,
        sent_this_hour=sent,
        per_hour=5,
        partner=partner,
        sent_outside_partners=outside,
        outside_partners_per_hour=limit,
    )


@pytest.mark.parametrize(
    ("partner", "outside", "limit", "expected"),
    [
        (False, 0, 3, None),
        (False, 2, 3, None),
        (False, 3, 3, NoReceipt.OUTSIDE_PARTNERS_LIMITED),  # the fourth stranger this hour
        (False, 500, 3, NoReceipt.OUTSIDE_PARTNERS_LIMITED),
        (True, 500, 3, None),  # a partner's receipt never waits on the others
        (False, 10_000, 0, None),  # 0: no overall limit
    ],
)
def test_receipts_outside_the_partners_are_limited_all_together(
    partner: bool, outside: int, limit: int, expected: NoReceipt | None
) -> None:
    # Security finding 1: many forged From addresses must not each get a receipt.
    assert overall(partner=partner, outside=outside, limit=limit) == expected


def test_the_per_sender_limit_still_holds_for_a_partner_and_comes_first() -> None:
    assert overall(partner=True, outside=0, limit=3, sent=5) is NoReceipt.RATE_LIMITED
    assert overall(partner=False, outside=3, limit=3, sent=5) is NoReceipt.RATE_LIMITED


def test_own_address_includes_plus_variants_but_not_lookalikes() -> None:
    assert is_own_address("wijkalliantie+tk@wijk.test", OURS)
    assert not is_own_address("wijkalliantiex@wijk.test", OURS)
    assert not is_own_address("wijkalliantie@wijk.test.evil", OURS)


# --- headers ---------------------------------------------------------------------


def test_receipt_is_threaded_auto_replied_and_has_a_stable_message_id() -> None:
    mail = filed_receipt(to(), filed(Kind.STUK, "2027-03-01T10:00"), RULES)
    assert mail.to == ("p@gemeente.test",)
    assert mail.subject == "Ontvangen / Received: Jaarverslag “Groen” 2026 [WB-42]"
    assert mail.in_reply_to == "<orig@gemeente.test>"
    assert mail.references == ("<root@x>", "<orig@gemeente.test>")
    assert mail.auto_submitted == "auto-replied"
    assert mail.message_id == message_id_for("receipt/mail/7/3", "wijk.test")


def test_receipt_to_a_mail_without_message_id_has_no_in_reply_to() -> None:
    bare = ReceiptTo(receipt_key(7, 4), "p@gemeente.test", None, (), "wijk.test", TZ)
    mail = filed_receipt(bare, filed(Kind.STUK, "2027-03-01T10:00"), RULES)
    assert (mail.in_reply_to, mail.references) == (None, ())


# --- what the sender is told -------------------------------------------------------


def test_on_time_stuk_names_item_kind_meeting_and_when_the_stukken_go_out() -> None:
    dutch, english = dutch_and_english(
        filed_receipt(to(), filed(Kind.STUK, "2027-03-01T10:00"), RULES).text
    )
    assert dutch.splitlines()[:5] == [
        "Dank voor uw mail. We hebben die geregistreerd onder nummer WB-42:"
        " “Jaarverslag “Groen” 2026”.",
        "Soort: stuk.",
        "Vergadering: Wijkalliantie, dinsdag 6 april 2027, 19:30.",
        "Op tijd.",
        "De stukken voor deze vergadering gaan op dinsdag 23 maart 2027, 19:30 naar de partners.",
    ]
    assert "Meeting: Wijkalliantie, Tuesday 6 April 2027, 19:30." in english
    assert "go out to the partners on Tuesday 23 March 2027, 19:30." in english


def test_late_stuk_says_which_deadline_it_missed_and_where_it_went() -> None:
    dutch, english = dutch_and_english(
        filed_receipt(to(), filed(Kind.STUK, "2027-03-23T19:31"), RULES).text
    )
    assert "Vergadering: Wijkalliantie, dinsdag 18 mei 2027, 19:30." in dutch
    assert (
        "Uw stuk kwam binnen na de termijn van dinsdag 23 maart 2027, 19:30"
        " voor de vergadering van dinsdag 6 april 2027, 19:30." in dutch
    )
    assert "Het gaat daarom naar de volgende vergadering, op dinsdag 18 mei 2027, 19:30." in dutch
    assert "niet besluitrijp (tweewekenregel)" in dutch
    assert "It therefore moves to the next meeting, on Tuesday 18 May 2027, 19:30." in english


def test_stuk_exactly_at_the_deadline_is_on_time() -> None:
    dutch, _ = dutch_and_english(
        filed_receipt(to(), filed(Kind.STUK, "2027-03-23T19:30"), RULES).text
    )
    assert "Vergadering: Wijkalliantie, dinsdag 6 april 2027, 19:30." in dutch
    assert "Op tijd." in dutch.splitlines()


def test_unknown_sender_is_told_the_submission_awaits_acceptance() -> None:
    waiting = filed(Kind.AGENDAPUNT, "2027-03-01T10:00", ItemStatus.AWAITING_ACCEPTANCE)
    dutch, english = dutch_and_english(filed_receipt(to(), waiting, RULES).text)
    assert "Uw adres staat niet op de lijst van partners" in dutch
    assert "Your address is not on the list of partners" in english


def test_unplanned_item_says_not_planned_yet() -> None:
    dutch, english = dutch_and_english(
        filed_receipt(to(), filed(Kind.STUK, "2027-06-01T10:00"), RULES).text
    )
    assert "Vergadering: nog niet gepland." in dutch
    assert "Meeting: not planned yet." in english
    assert "De stukken voor deze vergadering" not in dutch


def test_files_not_stored_are_named_with_the_reason_and_the_limit() -> None:
    rejected = [
        RejectedAttachment("groot.pdf", RejectReason.TOO_LARGE, 30_000_000),
        RejectedAttachment("winmail.dat", RejectReason.TNEF_UNREADABLE, 900),
    ]
    receipt = filed_receipt(
        to(),
        filed(Kind.STUK, "2027-03-01T10:00"),
        RULES,
        stored=["notitie.pdf"],
        rejected=rejected,
        limits=MailLimits(max_attachment_bytes=20 * 1024 * 1024),
    )
    dutch, english = dutch_and_english(receipt.text)
    assert "Opgeslagen stukken: “notitie.pdf”." in dutch
    assert "Niet opgeslagen: “groot.pdf”: groter dan de grens van 20 MB per bestand." in dutch
    assert "Niet opgeslagen: “winmail.dat”: een winmail.dat van Outlook" in dutch
    assert "Not stored: “groot.pdf”: larger than the limit of 20 MB per file." in english


def test_sender_text_cannot_break_the_subject_line() -> None:
    evil = filed(Kind.STUK, "2027-03-01T10:00")
    item = replace(evil.item, title="a\r\nBcc: x@y")
    mail = filed_receipt(to(), Filed(item, evil.assignment, evil.intended), RULES)
    assert "\n" not in mail.subject
    assert "\r" not in mail.subject


def test_version_receipt_names_the_version() -> None:
    item = filed(Kind.STUK, "2027-03-01T10:00").item
    document = Document(DocumentHash("a" * 64), "notitie-v2.pdf", "application/pdf", 10)
    receipt = version_receipt(
        to(), item, 2, APRIL, RULES, received_at=item.received_at, stored=[document.filename]
    )
    dutch, english = dutch_and_english(receipt.text)
    assert "als versie 2 toegevoegd aan inzending WB-42" in dutch
    assert "to item WB-42 (“Jaarverslag “Groen” 2026”) as version 2." in english
    assert receipt.subject == "Ontvangen / Received: Jaarverslag “Groen” 2026 [WB-42]"


def test_unreadable_receipt_promises_a_person_will_look() -> None:
    receipt = unreadable_receipt(to(), "Kapotte mail")
    dutch, english = dutch_and_english(receipt.text)
    assert receipt.subject == "Ontvangen, niet gelezen / Received, not read: Kapotte mail"
    assert "Wijkbode kon die niet lezen. Een vrijwilliger kijkt ernaar" in dutch
    assert "A volunteer will look at it" in english
    assert receipt.auto_submitted == "auto-replied"


# --- bounded: a hostile mail never makes a huge receipt ------------------------------


def test_a_mail_with_ten_thousand_tiny_parts_gets_a_bounded_receipt() -> None:
    """Every list shows MAX_LISTED entries and counts the rest; the footer stays."""
    stored = [f"stuk-{n}.pdf" for n in range(990)]
    rejected = [
        RejectedAttachment(f"deel-{n}.txt", RejectReason.TOO_MANY, 3) for n in range(10_000)
    ]
    stranger = filed(Kind.STUK, "2027-03-01T10:00", ItemStatus.AWAITING_ACCEPTANCE)

    mail = filed_receipt(to(), stranger, RULES, stored=stored, rejected=rejected)

    dutch, english = dutch_and_english(mail.text)
    for text in (dutch, english):
        assert len(text) <= MAX_TEXT_CHARS
        assert text.count("deel-") == MAX_LISTED
        assert text.count("stuk-") == MAX_LISTED
    assert "“stuk-19.pdf” en nog 970." in dutch
    assert "“stuk-19.pdf” and 970 more." in english
    assert "En nog 9980 bestanden niet opgeslagen." in dutch
    assert "And 9980 more files not stored." in english
    assert "[WB-42]" in dutch.splitlines()[-2]
    assert len(mail.text.encode()) < 2 * MAX_TEXT_CHARS + 200


def test_a_receipt_longer_than_the_bound_is_cut_between_lines_and_keeps_its_footer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The capped lists keep a receipt under the bound; the bound itself is the last guard."""
    monkeypatch.setattr(receipts, "MAX_TEXT_CHARS", 2_000)
    names = ["n" * 120 + f"-{n}.pdf" for n in range(MAX_LISTED)]
    rejected = [RejectedAttachment("r" * 300 + f"-{n}", RejectReason.EMPTY, 0) for n in range(30)]

    mail = version_receipt(
        to(),
        filed(Kind.STUK, "2027-03-01T10:00").item,
        2,
        APRIL,
        RULES,
        received_at=datetime(2027, 3, 1, 10, tzinfo=TZ),
        stored=names,
        rejected=rejected,
    )

    dutch, english = dutch_and_english(mail.text)
    assert len(dutch) <= 2_000
    assert "(Dit bericht is ingekort.)" in dutch
    assert "(This message was shortened.)" in english
    assert english.splitlines()[-1] == "This is an automatic message from Wijkbode."


# --- a date hint that names no meeting, or a cancelled one ---------------------------


def test_a_date_naming_no_meeting_is_told_plainly() -> None:
    plain = filed(Kind.STUK, "2027-03-01T10:00")
    hinted = replace(plain, hint=DateHint(datetime(2027, 4, 13).date(), None))

    dutch, english = dutch_and_english(filed_receipt(to(), hinted, RULES).text)

    assert (
        "Op dinsdag 13 april 2027, de datum die u gaf, is geen vergadering gepland; daarom is"
        " het naar de eerste vergadering gegaan die het kan opnemen."
    ) in dutch
    assert "No meeting is planned on Tuesday 13 April 2027, the date you gave" in english
    assert "Vergadering: Wijkalliantie, dinsdag 6 april 2027, 19:30." in dutch


def test_a_cancelled_meeting_asked_for_is_told_plainly() -> None:
    cancelled = replace(APRIL, status=MeetingStatus.CANCELLED)
    at = datetime(2027, 3, 1, 10, tzinfo=TZ)
    assignment = assign(Kind.STUK, at, [cancelled, MAY], RULES, TZ, target=APRIL.id)
    item = replace(filed(Kind.STUK, "2027-03-01T10:00").item, meeting=MAY.id)
    moved = Filed(item, assignment, cancelled, DateHint(APRIL.start.date(), cancelled))

    dutch, english = dutch_and_english(filed_receipt(to(), moved, RULES).text)

    assert (
        "De vergadering van dinsdag 6 april 2027, 19:30 is afgelast; daarom is het naar de"
        " volgende vergadering gegaan."
    ) in dutch
    assert "The meeting of Tuesday 6 April 2027, 19:30 is cancelled" in english
    assert "Vergadering: Wijkalliantie, dinsdag 18 mei 2027, 19:30." in dutch
