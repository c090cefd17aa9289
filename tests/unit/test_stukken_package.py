"""The stukken package's pure choices (daemon/publish/package.py) and the link expiry
(daemon/store/downloads.py): attach or link by the total size, which documents may
ever be linked, niet besluitrijp with its reason, until when a link works.

Against the real SMTP relay, Synapse and the HTTP service:
tests/integration/test_publication_package.py.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from daemon.model import (
    Document,
    DocumentHash,
    Item,
    ItemId,
    ItemStatus,
    Kind,
    Meeting,
    MeetingId,
    Offset,
    Series,
    SeriesId,
    SeriesRules,
)
from daemon.ports.outbox import ChannelName, ChatPost, MailOut, NewEffect
from daemon.publish.package import (
    Package,
    PackageSettings,
    attach_all,
    stukken_package,
    with_package,
)
from daemon.store.downloads import link_works

AMS = ZoneInfo("Europe/Amsterdam")
MB = 1024 * 1024
MEETING = Meeting(
    MeetingId("wijkalliantie-2027-04-06"),
    SeriesId("wijkalliantie"),
    "Wijkalliantie",
    datetime(2027, 4, 6, 17, 30, tzinfo=UTC),
    datetime(2027, 4, 6, 19, 30, tzinfo=UTC),
    "Buurthuis De Linde",
)
RULES = SeriesRules(
    concept_agenda=Offset.parse("21d"),
    deadlines={Kind.AGENDAPUNT: Offset.parse("15d"), Kind.STUK: Offset.parse("14d")},
    deadline_reminders=(Offset.parse("7d"),),
    announce=None,
    folder=None,
    meeting_reminder=None,
    decision_offset=Offset.parse("14d"),
)
PUBLIC = Series(SeriesId("wijkalliantie"), "Wijkalliantie", True, RULES, timedelta(hours=2), "")
PRIVATE = Series(SeriesId("kerngroep"), "Kerngroep", False, RULES, timedelta(hours=2), "")
LINKS = PackageSettings(attach_max_bytes=10 * MB, base_url="https://wijkbode.example.org")


def doc(name: str, size: int) -> Document:
    digest = DocumentHash((name.encode().hex() * 64)[:64])
    return Document(digest, name, "application/pdf", size)


def item(number: int, size: int = 1000, **changes: object) -> Item:
    values: dict[str, object] = {
        "id": ItemId(number),
        "kind": Kind.STUK,
        "title": f"Stuk {number}",
        "submitter": "partner@example.org",
        "received_at": datetime(2027, 3, 1, tzinfo=UTC),
        "meeting": MEETING.id,
        "late": False,
        "decision_ready": True,
        "status": ItemStatus.FILED,
        "source": "mail",
        "documents": (doc(f"stuk-{number}.pdf", size),),
    }
    values.update(changes)
    return Item(**values)  # type: ignore[arg-type]


def effects() -> list[NewEffect]:
    room = ChatPost(body="Definitieve agenda", html="<p>Definitieve agenda</p>")
    return [NewEffect(ChannelName.MATRIX, "!core:example.org", "job/x/!core:example.org", room)] + [
        NewEffect(
            ChannelName.MAIL,
            address,
            f"job/x/{address}",
            MailOut(to=(address,), subject="Definitieve agenda", text="Agenda", message_id="<m>"),
        )
        for address in ("a@partner.example", "b@partner.example")
    ]


def tokens() -> itertools.count[int]:
    return itertools.count(1)


def fire(
    package: Package, settings: PackageSettings = LINKS
) -> tuple[ChatPost, list[MailOut], list[str]]:
    counter = tokens()
    rows, minted = with_package(
        effects(), package, settings, AMS, lambda: f"token{next(counter):040d}"
    )
    room = rows[0].payload
    mails = [r.payload for r in rows[1:] if isinstance(r.payload, MailOut)]
    assert isinstance(room, ChatPost)
    assert len(mails) == len(rows) - 1
    return room, mails, [t.token for t in minted]


def test_a_package_within_the_limit_is_attached_to_every_partners_mail() -> None:
    package = stukken_package(MEETING, PUBLIC, [item(1, 4 * MB), item(2, 6 * MB)])
    assert package.total_bytes == 10 * MB
    assert attach_all(package, LINKS)
    room, mails, minted = fire(package)
    for mail in mails:
        assert [a.filename for a in mail.attachments] == ["stuk-1.pdf", "stuk-2.pdf"]
        assert "/stukken/" not in mail.text
        assert "als bijlage bij deze mail" in mail.text
        assert "attached to this mail" in mail.text
    assert minted == []
    assert [d.filename for d in room.documents] == ["stuk-1.pdf", "stuk-2.pdf"]


def test_a_package_over_the_limit_gets_one_link_per_document_per_mail() -> None:
    package = stukken_package(MEETING, PUBLIC, [item(1, 4 * MB), item(2, 6 * MB + 1)])
    assert not attach_all(package, LINKS)
    room, mails, minted = fire(package)
    assert len(minted) == 4
    assert len(set(minted)) == 4
    for mail, own in zip(mails, (minted[:2], minted[2:]), strict=True):
        assert mail.attachments == ()
        # Each partner's mail carries its own two links, and no other mail's.
        linked = [t for t in minted if f"https://wijkbode.example.org/stukken/{t}" in mail.text]
        assert linked == own
        assert "eigen downloadlink" in mail.text
        assert "own download link" in mail.text
    # The room always gets the files themselves.
    assert len(room.documents) == 2


def test_the_limit_is_configurable() -> None:
    package = stukken_package(MEETING, PUBLIC, [item(1, 2 * MB)])
    assert attach_all(package, LINKS)
    assert not attach_all(package, PackageSettings(attach_max_bytes=MB, base_url="https://x"))


def test_without_the_http_service_everything_is_attached() -> None:
    package = stukken_package(MEETING, PUBLIC, [item(1, 40 * MB)])
    _, mails, minted = fire(package, PackageSettings(attach_max_bytes=MB, base_url=None))
    assert minted == []
    assert all(len(m.attachments) == 1 for m in mails)


def test_a_confidential_items_document_is_never_linked() -> None:
    agenda = [item(1, 20 * MB), item(2, 1000, confidential=True)]
    package = stukken_package(MEETING, PUBLIC, agenda)
    _, mails, minted = fire(package)
    assert len(minted) == 2  # only item 1's document, once per partner
    for mail in mails:
        assert [a.filename for a in mail.attachments] == ["stuk-2.pdf"]
        assert "niet via een link gedeeld" in mail.text


def test_nothing_of_a_private_series_is_ever_linked() -> None:
    package = stukken_package(MEETING, PRIVATE, [item(1, 20 * MB)])
    assert attach_all(package, LINKS)
    _, mails, minted = fire(package)
    assert minted == []
    assert all(len(m.attachments) == 1 for m in mails)


def test_late_stukken_are_niet_besluitrijp_with_their_reason_and_not_in_the_package() -> None:
    agenda = [
        item(1),
        item(2, late=True, decision_ready=False, status=ItemStatus.TER_BESPREKING),
        item(3, late=True, decision_ready=False, moved_from=MeetingId("wijkalliantie-2027-02-02")),
        item(4, decision_ready=False),
        item(5, status=ItemStatus.WITHDRAWN),
        item(6, kind=Kind.TER_KENNISGEVING),  # the T-7d addendum's, not this package's
    ]
    package = stukken_package(MEETING, PUBLIC, agenda)
    assert [d.item.id for d in package.documents] == [1]
    assert [i.id for i in package.not_ready] == [2, 3, 4]
    room, mails, _ = fire(package)
    for text in [room.body, *(m.text for m in mails)]:
        assert "Niet besluitrijp, niet in het pakket:" in text
        assert "WB-2 Stuk 2: na de termijn binnengekomen; alleen ter bespreking" in text
        assert "WB-3 Stuk 3: na de termijn binnengekomen voor de vergadering" in text
        assert "WB-4 Stuk 4: de informatie was er niet 14 dagen voor de vergadering" in text
        assert "WB-4 Stuk 4: its information was not available 14 days before" in text
        assert "WB-5" not in text
        assert "WB-6" not in text
    assert [d.filename for d in room.documents] == ["stuk-1.pdf"]
    assert all([a.filename for a in m.attachments] == ["stuk-1.pdf"] for m in mails)


def test_a_senders_title_and_file_name_are_made_safe() -> None:
    hostile = item(1, title="@room <b>x</b>\u202e", documents=(doc("a\u202e.pdf", 10),))
    room, _, _ = fire(stukken_package(MEETING, PUBLIC, [hostile]))
    assert "\u202e" not in room.body
    assert "<b>" not in room.html


def test_a_link_works_until_the_meeting_is_over() -> None:
    end = MEETING.end
    assert link_works(end, end, end - timedelta(seconds=1))
    assert not link_works(end, end, end)
    assert not link_works(end, end, end + timedelta(days=1))


def test_a_link_follows_the_meeting_when_it_moves() -> None:
    minted_for, moved_to = MEETING.end, MEETING.end + timedelta(days=7)
    assert link_works(minted_for, moved_to, minted_for + timedelta(days=1))
    assert not link_works(
        minted_for, minted_for - timedelta(days=7), minted_for - timedelta(days=1)
    )
    # The meeting no longer stored: the end it had when the link was made.
    assert not link_works(minted_for, None, minted_for)
