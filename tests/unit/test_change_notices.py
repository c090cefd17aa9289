"""Change notices: wording (Dutch first, then English), subject, key and threading."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from daemon.model import Item, ItemId, ItemStatus, Kind, Meeting, MeetingId, SeriesId
from daemon.ports.outbox import message_id_for
from daemon.publish.change_notices import (
    Change,
    ItemChange,
    change_notice,
    notice_key,
    notice_prefix,
)
from daemon.publish.receipts import AUTO_REPLIED, ReceiptTo

AMS = ZoneInfo("Europe/Amsterdam")
MEETING = Meeting(
    MeetingId("wijkalliantie-2027-05-18"),
    SeriesId("wijkalliantie"),
    "Wijkalliantie",
    datetime(2027, 5, 18, 17, 30, tzinfo=UTC),
    datetime(2027, 5, 18, 19, 30, tzinfo=UTC),
    "",
)
KEY = "notice/item/7/moved/1"


def _item(*, decision_ready: bool = True, title: str = "Speeltuin Meeuwenlaan") -> Item:
    return Item(
        id=ItemId(7),
        kind=Kind.STUK,
        title=title,
        submitter="ambtenaar@gemeente.test",
        received_at=datetime(2027, 4, 1, 9, 0, tzinfo=UTC),
        meeting=MEETING.id,
        late=not decision_ready,
        decision_ready=decision_ready,
        status=ItemStatus.FILED,
        source="mail",
    )


def _to(key: str = KEY) -> ReceiptTo:
    return ReceiptTo(
        key,
        "ambtenaar@gemeente.test",
        "<stuk-1@gemeente.test>",
        ("<eerder@gemeente.test>",),
        "wijk.test",
        AMS,
    )


def test_keys_are_per_item_change_and_count() -> None:
    assert notice_prefix(7, Change.KEPT_FOR_DISCUSSION) == "notice/item/7/ter_bespreking/"
    assert notice_key(7, Change.MOVED, 2) == "notice/item/7/moved/2"


def test_moved_notice_names_the_new_meeting_in_both_languages_and_is_threaded() -> None:
    mail = change_notice(_to(), ItemChange(Change.MOVED, _item(), MEETING))

    assert mail.subject == "Gewijzigd / Changed: Speeltuin Meeuwenlaan [WB-7]"
    assert mail.to == ("ambtenaar@gemeente.test",)
    assert mail.message_id == message_id_for(KEY, "wijk.test")
    assert mail.in_reply_to == "<stuk-1@gemeente.test>"
    assert mail.references == ("<eerder@gemeente.test>", "<stuk-1@gemeente.test>")
    assert mail.auto_submitted == AUTO_REPLIED
    dutch, english = mail.text.split("\n\n— English —\n")
    assert dutch.splitlines()[:2] == [
        "Uw inzending WB-7 (“Speeltuin Meeuwenlaan”) is verplaatst naar een andere vergadering.",
        "Nieuwe vergadering: Wijkalliantie, dinsdag 18 mei 2027, 19:30.",
    ]
    assert english.splitlines()[:2] == [
        "Your submission WB-7 (“Speeltuin Meeuwenlaan”) has been moved to another meeting.",
        "New meeting: Wijkalliantie, Tuesday 18 May 2027, 19:30.",
    ]


def test_moved_late_says_no_decision_there() -> None:
    mail = change_notice(_to(), ItemChange(Change.MOVED, _item(decision_ready=False), MEETING))

    english = mail.text.split("— English —\n")[1]
    assert english.splitlines()[2] == (
        "No decision can be taken on it at that meeting (it came in too late for it)."
    )


def test_accepted_notice_names_the_meeting() -> None:
    mail = change_notice(_to(), ItemChange(Change.ACCEPTED, _item(), MEETING))

    english = mail.text.split("— English —\n")[1]
    assert english.splitlines()[:2] == [
        "Your submission WB-7 (“Speeltuin Meeuwenlaan”) has been accepted.",
        "Meeting: Wijkalliantie, Tuesday 18 May 2027, 19:30.",
    ]


def test_accepted_without_a_meeting_says_it_is_not_planned_yet() -> None:
    mail = change_notice(_to(), ItemChange(Change.ACCEPTED, _item(), None))

    dutch = mail.text.split("\n\n— English —\n")[0]
    assert dutch.splitlines()[1] == (
        "Vergadering: nog niet gepland. We laten het u weten zodra er een is."
    )


def test_rejected_notice_gives_the_reason_and_no_meeting() -> None:
    mail = change_notice(_to(), ItemChange(Change.REJECTED, _item(), MEETING, "geen wijkzaak"))

    dutch, english = mail.text.split("\n\n— English —\n")
    assert dutch.splitlines()[:2] == [
        "Uw inzending WB-7 (“Speeltuin Meeuwenlaan”) is geweigerd.",
        "Reden: geen wijkzaak",
    ]
    assert "Wijkalliantie" not in english


def test_withdrawn_and_kept_notices() -> None:
    withdrawn = change_notice(_to(), ItemChange(Change.WITHDRAWN, _item(), MEETING))
    kept = change_notice(
        _to(), ItemChange(Change.KEPT_FOR_DISCUSSION, _item(decision_ready=False), MEETING)
    )

    assert withdrawn.text.splitlines()[0] == (
        "Uw inzending WB-7 (“Speeltuin Meeuwenlaan”) is ingetrokken; die wordt niet besproken."
    )
    kept_english = kept.text.split("— English —\n")[1].splitlines()
    assert kept_english[1:3] == [
        "Meeting: Wijkalliantie, Tuesday 18 May 2027, 19:30.",
        "",
    ]  # no "no decision possible" line: the first line already says so


def test_footer_and_untrusted_title_in_subject() -> None:
    mail = change_notice(
        _to(), ItemChange(Change.ACCEPTED, _item(title="Let op\r\nBcc: x@y.test"), MEETING)
    )

    assert "\n" not in mail.subject
    assert "\r" not in mail.subject
    assert mail.subject.endswith("[WB-7]")
    assert mail.text.split("\n\n— English —\n")[1].splitlines()[-2:] == [
        "Questions? Reply to this mail and keep [WB-7] in the subject.",
        "This is an automatic message from Wijkbode.",
    ]
