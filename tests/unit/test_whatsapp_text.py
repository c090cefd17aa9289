"""Text as mautrix-whatsapp puts it in a Matrix event: WhatsApp's markers stay in
``body``; ``formatted_body`` comes only when the bridge found formatting (issue 15)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from daemon.chat.actions import pinned_title
from daemon.chat.afspraak import pills
from daemon.chat.markup import plain
from daemon.chat.parsing import FileItem, RecordAgreement, ShowAgenda, parse_request
from daemon.model import Kind
from daemon.rules.names import Names

NOW = datetime(2027, 1, 11, 10, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))
BOB = "@whatsapp_31612345678:example.org"
MEMBERS = Names({BOB: "Bob (WA)"})


def bridged(body: str, formatted_body: str | None = None) -> FileItem | RecordAgreement | None:
    request = parse_request(body, received_at=NOW, mentions=pills(formatted_body), members=MEMBERS)
    assert request is None or isinstance(request, FileItem | RecordAgreement)
    return request


TITLE = "Fietsenrekken bij de school"


@pytest.mark.parametrize(
    ("body", "formatted_body"),
    [
        (f"*Agendapunt:* {TITLE}", f"<strong>Agendapunt:</strong> {TITLE}"),
        (f"*Agendapunt: {TITLE}*", f"<strong>Agendapunt: {TITLE}</strong>"),
        (f"_Agendapunt_: {TITLE}", f"<em>Agendapunt</em>: {TITLE}"),
        (f"📌 Agendapunt: {TITLE}", None),
        (f"👍🏽 *Agendapunt:* {TITLE}", f"👍🏽 <strong>Agendapunt:</strong> {TITLE}"),
        (
            "Agendapunt: *Fietsenrekken* bij de _school_",
            "Agendapunt: <strong>Fietsenrekken</strong> bij de <em>school</em>",
        ),
    ],
)
def test_prefix_through_formatting_files_a_plain_title(
    body: str, formatted_body: str | None
) -> None:
    request = bridged(body, formatted_body)
    assert isinstance(request, FileItem)
    assert request.kind is Kind.AGENDAPUNT
    assert request.title == TITLE


def test_strike_inside_a_word_is_no_marker() -> None:
    request = bridged("Agendapunt: ~Fietsen~rekken bij de school")
    assert isinstance(request, FileItem)
    assert request.title == "~Fietsen~rekken bij de school"


def test_text_lines_lose_their_markers_too() -> None:
    request = bridged("*Stuk:* Begroting\n_zie_ de *bijlage*", "<strong>Stuk:</strong> ...")
    assert isinstance(request, FileItem)
    assert (request.kind, request.title, request.text) == (Kind.STUK, "Begroting", "zie de bijlage")


def test_identifiers_with_underscores_and_sums_stay() -> None:
    text = "zie bestand_v2_final.pdf, @whatsapp_31612345678:example.org en 2*3*4"
    assert plain(text) == text


def test_afspraak_in_bold_is_recognised() -> None:
    request = bridged("*Afspraak:* _ladder_ lenen @Bob voor 15 januari 2027")
    assert isinstance(request, RecordAgreement)
    assert (request.what, request.owner) == ("ladder lenen", BOB)


def test_a_mention_picked_on_whatsapp_arrives_as_a_pill() -> None:
    bob = "@whatsapp_31612345678:example.org"
    request = bridged(
        "*Afspraak:* ladder lenen @Bob (WA) voor 15 januari 2027",
        f'<strong>Afspraak:</strong> ladder lenen <a href="https://matrix.to/#/{bob}">'
        "Bob (WA)</a> voor 15 januari 2027",
    )
    assert isinstance(request, RecordAgreement)
    assert (request.what, request.owner) == ("ladder lenen", bob)


def test_command_after_an_emoji_is_still_a_command() -> None:
    assert parse_request("🙂 !agenda", received_at=NOW) == ShowAgenda(None)


def test_ordinary_bold_chat_is_no_request() -> None:
    assert bridged("*Goedemorgen* allemaal") is None


def test_pinned_message_title_is_plain() -> None:
    assert pinned_title("*Speeltuin* _opknappen_\nmeer tekst", ()) == (
        "Speeltuin opknappen",
        "meer tekst",
    )
