"""Polls in the core room: started, answered and closed, each in one transaction.

- ``start_poll``: the poll row and the outbox row of its start event, in the
  transaction of the command that asked for it (keyed by that command's event, so
  a re-run starts nothing twice). The members of the room when it starts are kept:
  only they count.
- ``record_response``: one response event, with that event's handled mark (a
  redelivered event is the same row, never a second vote). A date poll every member
  answered closes at once (RULES.md).
- ``PollCloser``: sleeps until the soonest open poll's end (or a ``wake()``), then
  closes each due poll in ONE transaction: the count by
  :mod:`daemon.rules.decisions`, the decision (or, for a date poll with a majority,
  the plan override with source "poll" and the plan sync that moves the meeting with
  every consequence: new moments, notices on every channel that carried it), and
  the poll's end event with the result and the rule that decided it.

A crash anywhere re-runs at most an uncommitted close; a closed poll is never
closed twice (``close_poll`` only closes an open one).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from daemon.clock import Clock
from daemon.engine.outbox import wait_for_any
from daemon.engine.plan_sync import sync_plan_in
from daemon.model import ItemId, Meeting, MeetingId, SeriesId
from daemon.ports.outbox import ChannelName, ChatPoll, ChatPost, NewEffect
from daemon.ports.planning import PlanOverride, PlanSource, PlanState
from daemon.publish.decisions import (
    DECISION_ANSWERS,
    counts_of,
    date_poll_end,
    decision_poll_end,
)
from daemon.rules.decisions import (
    Party,
    PollResponse,
    PollVotes,
    date_poll_winner,
    poll_votes,
    tally,
)
from daemon.rules.names import Names
from daemon.store import Store, Tx
from daemon.store.decisions import StoredDecision, StoredPoll

if TYPE_CHECKING:
    from daemon.config.schema import Config

log = logging.getLogger("wijkbode.polls")

DECISION = "decision"
DATE = "date"


@dataclass(frozen=True, slots=True)
class PollSettings:
    """What counting and closing polls needs: the time zone and the parties' weights."""

    tz: ZoneInfo
    # RULES.md: the residents' weight per series (default 1: equal votes).
    resident_weight: Mapping[SeriesId, int] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Config) -> PollSettings:
        """``[series.<id>] resident_weight`` of each series."""
        weights = {sid: entry.series.resident_weight for sid, entry in config.series.items()}
        return cls(config.timezone, weights)

    def weights(self, series: SeriesId | None) -> dict[Party, int]:
        resident = self.resident_weight.get(series, 1) if series is not None else 1
        return {Party.BEWONERS: resident, Party.PARTNERS: 1}


def start_key(event_id: str) -> str:
    """The outbox key of the start event of the poll the command ``event_id`` started."""
    return f"chat/{event_id}/poll"


async def start_poll(
    tx: Tx,
    *,
    kind: str,
    item: ItemId | None,
    meeting: MeetingId,
    room_id: str,
    poll: ChatPoll,
    members: Sequence[str],
    command_event: str,
    started_by: str,
    now: datetime,
    closes_at: datetime,
) -> StoredPoll:
    """Store the poll and queue its start event (see the module docstring)."""
    key = start_key(command_event)
    stored = await tx.add_poll(
        kind=kind,
        item=item,
        meeting=meeting,
        room_id=room_id,
        question=poll.question,
        answers=poll.answers,
        members=members,
        start_key=key,
        started_by=started_by,
        started_at=now,
        closes_at=closes_at,
    )
    await tx.enqueue(NewEffect(ChannelName.MATRIX, room_id, key, poll), now=now)
    return stored


async def record_response(
    tx: Tx,
    poll: StoredPoll,
    *,
    event_id: str,
    sender: str,
    answer: str,
    at: datetime,
    now: datetime,
) -> bool:
    """Record one response to an open poll; ``True`` when the poll should close now
    (a date poll that every member answered)."""
    if not poll.open:
        return False
    await tx.add_poll_response(poll.id, event_id, sender, answer, at, now)
    if poll.kind != DATE:
        return False
    counted = await _votes(tx, poll, now)
    if poll.members and poll.members <= set(counted.votes):
        await tx.set_poll_closes_at(poll.id, now)
        return True
    return False


async def _votes(tx: Tx, poll: StoredPoll, until: datetime) -> PollVotes:
    responses = [
        PollResponse(r.sender, r.at, r.answer, r.order) for r in await tx.poll_responses(poll.id)
    ]
    end = min(until, poll.closes_at)
    return poll_votes(responses, poll.members, end, [answer for answer, _ in poll.answers])


# --- closing ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PollClosed:
    poll: int
    kind: str
    decision: StoredDecision | None = None
    moved_to: date | None = None


async def close_poll_in(
    tx: Tx, poll: StoredPoll, settings: PollSettings, config: Config | None, now: datetime
) -> PollClosed | None:
    """Close ``poll`` (see the module docstring); ``None`` when it was closed already."""
    counted = await _votes(tx, poll, now)
    not_counted = sorted(counted.not_counted)
    if poll.kind == DECISION:
        return await _close_decision(tx, poll, counted.votes, not_counted, settings, now)
    return await _close_date(tx, poll, counted.votes, not_counted, settings, config, now)


async def _close_decision(
    tx: Tx,
    poll: StoredPoll,
    votes: Mapping[str, str],
    not_counted: list[str],
    settings: PollSettings,
    now: datetime,
) -> PollClosed | None:
    assert poll.item is not None
    item = await tx.item(poll.item)
    meeting = await tx.meeting(poll.meeting)
    # A poll's voters are the core group: residents.
    counts = {Party.BEWONERS: counts_of(votes)}
    weights = settings.weights(meeting.series if meeting else None)
    result = tally(counts, {Party.BEWONERS: weights[Party.BEWONERS]})
    counts_json = {
        party.value: {"voor": c.voor, "tegen": c.tegen, "onthouding": c.onthouding}
        for party, c in result.counts.items()
    }
    weights_json = {party.value: weight for party, weight in result.weights.items()}
    if not await tx.close_poll(
        poll.id,
        {"outcome": result.outcome.value, "counts": counts_json, "votes": dict(votes)},
        now,
    ):
        return None
    decision = await tx.add_decision(
        item=poll.item,
        meeting=poll.meeting,
        method="poll",
        poll=poll.id,
        outcome=result.outcome.value,
        counts=counts_json,
        weights=weights_json,
        not_counted=not_counted,
        recorded_by=poll.started_by,
        decided_at=now,
    )
    if item is not None:
        shown = replace(decision, not_counted=await _named(tx, decision.not_counted))
        text = decision_poll_end(item, shown, settings.tz)
        await _send_end(tx, poll, text, now)
    return PollClosed(poll.id, poll.kind, decision=decision)


async def _close_date(
    tx: Tx,
    poll: StoredPoll,
    votes: Mapping[str, str],
    not_counted: list[str],
    settings: PollSettings,
    config: Config | None,
    now: datetime,
) -> PollClosed | None:
    counts = {answer: sum(1 for v in votes.values() if v == answer) for answer, _ in poll.answers}
    winner_text = date_poll_winner(votes)
    winner = None if winner_text is None else date.fromisoformat(winner_text)
    meeting = await tx.meeting(poll.meeting)
    result = {"counts": counts, "winner": winner_text, "votes": dict(votes)}
    if not await tx.close_poll(poll.id, result, now):
        return None
    if meeting is None:
        return PollClosed(poll.id, poll.kind)
    moved = too_late = None
    # Moving a meeting that is over, called off, or to a day already gone helps no one.
    movable = (
        not meeting.cancelled
        and meeting.start > now
        and winner is not None
        and winner > now.astimezone(settings.tz).date()
    )
    if winner is not None and config is not None and movable:
        moved = await _move(tx, poll, meeting, winner, settings, config, now)
    elif winner is not None and not movable:
        too_late = winner
    named = await _named(tx, not_counted)
    text = date_poll_end(meeting, counts, moved, named, settings.tz, too_late=too_late)
    await _send_end(tx, poll, text, now)
    return PollClosed(poll.id, poll.kind, moved_to=moved)


async def _named(tx: Tx, voters: Sequence[str]) -> tuple[str, ...]:
    """Voters as the core room names them: a WhatsApp member's id is a phone number."""
    names = Names(await tx.member_names())
    return tuple(names.of(voter) for voter in voters)


async def _move(
    tx: Tx,
    poll: StoredPoll,
    meeting: Meeting,
    day: date,
    settings: PollSettings,
    config: Config,
    now: datetime,
) -> date:
    """The meeting moves to ``day`` at its own time: a plan override with source "poll",
    laid over the plan like the planning calendar's, with every consequence."""
    tz = settings.tz
    local = meeting.start.astimezone(tz)
    start = datetime.combine(day, local.time()).replace(tzinfo=tz)
    duration = meeting.end - meeting.start
    configured = next((m for m in config.meetings() if m.id == meeting.id), None)
    await tx.put_plan_override(
        PlanOverride(
            meeting=meeting.id,
            series=meeting.series,
            source=PlanSource.POLL,
            # One word of the polls per meeting: a later date poll replaces it.
            external_id=f"poll/{meeting.id}",
            start=start.astimezone(UTC),
            end=(start + duration).astimezone(UTC),
            location="",
            cancelled=False,
            base=None if configured is None else PlanState.of(configured),
        ),
        at=now,
    )
    await sync_plan_in(tx, config, now, daemon_effects=True)
    return day


async def _send_end(tx: Tx, poll: StoredPoll, text: str, now: datetime) -> None:
    """The poll's end event with the result; a plain message when its start never went
    out (Matrix unreachable all along), so the room still hears the result."""
    key = f"poll/{poll.id}/end"
    payload: ChatPoll | ChatPost
    if poll.start_event is not None:
        payload = ChatPoll(poll.question, poll.answers, text, ends=poll.start_event)
    else:
        payload = ChatPost(body=text, html="")
    await tx.enqueue(NewEffect(ChannelName.MATRIX, poll.room_id, key, payload), now=now)


class PollCloser:
    """Closes each poll at its end (or when woken after ``!sluit``), see the module docstring."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        settings: PollSettings,
        config: Config | None = None,
        *,
        on_closed: Callable[[], None] = lambda: None,
        poll_seconds: float = 60.0,
    ) -> None:
        self._store = store
        self._clock = clock
        self._settings = settings
        self._config = config
        self._on_closed = on_closed
        self._poll_seconds = poll_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    def reconfigure(self, config: Config) -> None:
        """Close with the reloaded plan from now on (SIGHUP)."""
        self._config = config

    async def run(self) -> None:
        while True:
            self._wake.clear()
            next_close: datetime | None = None
            try:
                await self.close_due()
                async with self._store.reading() as tx:
                    next_close = await tx.next_poll_close()
            except sqlite3.OperationalError as error:
                log.warning("polls not closed (%s); trying again", error)
            if next_close is not None and next_close <= self._clock.now():
                next_close = None  # one that failed just now: again after poll_seconds
            await wait_for_any(self._clock, self._wake, next_close, self._poll_seconds)

    async def close_due(self) -> int:
        """Close every poll whose end has come; how many were closed."""
        closed = 0
        now = self._clock.now()
        async with self._store.reading() as tx:
            due = [p.id for p in await tx.open_polls() if p.closes_at <= now]
        for poll_id in due:
            try:
                done = await self._close(poll_id, now)
            except sqlite3.OperationalError:
                raise
            except Exception:
                # One poll that cannot be closed (a bug, odd data) must not stop the daemon
                # or the other polls; it is tried again at the next round, and logged.
                log.exception("poll %d could not be closed; trying again later", poll_id)
                continue
            if done is not None:
                closed += 1
                log.info("poll %d (%s) closed", poll_id, done.kind)
        if closed:
            self._on_closed()
        return closed

    async def _close(self, poll_id: int, now: datetime) -> PollClosed | None:
        async with self._store.transaction() as tx:
            poll = await tx.poll(poll_id)
            if poll is None or not poll.open:
                return None
            return await close_poll_in(tx, poll, self._settings, self._config, now)


DEFAULT_POLL_DURATION = timedelta(hours=72)
__all__ = [
    "DATE",
    "DECISION",
    "DECISION_ANSWERS",
    "DEFAULT_POLL_DURATION",
    "PollCloser",
    "PollSettings",
    "close_poll_in",
    "record_response",
    "start_key",
    "start_poll",
]
