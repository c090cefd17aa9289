"""Matrix polls (MSC3381, in the spec since v1.7): the events Wijkbode sends and reads.

Sent: the unstable ``org.matrix.msc3381.poll.start`` / ``.poll.end`` event types,
which Element (Web, Android, iOS) and the mautrix bridges render as a poll; their
content also carries the stable keys (``m.poll``, ``m.text``) for clients that read
those, and a plain text fallback (``org.matrix.msc1767.text``, ``body``) with the
options numbered, for clients and bridges that show no poll.

Read: responses of both kinds, ``m.poll.response`` (``m.selections``) and
``org.matrix.msc3381.poll.response`` (``answers``), each an ``m.reference`` to the
poll's start event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from daemon.ports.chat import IDEMPOTENCY_CONTENT_KEY, ChatPollResponse
from daemon.ports.outbox import ChatPoll

UNSTABLE_START = "org.matrix.msc3381.poll.start"
UNSTABLE_RESPONSE = "org.matrix.msc3381.poll.response"
UNSTABLE_END = "org.matrix.msc3381.poll.end"
STABLE_START = "m.poll.start"
STABLE_RESPONSE = "m.poll.response"
STABLE_END = "m.poll.end"
RESPONSE_TYPES = frozenset({UNSTABLE_RESPONSE, STABLE_RESPONSE})
_TEXT = "org.matrix.msc1767.text"


def poll_event(poll: ChatPoll, key: str) -> tuple[str, dict[str, Any]]:
    """The event type and content of a poll's start (or, with ``ends``, its end)."""
    if poll.ends is not None:
        return UNSTABLE_END, _end(poll, key)
    return UNSTABLE_START, _start(poll, key)


def _start(poll: ChatPoll, key: str) -> dict[str, Any]:
    return {
        UNSTABLE_START: {
            "kind": "org.matrix.msc3381.poll.disclosed",
            "max_selections": 1,
            "question": {_TEXT: poll.question, "body": poll.question, "msgtype": "m.text"},
            "answers": [{"id": answer_id, _TEXT: label} for answer_id, label in poll.answers],
        },
        "m.poll": {
            "kind": "m.poll.disclosed",
            "max_selections": 1,
            "question": {"m.text": [{"body": poll.question}]},
            "answers": [
                {"m.id": answer_id, "m.text": [{"body": label}]}
                for answer_id, label in poll.answers
            ],
        },
        _TEXT: poll.text,
        "m.text": [{"body": poll.text}],
        "body": poll.text,
        "msgtype": "m.text",
        "m.mentions": {},
        IDEMPOTENCY_CONTENT_KEY: key,
    }


def _end(poll: ChatPoll, key: str) -> dict[str, Any]:
    reference = {"rel_type": "m.reference", "event_id": poll.ends}
    return {
        "m.relates_to": reference,
        UNSTABLE_END: {},
        _TEXT: poll.text,
        "m.text": [{"body": poll.text}],
        "body": poll.text,
        "msgtype": "m.text",
        "m.mentions": {},
        IDEMPOTENCY_CONTENT_KEY: key,
    }


def poll_response(
    source: dict[str, Any], content: dict[str, Any], room_id: str
) -> ChatPollResponse | None:
    """A poll response of either kind, or ``None`` when it is not a well-formed one."""
    relation = content.get("m.relates_to") or {}
    if not isinstance(relation, dict) or relation.get("rel_type") != "m.reference":
        return None
    poll_event_id = relation.get("event_id")
    if not isinstance(poll_event_id, str):
        return None
    if source.get("type") == STABLE_RESPONSE:
        chosen = content.get("m.selections")
    else:
        unstable = content.get(UNSTABLE_RESPONSE)
        chosen = unstable.get("answers") if isinstance(unstable, dict) else None
    if not isinstance(chosen, list):
        return None
    return ChatPollResponse(
        room_id=room_id,
        event_id=str(source["event_id"]),
        sender=str(source["sender"]),
        poll_event_id=poll_event_id,
        answers=tuple(str(answer) for answer in chosen if isinstance(answer, str))[:1],
        origin_server_ts=datetime.fromtimestamp(int(source["origin_server_ts"]) / 1000, UTC),
    )
