"""The decision commands carried out in the event's transaction, and poll responses taken in.

RULES.md "Decisions (besluiten) and date polls": a decision on an item only when it
is besluitrijp (else the reason), by a poll in the core room or from the votes
counted at the meeting; a non-binding advice when a partner will not carry a
decision out; a date poll that moves a meeting when a date gets more than half of
the votes. Every poll, vote and outcome is written in the transaction of the event
that caused it (:mod:`daemon.engine.polls`); closing is the ``PollCloser``'s, which a
commit wakes.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from daemon.chat.actions import ChatSettings, Origin
from daemon.chat.commands import find_meeting
from daemon.chat.dates import parse_day
from daemon.chat.decision_requests import (
    ClosePoll,
    DecisionRequest,
    MarkAdvice,
    RecordResult,
    ShowDecisions,
    StartDatePoll,
    StartDecisionPoll,
    is_close_now,
    item_ref,
)
from daemon.chat.replies import Reply, Say, Untrusted, bilingual_reply, item_label, line_reply
from daemon.engine.polls import (
    DATE,
    DECISION,
    DEFAULT_POLL_DURATION,
    PollSettings,
    record_response,
    start_poll,
)
from daemon.engine.scheduler import materialise
from daemon.errors import TransientError
from daemon.i18n import Translator, mark
from daemon.model import Item, ItemId, Meeting, SeriesId
from daemon.ports.chat import ChatPollResponse
from daemon.ports.outbox import ChannelName, NewEffect
from daemon.publish.decisions import (
    advice_request_key,
    advice_request_mail,
    date_poll,
    decision_list,
    decision_poll,
    decision_rows,
)
from daemon.publish.decisions import result_line as _result_line
from daemon.rules.assignment import utc
from daemon.rules.decisions import Readiness, advice_due, may_decide, tally
from daemon.store import Tx
from daemon.store.decisions import StoredAdvice, StoredDecision

if TYPE_CHECKING:
    from daemon.config.schema import Config

__all__ = [
    "DecisionSettings",
    "run_decision_command",
    "starts_poll",
    "take_poll_response",
]

NO_ITEM = mark("There is no item {number}.")
NOT_READY = mark(
    "{number} is not besluitrijp (its information was not there in time for the two-week "
    "rule): no decision can be taken on it now."
)
FOR_DISCUSSION = mark("{number} is ter bespreking, geen besluit (for discussion, no decision).")
NOT_ON_AGENDA = mark("{number} is not on a meeting's agenda, so it cannot be decided.")
POLL_OPEN = mark(
    "There is already a poll on {number}; it closes {when}. Close it now: !sluit {number}"
)
POLL_STARTED = mark(
    "Poll on {number} started; it closes {when}. Only who is in this room now can vote; a vote "
    "can be changed until it closes."
)
BAD_WHEN = mark(
    "I cannot read when the poll should close: “{when}”. Write e.g. “sluit morgen 20:00”, "
    "“sluit 2027-05-18 18:00” or “sluit 48u”."
)
WHEN_PAST = mark("The poll cannot close in the past ({when}).")
NO_OPEN_POLL = mark("There is no open poll on {what}.")
CLOSING_NOW = mark("The poll on {what} closes now; the result follows.")
RESULT_RECORDED = mark("{number} decided at the meeting: {result}")
NO_DECISION = mark("There is no decision on {number} yet.")
NOT_ADOPTED = mark("{number} was not adopted; there is nothing to carry out.")
ADVICE_EXISTS = mark("The decision on {number} is already a non-binding advice to {partner}.")
UNKNOWN_PARTNER = mark("I do not know the partner “{partner}”. Known partners: {known}.")
ADVICE_MAILED = mark("{partner} is asked by mail ({address}) for the motivated answer.")
ADVICE_RECORDED = mark(
    "The decision on {number} is now a non-binding advice: {partner} owes a motivated answer "
    "by {due}."
)
UNKNOWN_MEETING = mark("I do not know a meeting “{meeting}”; write its date, e.g. 2027-05-18.")
MEETING_GONE = mark("The meeting {id} is cancelled or has already started.")
BAD_DATE = mark("I cannot read the date “{date}”; write e.g. 2027-05-20.")
DATE_PAST = mark("The date {date} has passed.")
SAME_DATES = mark("Each date can be in the poll only once.")
DATE_POLL_OPEN = mark("There is already a date poll on {id}; it closes {when}.")
DATE_POLL_STARTED = mark(
    "Date poll on {title} started; it closes {when} (or when everyone here voted). A date "
    "with more than half of the votes moves the meeting."
)

_MINUTES = re.compile(r"^(?P<n>\d{1,4})\s*(?:m|min|minuut|minuten|minute|minutes)$")
_HOURS = re.compile(r"^(?P<n>\d{1,3})\s*(?:u|uur|uren|h|hour|hours)$")
_DAYS = re.compile(r"^(?P<n>\d{1,2})\s*(?:d|dag|dagen|day|days)$")
_TIME = re.compile(r"^(?P<h>[01]?\d|2[0-3])[:.](?P<m>[0-5]\d)$")
DEFAULT_CLOSING_TIME = time(20, 0)  # a poll closing "on a day" closes that evening


@dataclass(frozen=True, slots=True)
class DecisionSettings:
    """What the decision commands need beyond ``ChatSettings``: the partners, the weights."""

    polls: PollSettings | None = None
    # Partner name (lower-case) → (name as configured, first mail address or None).
    partners: Mapping[str, tuple[str, str | None]] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Config) -> DecisionSettings:
        partners = {
            p.name.lower(): (p.name, p.addresses[0] if p.addresses else None)
            for p in config.partners
        }
        return cls(PollSettings.from_config(config), partners)

    def poll_settings(self, settings: ChatSettings) -> PollSettings:
        return self.polls or PollSettings(settings.tz)


def starts_poll(request: DecisionRequest) -> bool:
    """Whether carrying ``request`` out needs the core room's members (it may start a poll)."""
    if isinstance(request, StartDecisionPoll):
        return not is_close_now(request.closes)
    return isinstance(request, StartDatePoll)


async def run_decision_command(
    tx: Tx,
    request: DecisionRequest,
    origin: Origin,
    settings: ChatSettings,
    decisions: DecisionSettings,
    now: datetime,
    members: Collection[str] = (),
) -> Reply:
    """Carry out a decision command (permission was checked) and say how it went."""
    match request:
        case StartDecisionPoll():
            if is_close_now(request.closes):
                return await _close(tx, item_label(request.item), origin, settings, now)
            return await _start_decision(tx, request, origin, settings, now, members)
        case RecordResult():
            return await _record_result(tx, request, origin, settings, decisions, now)
        case MarkAdvice():
            return await _advice(tx, request, origin, settings, decisions, now)
        case StartDatePoll():
            return await _start_date_poll(tx, request, origin, settings, now, members)
        case ClosePoll():
            return await _close(tx, request.ref, origin, settings, now)
        case ShowDecisions():
            return await _list(tx, request.meeting, settings, now)


def _say(msgid: str, settings: ChatSettings, **fields: str | int | Untrusted) -> Reply:
    return line_reply(msgid, settings.tz, **fields)


async def _decidable(tx: Tx, item_id: ItemId, settings: ChatSettings) -> Item | Reply:
    """The item, or the answer why no decision can be taken on it."""
    number = item_label(item_id)
    item = await tx.item(item_id)
    if item is None:
        return _say(NO_ITEM, settings, number=number)
    readiness = may_decide(item)
    refusal = {
        Readiness.NOT_READY: NOT_READY,
        Readiness.FOR_DISCUSSION: FOR_DISCUSSION,
        Readiness.NOT_ON_AGENDA: NOT_ON_AGENDA,
    }.get(readiness)
    return item if refusal is None else _say(refusal, settings, number=number)


def _when(settings: ChatSettings, moment: datetime) -> str:
    return Translator("nl", settings.tz).when(moment)


def read_closing(text: str | None, now: datetime, settings: ChatSettings) -> datetime | None:
    """When a poll closes: ``90 min``, ``48u``, ``3 dagen``, or a day with an optional time."""
    if text is None:
        return now + DEFAULT_POLL_DURATION
    phrase = " ".join(text.lower().split())
    minutes = _MINUTES.match(phrase)
    if minutes:
        return now + timedelta(minutes=int(minutes["n"]))
    hours = _HOURS.match(phrase)
    if hours:
        return now + timedelta(hours=int(hours["n"]))
    days = _DAYS.match(phrase)
    if days:
        return now + timedelta(days=int(days["n"]))
    words = phrase.split()
    at = DEFAULT_CLOSING_TIME
    clock = _TIME.match(words[-1]) if words else None
    if clock is not None:
        at = time(int(clock["h"]), int(clock["m"]))
        words = words[:-1]
    day = parse_day(" ".join(words), now.astimezone(settings.tz)) if words else None
    if day is None:
        return None
    return datetime.combine(day, at).replace(tzinfo=settings.tz)


async def _start_decision(
    tx: Tx,
    request: StartDecisionPoll,
    origin: Origin,
    settings: ChatSettings,
    now: datetime,
    members: Collection[str],
) -> Reply:
    item = await _decidable(tx, request.item, settings)
    if isinstance(item, Reply):
        return item
    number = item_label(item.id)
    closes_at = read_closing(request.closes, now, settings)
    if closes_at is None:
        return _say(BAD_WHEN, settings, when=Untrusted(request.closes or "", 60))
    if utc(closes_at) <= utc(now):
        return _say(WHEN_PAST, settings, when=_when(settings, closes_at))
    open_poll = await tx.open_poll_for_item(item.id)
    if open_poll is not None:
        return _say(POLL_OPEN, settings, number=number, when=_when(settings, open_poll.closes_at))
    assert item.meeting is not None  # may_decide: on a meeting's agenda
    await start_poll(
        tx,
        kind=DECISION,
        item=item.id,
        meeting=item.meeting,
        room_id=origin.room_id,
        poll=decision_poll(item, closes_at, settings.tz),
        members=sorted(members),
        command_event=origin.event_id,
        started_by=origin.sender,
        now=now,
        closes_at=closes_at,
    )
    return _say(POLL_STARTED, settings, number=number, when=_when(settings, closes_at))


async def _series(tx: Tx, item: Item, settings: ChatSettings) -> SeriesId | None:
    meeting = await tx.meeting(item.meeting) if item.meeting else None
    return meeting.series if meeting else None


async def _record_result(
    tx: Tx,
    request: RecordResult,
    origin: Origin,
    settings: ChatSettings,
    decisions: DecisionSettings,
    now: datetime,
) -> Reply:
    item = await _decidable(tx, request.item, settings)
    if isinstance(item, Reply):
        return item
    weights = decisions.poll_settings(settings).weights(await _series(tx, item, settings))
    counts = dict(request.counts)
    used = {party: weights.get(party, 1) for party in counts}
    result = tally(counts, used)
    decision = await tx.add_decision(
        item=item.id,
        meeting=item.meeting,
        method="meeting",
        poll=None,
        outcome=result.outcome.value,
        counts={
            party.value: {"voor": c.voor, "tegen": c.tegen, "onthouding": c.onthouding}
            for party, c in counts.items()
        },
        weights={party.value: weight for party, weight in used.items()},
        not_counted=[],
        recorded_by=origin.sender,
        decided_at=now,
    )
    number = item_label(item.id)
    return bilingual_reply(
        lambda _: [
            _(RESULT_RECORDED, number=number, result=_result_line(decision, _.first)),
        ],
        settings.tz,
    )


async def _advice(
    tx: Tx,
    request: MarkAdvice,
    origin: Origin,
    settings: ChatSettings,
    decisions: DecisionSettings,
    now: datetime,
) -> Reply:
    number = item_label(request.item)
    item = await tx.item(request.item)
    if item is None:
        return _say(NO_ITEM, settings, number=number)
    decision = await tx.latest_decision(item.id)
    if decision is None:
        return _say(NO_DECISION, settings, number=number)
    if decision.outcome not in ("consensus", "adopted"):
        return _say(NOT_ADOPTED, settings, number=number)
    earlier = await tx.advice_for_decision(decision.id)
    if earlier is not None:
        return _say(ADVICE_EXISTS, settings, number=number, partner=Untrusted(earlier.partner, 80))
    partner = _partner(request.partner, decisions)
    if partner is None:
        known = ", ".join(name for name, _ in decisions.partners.values()) or "-"
        return _say(UNKNOWN_PARTNER, settings, partner=Untrusted(request.partner, 80), known=known)
    name, address = partner
    series = await _series(tx, item, settings)
    decided_on = decision.decided_at.astimezone(settings.tz).date()
    later = await tx.meetings(series) if series else []
    due = advice_due(decided_on, later, settings.tz)
    # Tracked like an afspraak: its reminders and overdue report come from the scheduler.
    agreement = await tx.add_agreement(
        f"gemotiveerd antwoord op niet-bindend advies {number} (motivated answer to a "
        f"non-binding advice): {item.title}"[:500],
        address or name,
        due,
        now,
        item.meeting,
    )
    advice = await tx.add_advice(
        decision=decision.id,
        partner=name,
        address=address,
        due=due,
        requested_by=origin.sender,
        requested_at=now,
        agreement=agreement.id,
    )
    await materialise(tx, await tx.meetings(), await tx.open_agreements(), settings.engine, now)
    mailed = await _request_motivation(tx, item, decision, advice, settings, now)
    who = Untrusted(name, 80)

    def render(_: Say) -> list[str]:
        lines = [_(ADVICE_RECORDED, number=number, partner=who, due=_.day(due))]
        if mailed:
            lines.append(_(ADVICE_MAILED, partner=who, address=Untrusted(address or "", 120)))
        return lines

    return bilingual_reply(render, settings.tz)


async def _request_motivation(
    tx: Tx,
    item: Item,
    decision: StoredDecision,
    advice: StoredAdvice,
    settings: ChatSettings,
    now: datetime,
) -> bool:
    """Mail the partner the decision and the request, in the item's mail thread."""
    if settings.mail_address is None or advice.address is None:
        return False
    filing = await tx.filing_mail(item.id)
    thread = (filing.message_id,) if filing is not None else ()
    mail = advice_request_mail(
        item,
        decision,
        advice,
        to=advice.address,
        domain=settings.mail_address.rpartition("@")[2],
        thread=thread,
        tz=settings.tz,
    )
    key = advice_request_key(advice.id)
    await tx.enqueue(NewEffect(ChannelName.MAIL, advice.address, key, mail), now=now)
    return True


def _partner(text: str, decisions: DecisionSettings) -> tuple[str, str | None] | None:
    """A configured partner by name (any case), or a partner named by a mail address."""
    wanted = " ".join(text.split()).lower()
    if wanted in decisions.partners:
        return decisions.partners[wanted]
    if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", wanted):
        for name, address in decisions.partners.values():
            if address == wanted:
                return name, address
        return wanted, wanted
    return None


async def _start_date_poll(
    tx: Tx,
    request: StartDatePoll,
    origin: Origin,
    settings: ChatSettings,
    now: datetime,
    members: Collection[str],
) -> Reply:
    meeting = await find_meeting(tx, request.meeting, settings, now)
    if meeting is None:
        return _say(UNKNOWN_MEETING, settings, meeting=Untrusted(request.meeting, 60))
    if meeting.cancelled or utc(meeting.start) <= utc(now):
        return _say(MEETING_GONE, settings, id=meeting.id)
    days: list[date] = []
    today = now.astimezone(settings.tz)
    for text in request.dates:
        day = parse_day(text, today)
        if day is None:
            return _say(BAD_DATE, settings, date=Untrusted(text, 40))
        if day <= today.date():
            return _say(DATE_PAST, settings, date=day.isoformat())
        days.append(day)
    if len(set(days)) != len(days):
        return _say(SAME_DATES, settings)
    closes_at = read_closing(request.closes, now, settings)
    if closes_at is None:
        return _say(BAD_WHEN, settings, when=Untrusted(request.closes or "", 60))
    if utc(closes_at) <= utc(now):
        return _say(WHEN_PAST, settings, when=_when(settings, closes_at))
    open_poll = await tx.open_date_poll(meeting.id)
    if open_poll is not None:
        return _say(
            DATE_POLL_OPEN, settings, id=meeting.id, when=_when(settings, open_poll.closes_at)
        )
    await start_poll(
        tx,
        kind=DATE,
        item=None,
        meeting=meeting.id,
        room_id=origin.room_id,
        poll=date_poll(meeting, days, closes_at, settings.tz),
        members=sorted(members),
        command_event=origin.event_id,
        started_by=origin.sender,
        now=now,
        closes_at=closes_at,
    )
    return _say(DATE_POLL_STARTED, settings, title=meeting.title, when=_when(settings, closes_at))


async def _close(tx: Tx, ref: str, origin: Origin, settings: ChatSettings, now: datetime) -> Reply:
    """Close an item's poll (``WB-n``) or a meeting's date poll now (the closer, woken by
    the commit, counts and posts the result)."""
    item_id = item_ref(ref)
    poll = None
    what = Untrusted(ref, 60)
    if item_id is not None:
        poll = await tx.open_poll_for_item(item_id)
        what = Untrusted(item_label(item_id), 60)
    else:
        meeting = await find_meeting(tx, ref, settings, now)
        if meeting is not None:
            poll = await tx.open_date_poll(meeting.id)
            what = Untrusted(meeting.id, 80)
    if poll is None:
        return _say(NO_OPEN_POLL, settings, what=what)
    await tx.set_poll_closes_at(poll.id, now)
    return _say(CLOSING_NOW, settings, what=what)


async def _list(tx: Tx, ref: str | None, settings: ChatSettings, now: datetime) -> Reply:
    meeting: Meeting | None = None
    if ref is not None:
        meeting = await find_meeting(tx, ref, settings, now)
        if meeting is None:
            return _say(UNKNOWN_MEETING, settings, meeting=Untrusted(ref, 60))
    rows = await decision_rows(tx, meeting)
    post = decision_list(rows, meeting, settings.tz)
    return Reply(post.body, post.html)


# --- poll responses -----------------------------------------------------------------------


async def take_poll_response(
    tx: Tx, event: ChatPollResponse, now: datetime, at: datetime | None = None
) -> bool:
    """Record a response to one of our open polls in its room; ``True`` when the poll
    should close now. Responses to other polls, or after the close, change nothing.
    ``at``: when it counts as cast (default: the server's timestamp)."""
    poll = await tx.poll_by_start_event(event.poll_event_id)
    if poll is None and await tx.poll_start_pending(event.room_id):
        # Our start went out but its event id is not recorded yet (a crash between the
        # send and its commit, a restart that races the outbox): take it in again later
        # rather than lose a vote.
        raise TransientError("poll start not recorded yet; the response waits for it")
    if poll is None or poll.room_id != event.room_id or not poll.open:
        return False
    try:
        return await record_response(
            tx,
            poll,
            event_id=event.event_id,
            sender=event.sender,
            answer=event.answers[0] if event.answers else "",
            at=event.origin_server_ts if at is None else at,
            now=now,
        )
    except sqlite3.IntegrityError:  # pragma: no cover - the same event id, recorded
        return False
