"""SQL for decisions, polls, their responses and non-binding advice (migration 0013).

Every write runs in the caller's transaction: a poll with the command that started it
(and the outbox row of its start event), a response with the event's handled mark, a
decision with the poll's close (and the outbox row of its end event). A response is
keyed by its event id, so a redelivered event is never a second vote.

The store decides nothing: what counts and what the votes decide is
:mod:`daemon.rules.decisions`. Counts and weights are kept as plain JSON objects
(``{"bewoners": {"voor": 4, "tegen": 0, "onthouding": 1}}``, ``{"bewoners": 1}``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from daemon.model import AgreementId, ItemId, MeetingId
from daemon.store.base import QueriesBase
from daemon.store.timefmt import (
    date_from_db,
    date_to_db,
    instant_from_db,
    instant_to_db,
    optional_instant_from_db,
)

PartyCounts = Mapping[str, Mapping[str, int]]


@dataclass(frozen=True, slots=True)
class StoredPoll:
    id: int
    kind: str  # "decision" or "date"
    item: ItemId | None
    meeting: MeetingId
    room_id: str
    question: str
    answers: tuple[tuple[str, str], ...]  # (answer id, label)
    members: frozenset[str]
    start_key: str
    started_by: str
    started_at: datetime
    closes_at: datetime
    closed_at: datetime | None
    result: Mapping[str, Any] | None
    start_event: str | None = None  # the Matrix event id, once the start was delivered

    @property
    def open(self) -> bool:
        return self.closed_at is None


@dataclass(frozen=True, slots=True)
class StoredResponse:
    event_id: str
    sender: str
    answer: str
    at: datetime
    order: int


@dataclass(frozen=True, slots=True)
class StoredDecision:
    id: int
    item: ItemId
    meeting: MeetingId | None
    method: str  # "meeting" or "poll"
    poll: int | None
    outcome: str
    counts: PartyCounts
    weights: Mapping[str, int]
    not_counted: tuple[str, ...]
    recorded_by: str
    decided_at: datetime


@dataclass(frozen=True, slots=True)
class StoredAdvice:
    id: int
    decision: int
    partner: str
    address: str | None
    due: date
    agreement: AgreementId | None
    requested_by: str
    requested_at: datetime
    motivation: str | None
    answered_at: datetime | None


_POLL_COLUMNS = (
    "p.id, p.kind, p.item_id, p.meeting_id, p.room_id, p.question, p.answers, p.members,"
    " p.start_key, p.started_by, p.started_at, p.closes_at, p.closed_at, p.result,"
    " o.remote_id AS start_event"
)
_POLL_FROM = "polls p LEFT JOIN outbox o ON o.key = p.start_key AND o.status = 'delivered'"


class DecisionQueries(QueriesBase):
    async def _polls(self, where: str, params: tuple[object, ...] = ()) -> list[StoredPoll]:
        """Polls matching ``where`` (a constant of this module, never outside text)."""
        sql = f"SELECT {_POLL_COLUMNS} FROM {_POLL_FROM} {where}"  # noqa: S608
        return [_poll(row) for row in await self._fetch_all(sql, params)]

    # --- polls --------------------------------------------------------------------

    async def add_poll(
        self,
        *,
        kind: str,
        item: ItemId | None,
        meeting: MeetingId,
        room_id: str,
        question: str,
        answers: Sequence[tuple[str, str]],
        members: Sequence[str],
        start_key: str,
        started_by: str,
        started_at: datetime,
        closes_at: datetime,
    ) -> StoredPoll:
        """A new open poll; ``sqlite3.IntegrityError`` when one is open for it already."""
        cursor = await self._conn.execute(
            "INSERT INTO polls (kind, item_id, meeting_id, room_id, question, answers, members,"
            " start_key, started_by, started_at, closes_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                kind,
                item,
                meeting,
                room_id,
                question,
                json.dumps([list(a) for a in answers], ensure_ascii=False),
                json.dumps(sorted(members)),
                start_key,
                started_by,
                instant_to_db(started_at),
                instant_to_db(closes_at),
            ),
        )
        row = await cursor.fetchone()
        assert row is not None
        poll = await self.poll(int(row[0]))
        assert poll is not None
        return poll

    async def poll(self, poll_id: int) -> StoredPoll | None:
        found = await self._polls("WHERE p.id = ?", (poll_id,))
        return found[0] if found else None

    async def poll_by_start_event(self, event_id: str) -> StoredPoll | None:
        """The poll whose start event (as delivered) is ``event_id``."""
        found = await self._polls(
            "WHERE p.id = (SELECT p2.id FROM polls p2 JOIN outbox o2 ON o2.key = p2.start_key"
            " WHERE o2.remote_id = ?)",
            (event_id,),
        )
        return found[0] if found else None

    async def open_poll_for_item(self, item: ItemId) -> StoredPoll | None:
        found = await self._polls(
            "WHERE p.kind = 'decision' AND p.item_id = ? AND p.closed_at IS NULL", (item,)
        )
        return found[0] if found else None

    async def open_date_poll(self, meeting: MeetingId) -> StoredPoll | None:
        found = await self._polls(
            "WHERE p.kind = 'date' AND p.meeting_id = ? AND p.closed_at IS NULL", (meeting,)
        )
        return found[0] if found else None

    async def open_polls(self) -> list[StoredPoll]:
        """Every open poll, soonest to close first."""
        return await self._polls("WHERE p.closed_at IS NULL ORDER BY p.closes_at, p.id")

    async def polls(self) -> list[StoredPoll]:
        return await self._polls("ORDER BY p.id")

    async def poll_start_pending(self, room_id: str) -> bool:
        """Whether an open poll in ``room_id`` still waits for its start event to go out
        (its outbox row pending): a response to it cannot be matched yet."""
        row = await self._fetch_one(
            "SELECT 1 FROM polls p JOIN outbox o ON o.key = p.start_key"
            " WHERE p.room_id = ? AND p.closed_at IS NULL AND o.status = 'pending' LIMIT 1",
            (room_id,),
        )
        return row is not None

    async def next_poll_close(self) -> datetime | None:
        row = await self._fetch_one("SELECT MIN(closes_at) FROM polls WHERE closed_at IS NULL")
        return None if row is None or row[0] is None else instant_from_db(str(row[0]))

    async def set_poll_closes_at(self, poll_id: int, closes_at: datetime) -> None:
        """Move an open poll's end (closing by command: now)."""
        await self._conn.execute(
            "UPDATE polls SET closes_at = ? WHERE id = ? AND closed_at IS NULL",
            (instant_to_db(closes_at), poll_id),
        )

    async def close_poll(self, poll_id: int, result: Mapping[str, Any], at: datetime) -> bool:
        """Close an open poll with its result; ``False`` when it was closed already."""
        cursor = await self._conn.execute(
            "UPDATE polls SET closed_at = ?, result = ? WHERE id = ? AND closed_at IS NULL",
            (instant_to_db(at), json.dumps(result, ensure_ascii=False, sort_keys=True), poll_id),
        )
        return cursor.rowcount == 1

    # --- responses ------------------------------------------------------------------

    async def add_poll_response(
        self, poll_id: int, event_id: str, sender: str, answer: str, at: datetime, now: datetime
    ) -> bool:
        """Record one response event; ``False`` when this event was recorded before."""
        cursor = await self._conn.execute(
            "INSERT OR IGNORE INTO poll_responses"
            " (event_id, poll_id, sender, answer, at, received_at) VALUES (?, ?, ?, ?, ?, ?)",
            (event_id, poll_id, sender, answer, instant_to_db(at), instant_to_db(now)),
        )
        return cursor.rowcount == 1

    async def poll_responses(self, poll_id: int) -> list[StoredResponse]:
        rows = await self._fetch_all(
            "SELECT event_id, sender, answer, at, rowid FROM poll_responses"
            " WHERE poll_id = ? ORDER BY at, rowid",
            (poll_id,),
        )
        return [
            StoredResponse(str(r[0]), str(r[1]), str(r[2]), instant_from_db(str(r[3])), int(r[4]))
            for r in rows
        ]

    # --- decisions ------------------------------------------------------------------

    async def add_decision(
        self,
        *,
        item: ItemId,
        meeting: MeetingId | None,
        method: str,
        poll: int | None,
        outcome: str,
        counts: PartyCounts,
        weights: Mapping[str, int],
        not_counted: Sequence[str],
        recorded_by: str,
        decided_at: datetime,
    ) -> StoredDecision:
        cursor = await self._conn.execute(
            "INSERT INTO decisions (item_id, meeting_id, method, poll_id, outcome, counts,"
            " weights, not_counted, recorded_by, decided_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                item,
                meeting,
                method,
                poll,
                outcome,
                json.dumps(counts, sort_keys=True),
                json.dumps(weights, sort_keys=True),
                json.dumps(sorted(not_counted)),
                recorded_by,
                instant_to_db(decided_at),
            ),
        )
        row = await cursor.fetchone()
        assert row is not None
        decision = await self.decision(int(row[0]))
        assert decision is not None
        return decision

    async def decision(self, decision_id: int) -> StoredDecision | None:
        row = await self._fetch_one("SELECT * FROM decisions WHERE id = ?", (decision_id,))
        return None if row is None else _decision(row)

    async def latest_decision(self, item: ItemId) -> StoredDecision | None:
        row = await self._fetch_one(
            "SELECT * FROM decisions WHERE item_id = ? ORDER BY id DESC LIMIT 1", (item,)
        )
        return None if row is None else _decision(row)

    async def decisions(self, meeting: MeetingId | None = None) -> list[StoredDecision]:
        """Every decision (of ``meeting``), oldest first."""
        rows = await self._fetch_all(
            "SELECT * FROM decisions WHERE ?1 IS NULL OR meeting_id = ?1 ORDER BY id",
            (meeting,),
        )
        return [_decision(row) for row in rows]

    # --- advice ---------------------------------------------------------------------

    async def add_advice(
        self,
        *,
        decision: int,
        partner: str,
        address: str | None,
        due: date,
        requested_by: str,
        requested_at: datetime,
        agreement: AgreementId | None = None,
    ) -> StoredAdvice:
        cursor = await self._conn.execute(
            "INSERT INTO advice (decision_id, agreement_id, partner, address, due, requested_by,"
            " requested_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                decision,
                agreement,
                partner,
                address,
                date_to_db(due),
                requested_by,
                instant_to_db(requested_at),
            ),
        )
        row = await cursor.fetchone()
        assert row is not None
        advice = await self.advice(int(row[0]))
        assert advice is not None
        return advice

    async def advice(self, advice_id: int) -> StoredAdvice | None:
        row = await self._fetch_one("SELECT * FROM advice WHERE id = ?", (advice_id,))
        return None if row is None else _advice(row)

    async def advice_for_decision(self, decision: int) -> StoredAdvice | None:
        row = await self._fetch_one("SELECT * FROM advice WHERE decision_id = ?", (decision,))
        return None if row is None else _advice(row)

    async def all_advice(self, *, open_only: bool = False) -> list[StoredAdvice]:
        rows = await self._fetch_all(
            "SELECT * FROM advice WHERE ? = 0 OR answered_at IS NULL ORDER BY due, id",
            (int(open_only),),
        )
        return [_advice(row) for row in rows]

    async def answer_advice(self, advice_id: int, motivation: str, at: datetime) -> bool:
        """File the partner's motivation; ``False`` when it was answered before."""
        cursor = await self._conn.execute(
            "UPDATE advice SET motivation = ?, answered_at = ?"
            " WHERE id = ? AND answered_at IS NULL",
            (motivation, instant_to_db(at), advice_id),
        )
        return cursor.rowcount == 1


def _poll(row: sqlite3.Row) -> StoredPoll:
    result = row["result"]
    return StoredPoll(
        id=int(row["id"]),
        kind=str(row["kind"]),
        item=None if row["item_id"] is None else ItemId(int(row["item_id"])),
        meeting=MeetingId(str(row["meeting_id"])),
        room_id=str(row["room_id"]),
        question=str(row["question"]),
        answers=tuple((str(a), str(b)) for a, b in json.loads(row["answers"])),
        members=frozenset(str(m) for m in json.loads(row["members"])),
        start_key=str(row["start_key"]),
        started_by=str(row["started_by"]),
        started_at=instant_from_db(str(row["started_at"])),
        closes_at=instant_from_db(str(row["closes_at"])),
        closed_at=optional_instant_from_db(row["closed_at"]),
        result=None if result is None else json.loads(result),
        start_event=None if row["start_event"] is None else str(row["start_event"]),
    )


def _decision(row: sqlite3.Row) -> StoredDecision:
    return StoredDecision(
        id=int(row["id"]),
        item=ItemId(int(row["item_id"])),
        meeting=None if row["meeting_id"] is None else MeetingId(str(row["meeting_id"])),
        method=str(row["method"]),
        poll=None if row["poll_id"] is None else int(row["poll_id"]),
        outcome=str(row["outcome"]),
        counts=json.loads(row["counts"]),
        weights=json.loads(row["weights"]),
        not_counted=tuple(json.loads(row["not_counted"])),
        recorded_by=str(row["recorded_by"]),
        decided_at=instant_from_db(str(row["decided_at"])),
    )


def _advice(row: sqlite3.Row) -> StoredAdvice:
    return StoredAdvice(
        id=int(row["id"]),
        decision=int(row["decision_id"]),
        partner=str(row["partner"]),
        address=None if row["address"] is None else str(row["address"]),
        due=date_from_db(str(row["due"])),
        agreement=None if row["agreement_id"] is None else AgreementId(int(row["agreement_id"])),
        requested_by=str(row["requested_by"]),
        requested_at=instant_from_db(str(row["requested_at"])),
        motivation=None if row["motivation"] is None else str(row["motivation"]),
        answered_at=optional_instant_from_db(row["answered_at"]),
    )
