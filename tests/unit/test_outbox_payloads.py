"""Effect payloads round-trip through the JSON the outbox stores; Message-IDs are stable."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from daemon.ports.outbox import (
    CalendarWrite,
    ChatPost,
    ChatReaction,
    DocumentRef,
    FeedChange,
    MailOut,
    Payload,
    decode_payload,
    message_id_for,
)

AGENDA = DocumentRef(sha256="ab" * 32, filename="agenda.pdf", content_type="application/pdf")

PAYLOADS: list[Payload] = [
    ChatPost(
        body="Agenda", html="<p>Agenda</p>", reply_to="$e1", thread_root="$t", documents=(AGENDA,)
    ),
    ChatPost(body="kort", html="<p>kort</p>"),
    ChatReaction(event_id="$e2", key="✅"),
    MailOut(
        to=("gemeente@example.org", "ymere@example.org"),
        subject="Ontvangen / Received",
        text="Dank je wel",
        message_id="<wijkbode.x@example.org>",
        html="<p>Dank je wel</p>",
        in_reply_to="<their@example.org>",
        references=("<first@example.org>", "<their@example.org>"),
        auto_submitted="auto-replied",
        attachments=(AGENDA,),
    ),
    CalendarWrite(
        uid="bewonersbijeenkomst-2027-04-06@example.org",
        action="upsert",
        summary="Bewonersbijeenkomst",
        start=datetime(2027, 4, 6, 17, 30, tzinfo=UTC),
        end=datetime(2027, 4, 6, 19, 30, tzinfo=UTC),
        location="Buurthuis De Punt",
        description="Iedereen welkom",
        sequence=1,
    ),
    FeedChange(feed="meetings", entry_id="bewonersbijeenkomst-2027-04-06", action="upsert"),
]


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: type(p).__name__)
def test_payload_round_trips(payload: Payload) -> None:
    assert decode_payload(payload.to_json()) == payload


def test_an_unknown_payload_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown outbox payload type"):
        decode_payload('{"type": "carrier_pigeon"}')


def test_the_same_key_gives_the_same_message_id() -> None:
    first = message_id_for("job/meeting/x/stuk/14d/mail/a@example.org", "wijk.example.org")
    again = message_id_for("job/meeting/x/stuk/14d/mail/a@example.org", "wijk.example.org")
    other = message_id_for("job/meeting/x/stuk/14d/mail/b@example.org", "wijk.example.org")

    assert first == again
    assert first != other
    assert first.startswith("<wijkbode.")
    assert first.endswith("@wijk.example.org>")
