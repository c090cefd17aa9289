"""The core room's post for a new item: what it says, and that sender text stays inert."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from daemon.filing.submission import Filed, FilingRules
from daemon.model import (
    Document,
    DocumentHash,
    Item,
    ItemId,
    ItemStatus,
    Kind,
    Meeting,
    MeetingId,
    SeriesId,
)
from daemon.ports.outbox import DocumentRef
from daemon.publish.item_posts import Sender, item_post_key, new_item_post, new_version_post
from daemon.rules import defaults
from daemon.rules.assignment import assign
from daemon.safe_text import WORD_JOINER

TZ = ZoneInfo("Europe/Amsterdam")
SERIES = SeriesId("wijkalliantie")
RULES = FilingRules(TZ, SERIES, {SERIES: defaults.WIJKALLIANTIE})
PDF = Document(DocumentHash("b" * 64), "../../etc/<b>notitie</b>.pdf", "application/pdf", 1234)


def meeting(day: str) -> Meeting:
    start = datetime.fromisoformat(f"{day}T19:30").replace(tzinfo=TZ)
    return Meeting(MeetingId(f"wijkalliantie-{day}"), SERIES, "Wijkalliantie", start, start, "")


APRIL, MAY = meeting("2027-04-06"), meeting("2027-05-18")


def filed(received: str, *, title: str = "Jaarverslag", status: ItemStatus | None = None) -> Filed:
    at = datetime.fromisoformat(received).replace(tzinfo=TZ)
    assignment = assign(Kind.STUK, at, [APRIL, MAY], defaults.WIJKALLIANTIE, TZ)
    item = Item(
        id=ItemId(7),
        kind=Kind.STUK,
        title=title,
        submitter="p@gemeente.test",
        received_at=at,
        meeting=assignment.meeting.id if assignment.meeting else None,
        late=assignment.late,
        decision_ready=assignment.decision_ready,
        status=status or assignment.status,
        source="mail",
        documents=(PDF,),
    )
    return Filed(item, assignment, assignment.moved_from or assignment.meeting)


WJ = WORD_JOINER  # safe_text defuses every "@" that could start a mention

PARTNER = Sender("Piet", "p@gemeente.test", "Gemeente")


def test_post_for_an_on_time_stuk_says_kind_sender_meeting_and_status() -> None:
    post = new_item_post(filed("2027-03-01T10:00"), PARTNER, RULES)
    dutch, _, english = post.body.partition("\n\n— English —\n")
    assert dutch.splitlines() == [
        "Nieuwe inzending WB-7 (stuk): Jaarverslag",
        f"Van: Piet <p@{WJ}gemeente.test> (Gemeente)",
        "Vergadering: Wijkalliantie, dinsdag 6 april 2027, 19:30",
        "Op tijd.",
        "Besluitrijp.",
        "Stukken: ../../etc/<b>notitie</b>.pdf",
    ]
    assert english.splitlines()[0] == "New submission WB-7 (document): Jaarverslag"


def test_late_stuk_post_names_the_missed_deadline_and_not_ready_for_decision() -> None:
    post = new_item_post(filed("2027-03-23T19:31"), PARTNER, RULES)
    assert (
        "Te laat: de termijn van dinsdag 23 maart 2027, 19:30 voor de vergadering van"
        " dinsdag 6 april 2027, 19:30 is gemist." in post.body
    )
    assert "Vergadering: Wijkalliantie, dinsdag 18 mei 2027, 19:30" in post.body
    assert "Niet besluitrijp." in post.body


def test_awaiting_acceptance_is_shown() -> None:
    waiting = filed("2027-03-01T10:00", status=ItemStatus.AWAITING_ACCEPTANCE)
    post = new_item_post(waiting, Sender("", "iemand@elders.test"), RULES)
    expected = f"Van: iemand@{WJ}elders.test, geen bekende partner: wacht op acceptatie"
    assert expected in post.body


def test_a_version_from_an_unverified_sender_filed_as_new_names_the_item_it_resembles() -> None:
    """Its ``[WB-4]`` is cut from the title; the post says what it looks like (finding 3)."""
    waiting = filed("2027-03-01T10:00", status=ItemStatus.AWAITING_ACCEPTANCE)
    post = new_item_post(
        waiting, Sender("", "iemand@elders.test"), RULES, unverified_version_of=ItemId(4)
    )
    dutch, _, english = post.body.partition("\n\n— English —\n")
    assert dutch.splitlines()[2] == (
        "Lijkt een nieuwe versie van WB-4, maar onze mailserver heeft het adres van de"
        " afzender niet geverifieerd: daarom als nieuwe inzending ingediend."
    )
    assert english.splitlines()[2].startswith("Looks like a new version of WB-4, but our mail")
    assert "WB-4" not in new_item_post(waiting, Sender("", "iemand@elders.test"), RULES).body


def test_possibly_forged_is_shown_with_our_servers_failing_result() -> None:
    plain = filed("2027-03-01T10:00", status=ItemStatus.AWAITING_ACCEPTANCE)
    forged = replace(plain, item=replace(plain.item, auth_failure="dmarc=fail (gemeente.test)"))
    post = new_item_post(forged, Sender("Piet", "p@gemeente.test"), RULES)
    dutch, _, english = post.body.partition("\n\n— English —\n")
    assert dutch.splitlines()[1] == (
        f"Van: Piet <p@{WJ}gemeente.test>, MOGELIJK VERVALST (onze mailserver:"
        " dmarc=fail (gemeente.test)): wacht op acceptatie, geen ontvangstbevestiging gestuurd"
    )
    assert "POSSIBLY FORGED (our mail server: dmarc=fail (gemeente.test))" in english
    assert "MOGELIJK VERVALST" in post.html


def test_sender_text_is_escaped_in_html_and_cannot_ping_the_room() -> None:
    evil = filed("2027-03-01T10:00", title="<a href='x'>klik</a> @room \u202egnp.exe")
    post = new_item_post(evil, Sender("<script>", "x@y.test"), RULES)
    assert "<a href" not in post.html
    assert "&lt;a href=&#x27;x&#x27;&gt;klik&lt;/a&gt;" in post.html
    assert "&lt;script&gt;" in post.html
    assert "@room" not in post.body
    assert f"@{WORD_JOINER}room" in post.body
    assert "\u202e" not in post.body + post.html
    assert "&lt;b&gt;notitie&lt;/b&gt;.pdf" in post.html


def test_documents_are_attached_by_hash() -> None:
    post = new_item_post(filed("2027-03-01T10:00"), PARTNER, RULES)
    assert post.documents == (
        DocumentRef("b" * 64, "../../etc/<b>notitie</b>.pdf", "application/pdf"),
    )


def test_version_post_names_the_version_and_its_documents() -> None:
    item = filed("2027-03-01T10:00").item
    post = new_version_post(item, 2, [PDF], PARTNER, APRIL, RULES)
    assert post.body.splitlines()[0] == "Nieuwe versie 2 van inzending WB-7: Jaarverslag"
    assert [d.sha256 for d in post.documents] == ["b" * 64]


def test_post_keys_differ_per_version() -> None:
    keys = {item_post_key(ItemId(7)), item_post_key(ItemId(7), 2), item_post_key(ItemId(8))}
    assert keys == {"item/7/post", "item/7/v2/post", "item/8/post"}
