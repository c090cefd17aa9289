"""What a room relayed to WhatsApp needs (issue 15): files that name their item, short
confirmations, other bots' messages left alone, a pinned poll read as text."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from connectors.matrix.pinned_poll import poll_as_message
from connectors.matrix.send import file_content
from daemon.chat.actions import pinned_title
from daemon.chat.intake import ChatIntakeSettings, for_other_bots
from daemon.chat.replies import FiledFacts, short_filed_reply
from daemon.config import parse_config
from daemon.filing.submission import Filed, FilingRules
from daemon.model import Document, DocumentHash, Item, ItemId, Kind, Meeting, MeetingId, SeriesId
from daemon.ports.chat import OutgoingChat
from daemon.ports.outbox import ChatPost
from daemon.publish.item_posts import Sender, new_item_post
from daemon.rules import defaults
from daemon.rules.assignment import assign

TZ = ZoneInfo("Europe/Amsterdam")
SERIES = SeriesId("wijkalliantie")
RULES = FilingRules(TZ, SERIES, {SERIES: defaults.WIJKALLIANTIE})
START = datetime(2027, 4, 6, 19, 30, tzinfo=TZ)
APRIL = Meeting(MeetingId("wijkalliantie-2027-04-06"), SERIES, "Wijkalliantie", START, START, "")
PHOTO = Document(DocumentHash("c" * 64), "IMG-2027.jpg", "image/jpeg", 2048)
BOB = "@whatsapp_31612345678:example.org"


def filed_photo() -> Filed:
    at = datetime(2027, 3, 1, 12, 0, tzinfo=TZ)
    assignment = assign(Kind.STUK, at, [APRIL], defaults.WIJKALLIANTIE, TZ)
    item = Item(
        id=ItemId(12),
        kind=Kind.STUK,
        title="Kapotte lantaarnpaal",
        submitter=BOB,
        received_at=at,
        meeting=APRIL.id,
        late=False,
        decision_ready=True,
        status=assignment.status,
        source="chat",
        documents=(PHOTO,),
    )
    return Filed(item, assignment, APRIL)


def test_a_filed_photo_carries_its_item_number_and_title() -> None:
    post = new_item_post(filed_photo(), Sender("", "Bob (WA)"), RULES)
    assert post.file_caption == "WB-12: Kapotte lantaarnpaal"
    assert ChatPost.from_dict(post.to_dict()) == post  # kept in the same outbox row


def test_the_file_event_shows_the_caption_and_keeps_its_filename() -> None:
    caption = OutgoingChat(body="WB-12: Kapotte lantaarnpaal")
    content = file_content("IMG-2027.jpg", "image/jpeg", 2048, "mxc://x/y", None, caption, "k")
    assert (content["msgtype"], content["body"], content["filename"]) == (
        "m.file",
        "WB-12: Kapotte lantaarnpaal",
        "IMG-2027.jpg",
    )


def test_a_post_without_files_has_no_caption() -> None:
    assert ChatPost("x", "x").to_dict().get("file_caption") is None


def test_short_confirmation_reads_after_the_relay_prefix_in_both_languages() -> None:
    facts = FiledFacts(
        item_id=12,
        kind=Kind.AGENDAPUNT,
        title="*Fietsen* <b>",
        meeting_title="Wijkalliantie",
        meeting_start=START,
        late=False,
        decision_ready=True,
        direct=False,
        intended_start=START,
        missed=None,
        documents=(),
        credited=None,
    )
    reply = short_filed_reply(facts, TZ)
    dutch, english = reply.body.split("\n")
    assert dutch.startswith("WB-12 genoteerd als agendapunt:")
    assert english.startswith("Filed WB-12 as agenda point:")
    assert "Wijkalliantie" in dutch
    assert "<b>" not in reply.html


def test_other_bots_commands_and_users_are_ignored() -> None:
    prefixes, users = ("!wa",), ("@whatsappbot:example.org",)
    assert for_other_bots("@jan:example.org", "!wa set-relay", prefixes, users)
    assert for_other_bots("@jan:example.org", "  !WA help", prefixes, users)
    assert for_other_bots("@whatsappbot:example.org", "Agendapunt: x", prefixes, users)
    assert not for_other_bots("@jan:example.org", "!wachten", prefixes, users)
    assert not for_other_bots("@jan:example.org", "!agenda", prefixes, users)


def poll_source(kind: str, content: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": kind,
        "event_id": "$poll",
        "sender": BOB,
        "origin_server_ts": 1_800_000_000_000,
        "content": content,
    }


STABLE = {
    "m.poll": {
        "kind": "m.poll.disclosed",
        "max_selections": 1,
        "question": {"m.text": [{"body": "Welke avond past?"}]},
        "answers": [
            {"m.id": "a1", "m.text": [{"body": "Dinsdag"}]},
            {"m.id": "a2", "m.text": [{"body": "Woensdag"}]},
        ],
    },
    "m.text": [{"body": "Welke avond past?\n1. Dinsdag\n2. Woensdag"}],
}
UNSTABLE = {
    "org.matrix.msc3381.poll.start": {
        "kind": "org.matrix.msc3381.poll.disclosed",
        "max_selections": 1,
        "question": {"org.matrix.msc1767.text": "Welke avond past?"},
        "answers": [
            {"id": "a1", "org.matrix.msc1767.text": "Dinsdag"},
            {"id": "a2", "org.matrix.msc1767.text": "Woensdag"},
        ],
    },
    "org.matrix.msc1767.text": "Welke avond past?\n1. Dinsdag\n2. Woensdag",
}


def test_a_pinned_poll_of_either_form_files_its_question() -> None:
    for kind, content in (("m.poll.start", STABLE), ("org.matrix.msc3381.poll.start", UNSTABLE)):
        message = poll_as_message(poll_source(kind, content), "!room", encrypted=False)
        assert message is not None
        assert pinned_title(message.body, ()) == ("Welke avond past?", "1. Dinsdag\n2. Woensdag")


def test_something_else_is_no_poll() -> None:
    assert poll_as_message(poll_source("m.room.message", {"body": "x"}), "!r", False) is None
    assert poll_as_message(poll_source("m.poll.start", {"m.poll": {}}), "!r", False) is None


MATRIX = """\
[series.wijkalliantie]
[series.wijkalliantie.plan]
dates = [2027-04-06T19:30:00]

[matrix]
homeserver = "https://matrix.example.org"
user_id = "@wijkbode:example.org"
access_token_env = "WB_TOKEN"
core_room = "!portal:example.org"
"""


def _intake(extra: str) -> ChatIntakeSettings:
    config = parse_config(MATRIX + extra, Path("/srv/wijkbode/wijkbode.toml"))
    return ChatIntakeSettings.from_config(config)


def test_the_bridge_settings_reach_the_chat_intake() -> None:
    settings = _intake(
        'bridged_rooms = ["!portal:example.org"]\n'
        'ignore_users = ["@whatsappbot:example.org"]\n'
        'ignore_prefixes = ["!wa", "!other"]\n'
    )
    assert settings.bridged_rooms == ("!portal:example.org",)
    assert settings.ignores("@whatsappbot:example.org", "hallo")
    assert settings.ignores("@jan:example.org", "!other ding")


def test_by_default_only_the_bridges_own_commands_are_passed_over() -> None:
    settings = _intake("")
    assert (settings.bridged_rooms, settings.ignore_prefixes, settings.ignore_users) == (
        (),
        ("!wa",),
        (),
    )
    assert not _intake("ignore_prefixes = []\n").ignores("@jan:example.org", "!wa set-relay")
