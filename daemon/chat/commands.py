"""``!commands`` carried out inside the event's store transaction: look up, change, answer.

Read-only commands list the store; changing commands check the item's or
afspraak's state first and answer a short bilingual reason when they cannot
be done (an unknown id, a withdrawn item, a meeting that already started).
Each change lands in the item's audit trail with who asked, from chat.

Read-only commands show a series only where :mod:`daemon.rules.visibility`
allows it (``ChatSettings.shows``, ``ChatSettings.shows_of``): outside the core
room a non-public series' meetings, items and afspraken are left out, and so is
a meeting before its series' publication moment (a bewonersbijeenkomst before
T-28d); a meeting asked for by name, id or date that cannot be shown gets the
same answer as one that does not exist, so the answer never confirms that it
does. An agenda shown there lists an item only where the same rule lets its
title out: a public agenda, once it is out, and never a confidential item
(``!vertrouwelijk``) or one awaiting acceptance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from daemon.chat.actions import ChatSettings, Origin
from daemon.chat.dates import parse_day
from daemon.chat.item_changes import change_detail, notify_sender, set_status
from daemon.chat.listings import (
    DeadlineRow,
    agenda_reply,
    agreements_reply,
    deadlines_reply,
    help_reply,
)
from daemon.chat.parsing import (
    AcceptItem,
    CannotKeep,
    Command,
    KeepForDiscussion,
    MarkConfidential,
    MarkDone,
    MoveItem,
    RejectItem,
    RejectItems,
    ShowAgenda,
    ShowAgreements,
    ShowDeadlines,
    ShowHelp,
    WithdrawItem,
)
from daemon.chat.rejections import reject_items
from daemon.chat.replies import (
    Field,
    Reply,
    Untrusted,
    agreement_label,
    bilingual_reply,
    item_label,
    line_reply,
)
from daemon.engine.scheduler import materialise
from daemon.i18n import mark
from daemon.model import (
    Agreement,
    AgreementStatus,
    Item,
    ItemId,
    ItemStatus,
    Kind,
    Meeting,
    MeetingId,
    SeriesId,
)
from daemon.publish.change_notices import Change, ItemChange
from daemon.rules.assignment import (
    deadline,
    is_decision_ready,
    is_late,
    keep_for_discussion,
    next_meeting,
    utc,
)
from daemon.rules.names import Names
from daemon.rules.visibility import PRIVATE, Part, agenda_moment
from daemon.store import Tx

NO_ITEM = mark("There is no item {number}.")
NO_AGREEMENT = mark("There is no agreement {number}.")
UNKNOWN_MEETING = mark("I do not know a meeting “{meeting}”; write its date, e.g. 2027-05-18.")
NO_NEXT_MEETING = mark("No next meeting is planned yet.")
# Outside the core room: one answer for a meeting that is not public and for one that
# does not exist, without echoing what was asked (that would differ between the two).
NO_PUBLIC_MEETING = mark(
    "In this room I only show public meetings, and I know no public meeting by that name or "
    "date. Write its date, e.g. 2027-05-18."
)
NO_NEXT_PUBLIC_MEETING = mark(
    "In this room I only show public meetings, and no public meeting is planned yet."
)
AGENDA_NOT_PUBLIC = mark("The agenda of this meeting is not public.")
AGENDA_PUBLIC_LATER = mark("The agenda of this meeting becomes public on {when}.")
CLOSED_ITEM = mark("Item {number} was withdrawn or rejected; it cannot be changed any more.")


@dataclass(frozen=True, slots=True)
class CommandResult:
    reply: Reply
    schedule_changed: bool = False


async def run_command(
    tx: Tx, command: Command, origin: Origin, settings: ChatSettings, now: datetime
) -> CommandResult:
    """Carry out ``command`` (permission was checked by the caller) and say how it went."""
    tz = settings.tz
    match command:
        case ShowHelp():
            series = [s for s in settings.filing.rules if settings.shows(s, origin)]
            return CommandResult(help_reply(tz, series))
        case ShowAgenda(meeting=ref):
            return CommandResult(await _agenda(tx, ref, origin, settings, now))
        case ShowDeadlines():
            rows = await _deadline_rows(tx, settings, now, origin)
            return CommandResult(deadlines_reply(rows, tz, public=origin.public))
        case ShowAgreements():
            agreements = await _agreements(tx, settings, origin, now)
            today = now.astimezone(tz).date()
            names = Names(await tx.member_names())
            return CommandResult(
                agreements_reply(agreements, today, tz, public=origin.public, names=names)
            )
        case MarkDone() | CannotKeep():
            return await _close_agreement(tx, command, origin, settings, now)
        case MoveItem():
            return CommandResult(await _move(tx, command, origin, settings, now))
        case KeepForDiscussion():
            return CommandResult(await _keep(tx, command, origin, settings, now))
        case WithdrawItem() | AcceptItem() | RejectItem():
            return CommandResult(await _set_status(tx, command, origin, settings, now))
        case RejectItems():
            return CommandResult(await reject_items(tx, command, origin, settings, now))
        case MarkConfidential():
            return CommandResult(await _confidential(tx, command, origin, settings, now))


def _say(msgid: str, settings: ChatSettings, **fields: Field) -> Reply:
    return line_reply(msgid, settings.tz, **fields)


# --- read-only ----------------------------------------------------------------------


async def _agenda(
    tx: Tx, ref: str | None, origin: Origin, settings: ChatSettings, now: datetime
) -> Reply:
    meeting = await find_meeting(
        tx,
        ref,
        settings,
        now,
        visible=lambda series: settings.shows(series, origin),
        shown=lambda found: settings.shows_of(found, origin, now),
    )
    if meeting is None:
        if origin.public:
            return _say(NO_NEXT_PUBLIC_MEETING if ref is None else NO_PUBLIC_MEETING, settings)
        if ref is None:
            return _say(NO_NEXT_MEETING, settings)
        return _say(UNKNOWN_MEETING, settings, meeting=Untrusted(ref, 60))
    # Each title through the one rule (in the core room it lets everything through).
    items = [
        item
        for item in await tx.items_for_meeting(meeting.id)
        if settings.shows_of(meeting, origin, now, Part.AGENDA, item)
    ]
    return agenda_reply(
        meeting,
        items,
        public=not settings.shows_of(meeting, origin, now, Part.ADDRESS),
        tz=settings.tz,
        names=Names(await tx.member_names()),
        note=_agenda_note(meeting, origin, settings, now),
    )


def _agenda_note(
    meeting: Meeting, origin: Origin, settings: ChatSettings, now: datetime
) -> tuple[str, datetime | None] | None:
    """Why an agenda shown here lists nothing, when the rule keeps all of it back."""
    if settings.shows_of(meeting, origin, now, Part.AGENDA):
        return None
    rules = settings.filing.rules.get(meeting.series)
    later = None if rules is None else agenda_moment(meeting, rules, settings.tz)
    public_agenda = settings.visibility.get(meeting.series, PRIVATE).public_agenda
    if public_agenda and later is not None and utc(later) > utc(now):
        return AGENDA_PUBLIC_LATER, later
    return AGENDA_NOT_PUBLIC, None


async def find_meeting(
    tx: Tx,
    ref: str | None,
    settings: ChatSettings,
    now: datetime,
    series: SeriesId | None = None,
    *,
    visible: Callable[[SeriesId], bool] = lambda _: True,
    shown: Callable[[Meeting], bool] = lambda _: True,
) -> Meeting | None:
    """The meeting ``ref`` names: its id, a series (its next meeting), or a date.

    ``None`` names the next meeting of ``series`` (default: the configured one),
    or, where that series is not ``visible``, the soonest of the visible series.
    A date is looked up in ``series`` first, then in every series. A meeting of
    a series that is not ``visible``, or one not ``shown`` (not published yet),
    is never found: it is as if it did not exist.
    """
    own_series = series or settings.filing.default_series

    def seen(meetings: list[Meeting]) -> list[Meeting]:
        return [m for m in meetings if visible(m.series) and shown(m)]

    if ref is None:
        if visible(own_series):
            return next_meeting(seen(await tx.meetings(own_series)), now)
        return next_meeting(seen(await tx.meetings()), now)
    text = " ".join(ref.split())
    by_id = await tx.meeting(MeetingId(text))
    if by_id is not None:
        return by_id if seen([by_id]) else None
    if text.lower() in settings.filing.rules:
        named = SeriesId(text.lower())
        return next_meeting(seen(await tx.meetings(named)), now)
    day = parse_day(text, now.astimezone(settings.tz))
    if day is None:
        return None
    everything = seen(await tx.meetings())
    on_day = [m for m in everything if m.start.astimezone(settings.tz).date() == day]
    return next((m for m in on_day if m.series == own_series), on_day[0] if on_day else None)


async def _deadline_rows(
    tx: Tx, settings: ChatSettings, now: datetime, origin: Origin
) -> list[DeadlineRow]:
    """The deadlines still ahead for the next meeting of every series shown here, soonest
    first."""
    rows: list[DeadlineRow] = []
    for series, rules in settings.filing.rules.items():
        if not settings.shows(series, origin):
            continue
        meetings = await tx.meetings(series)
        meeting = next_meeting([m for m in meetings if settings.shows_of(m, origin, now)], now)
        if meeting is None:
            continue
        for kind in Kind:
            if kind not in rules.deadlines:
                continue
            at = deadline(meeting, kind, rules, settings.tz)
            if utc(at) >= utc(now):
                rows.append(DeadlineRow(meeting, kind, at))
    return sorted(rows, key=lambda row: (utc(row.at), row.meeting.id))


async def _agreements(
    tx: Tx, settings: ChatSettings, origin: Origin, now: datetime
) -> list[Agreement]:
    """The open afspraken shown here: of a meeting shown here; one of no meeting is the
    core group's own."""
    shown: list[Agreement] = []
    for agreement in await tx.open_agreements():
        meeting = await tx.meeting(agreement.meeting) if agreement.meeting else None
        if meeting is None:
            if settings.shows(None, origin):
                shown.append(agreement)
        elif settings.shows_of(meeting, origin, now):
            shown.append(agreement)
    return shown


# --- afspraken ----------------------------------------------------------------------


async def _close_agreement(
    tx: Tx, command: MarkDone | CannotKeep, origin: Origin, settings: ChatSettings, now: datetime
) -> CommandResult:
    number = agreement_label(command.agreement)
    agreement = await tx.agreement(command.agreement)
    if agreement is None:
        return CommandResult(_say(NO_AGREEMENT, settings, number=number))
    if agreement.status is not AgreementStatus.OPEN:
        closed = mark("Agreement {number} is already closed.")
        return CommandResult(_say(closed, settings, number=number))
    if isinstance(command, MarkDone):
        await tx.close_agreement(agreement.id, AgreementStatus.DONE, None, now)
        reply = _say(
            mark("Agreement {number} is done: “{what}”. Thank you!"),
            settings,
            number=number,
            what=Untrusted(agreement.what),
        )
    else:
        await tx.close_agreement(agreement.id, AgreementStatus.CANNOT, command.motivation, now)
        reply = _say(
            mark(
                "Agreement {number} cannot be kept: “{what}”. Motivation from {who}: {motivation}"
            ),
            settings,
            number=number,
            what=Untrusted(agreement.what),
            who=Untrusted(Names(await tx.member_names()).of(origin.sender), 80),
            motivation=Untrusted(command.motivation, 500),
        )
    await materialise(tx, await tx.meetings(), await tx.open_agreements(), settings.engine, now)
    return CommandResult(reply, schedule_changed=True)


# --- items --------------------------------------------------------------------------


async def _open_item(tx: Tx, item_id: ItemId, settings: ChatSettings) -> Item | Reply:
    """The item, or the answer why it cannot be changed."""
    item = await tx.item(item_id)
    if item is None:
        return _say(NO_ITEM, settings, number=item_label(item_id))
    if item.status in (ItemStatus.WITHDRAWN, ItemStatus.REJECTED):
        return _say(CLOSED_ITEM, settings, number=item_label(item_id))
    return item


async def _move(
    tx: Tx, command: MoveItem, origin: Origin, settings: ChatSettings, now: datetime
) -> Reply:
    item = await _open_item(tx, command.item, settings)
    if isinstance(item, Reply):
        return item
    series = await _series_of(tx, item, settings)
    target = await find_meeting(tx, command.meeting, settings, now, series)
    if target is None:
        return _say(UNKNOWN_MEETING, settings, meeting=Untrusted(command.meeting, 60))
    refusal = _unusable(target, now, settings)
    if refusal is not None:
        return refusal
    rules = settings.filing.rules[target.series]
    late = is_late(item.kind, item.received_at, target, rules, settings.tz)
    ready = not late and is_decision_ready(item.kind, item.received_at, target, rules, settings.tz)
    status = item.status if item.status is ItemStatus.AWAITING_ACCEPTANCE else ItemStatus.FILED
    moved = await tx.update_item_assignment(
        item.id,
        meeting_id=target.id,
        late=late,
        decision_ready=ready,
        status=status,
        event="moved",
        detail=change_detail(origin, f"to {target.id}"),
        at=now,
    )
    await notify_sender(tx, ItemChange(Change.MOVED, moved, target), settings, now)
    msgid = (
        mark("{number} moved to {title}, {when} (late for it: not ready for decision).")
        if late
        else mark("{number} moved to {title}, {when}.")
    )
    return _about_meeting(msgid, item.id, target, settings)


def _about_meeting(msgid: str, item_id: ItemId, meeting: Meeting, settings: ChatSettings) -> Reply:
    """A one-line answer naming an item and a meeting, the date in each language's way."""
    return bilingual_reply(
        lambda _: [
            _(msgid, number=item_label(item_id), title=meeting.title, when=_.when(meeting.start))
        ],
        settings.tz,
    )


def _unusable(meeting: Meeting, now: datetime, settings: ChatSettings) -> Reply | None:
    if meeting.cancelled:
        return _say(mark("The meeting {id} is cancelled."), settings, id=meeting.id)
    if utc(meeting.start) <= utc(now):
        return _say(mark("The meeting {id} has already started."), settings, id=meeting.id)
    return None


async def _series_of(tx: Tx, item: Item, settings: ChatSettings) -> SeriesId:
    for meeting_id in (item.meeting, item.moved_from):
        if meeting_id is not None:
            meeting = await tx.meeting(meeting_id)
            if meeting is not None:
                return meeting.series
    return settings.filing.default_series


async def _keep(
    tx: Tx, command: KeepForDiscussion, origin: Origin, settings: ChatSettings, now: datetime
) -> Reply:
    item = await _open_item(tx, command.item, settings)
    if isinstance(item, Reply):
        return item
    number = item_label(item.id)
    original = await tx.meeting(item.moved_from) if item.moved_from else None
    if item.kind is not Kind.STUK or not item.late or original is None:
        return _say(
            mark(
                "{number} is not a late stuk that moved on; only such a stuk can be kept for "
                "discussion."
            ),
            settings,
            number=number,
        )
    refusal = _unusable(original, now, settings)
    if refusal is not None:
        return refusal
    kept = keep_for_discussion(original)
    kept_item = await tx.update_item_assignment(
        item.id,
        meeting_id=original.id,
        late=kept.late,
        decision_ready=kept.decision_ready,
        status=kept.status,
        event="ter_bespreking",
        detail=change_detail(origin, f"kept on {original.id} for discussion, no decision"),
        at=now,
    )
    change = ItemChange(Change.KEPT_FOR_DISCUSSION, kept_item, original)
    await notify_sender(tx, change, settings, now)
    return _about_meeting(
        mark("{number} stays on {title}, {when}: for discussion, no decision."),
        item.id,
        original,
        settings,
    )


_STATUS_CHANGES: dict[type, tuple[str, str]] = {
    WithdrawItem: ("withdrawn", mark("{number} is withdrawn: “{title}”.")),
    AcceptItem: ("accepted", mark("{number} is accepted: “{title}”.")),
    RejectItem: ("rejected", mark("{number} is rejected: “{title}”.")),
}


async def _set_status(
    tx: Tx,
    command: WithdrawItem | AcceptItem | RejectItem,
    origin: Origin,
    settings: ChatSettings,
    now: datetime,
) -> Reply:
    item = await _open_item(tx, command.item, settings)
    if isinstance(item, Reply):
        return item
    number = item_label(item.id)
    awaiting = item.status is ItemStatus.AWAITING_ACCEPTANCE
    if isinstance(command, AcceptItem | RejectItem) and not awaiting:
        return _say(mark("{number} is not awaiting acceptance."), settings, number=number)
    event, msgid = _STATUS_CHANGES[type(command)]
    reason = command.reason if isinstance(command, RejectItem) else ""
    await set_status(
        tx, item, Change(event), _new_status(command, item), reason=reason, origin=origin,
        settings=settings, now=now,
    )  # fmt: skip
    return _say(msgid, settings, number=number, title=Untrusted(item.title))


async def _confidential(
    tx: Tx, command: MarkConfidential, origin: Origin, settings: ChatSettings, now: datetime
) -> Reply:
    """Keep an item off every public surface, or let it back on. Any item may be kept
    back, also a closed one: keeping something private is never refused."""
    item = await tx.item(command.item)
    number = item_label(command.item)
    if item is None:
        return _say(NO_ITEM, settings, number=number)
    if item.confidential is command.confidential:
        already = (
            mark("{number} is already confidential: “{title}”.")
            if command.confidential
            else mark("{number} is not confidential: “{title}”.")
        )
        return _say(already, settings, number=number, title=Untrusted(item.title))
    await tx.set_item_confidential(
        item.id, command.confidential, detail=change_detail(origin), at=now
    )
    msgid = (
        mark(
            "{number} is confidential: “{title}” stays off every public surface (announcement "
            "rooms, public calendar feed and page). Undo: !openbaar {number}"
        )
        if command.confidential
        else mark(
            "{number} is no longer confidential: “{title}” is shown wherever its meeting's "
            "agenda is public."
        )
    )
    return _say(msgid, settings, number=number, title=Untrusted(item.title))


def _new_status(command: WithdrawItem | AcceptItem | RejectItem, item: Item) -> ItemStatus:
    if isinstance(command, WithdrawItem):
        return ItemStatus.WITHDRAWN
    if isinstance(command, RejectItem):
        return ItemStatus.REJECTED
    return ItemStatus.FILED if item.meeting is not None else ItemStatus.UNPLANNED
