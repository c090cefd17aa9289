"""Carrying out what a chat message asks, inside the event's own store transaction.

Every function here runs in the caller's ``Tx`` and only writes: the item or
afspraak, its audit trail, and the answer as outbox rows keyed by the event
(``chat/<event id>/reply``, ``.../ack``), so the event, its effects and its
handled mark commit together and a re-run can never double an answer.
Who may ask is decided before (:mod:`daemon.chat.intake`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from daemon.chat.afspraak import RecordAgreement
from daemon.chat.markup import plain
from daemon.chat.parsing import FileItem
from daemon.chat.replies import (
    FiledFacts,
    Reply,
    agreement_question,
    agreement_reply,
    already_filed_reply,
    filed_reply,
    short_filed_reply,
)
from daemon.engine.scheduler import EngineSettings, materialise
from daemon.filing.submission import (
    Filed,
    FilingRules,
    IncomingDocument,
    Submission,
    file_submission,
)
from daemon.model import Item, ItemId, Meeting, SeriesId
from daemon.ports.outbox import ChannelName, ChatPost, ChatReaction, NewEffect
from daemon.publish.item_posts import Sender, item_post_key, new_item_post
from daemon.publish.room_feed import queue_item_post
from daemon.rules.assignment import deadline, next_meeting
from daemon.rules.names import Names
from daemon.rules.visibility import (
    PRIVATE,
    Asker,
    ItemState,
    MeetingState,
    Part,
    SeriesVisibility,
    Surface,
    may_show,
    meeting_state,
)
from daemon.safe_text import is_blank, untrusted
from daemon.store import Tx

log = logging.getLogger("wijkbode.chat")

CONFIRMED = "✅"

__all__ = [
    "CONFIRMED",
    "ChatSettings",
    "Origin",
    "Target",
    "file_from_chat",
    "pinned_title",
    "record_agreement",
    "safe_filename",
    "send_reply",
]


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """What carrying out chat requests needs from the configuration."""

    filing: FilingRules
    engine: EngineSettings
    core_room: str | None = None  # where new items are posted (an id or an alias)
    mail_address: str | None = None  # our address: change notices to mail senders go from it
    # Which series are public; a series missing here counts as private (fail closed).
    visibility: Mapping[SeriesId, SeriesVisibility] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return self.filing.timezone

    def shows(self, series: SeriesId | None, origin: Origin) -> bool:
        """Whether ``series`` may be shown where ``origin`` asked (``None``: the core group's
        own, e.g. an afspraak of no meeting). The one rule: :mod:`daemon.rules.visibility`."""
        seen = PRIVATE if series is None else self.visibility.get(series, PRIVATE)
        return may_show(seen, origin.surface, origin.asker)

    def shows_of(
        self,
        meeting: Meeting,
        origin: Origin,
        now: datetime,
        part: Part = Part.DATES,
        item: Item | None = None,
    ) -> bool:
        """Whether ``part`` of ``meeting`` (and of ``item`` on it) may be shown where
        ``origin`` asked at ``now``: the same rule, with the meeting's publication and
        agenda moments and the item's state (confidential, awaiting acceptance)."""
        seen = self.visibility.get(meeting.series, PRIVATE)
        return may_show(
            seen,
            origin.surface,
            origin.asker,
            part,
            meeting=self.meeting_state(meeting, now),
            item=None if item is None else ItemState.of(item),
        )

    def meeting_state(self, meeting: Meeting, now: datetime) -> MeetingState:
        """What of ``meeting`` is out by time; a series without rules here is private."""
        rules = self.filing.rules.get(meeting.series)
        if rules is None:
            return MeetingState(published=False, agenda_out=False)
        return meeting_state(meeting, rules, self.tz, now)


@dataclass(frozen=True, slots=True)
class Origin:
    """The event that asked: answers go to its room, in its thread, keyed by its id."""

    room_id: str
    event_id: str
    sender: str
    at: datetime  # the server's timestamp of the event
    thread_root: str | None = None
    # Where it was asked; the intake always says. Anywhere but the core room is public.
    surface: Surface = Surface.CORE_ROOM
    reply_to: str | None = None  # answer this event instead (a 📌 is answered on its message)
    # A room relayed to WhatsApp by mautrix-whatsapp: short confirmations, since the
    # ✅ and the thread never arrive there (docs/whatsapp.md).
    bridged: bool = False

    @property
    def public(self) -> bool:
        """Read by people outside the core group: hide submitters and unvetted items."""
        return self.surface is not Surface.CORE_ROOM

    @property
    def asker(self) -> Asker:
        """In the core room the sender is a member (its members are the core group);
        elsewhere the room reads the answer too, so the sender counts as anyone."""
        return Asker.CORE_MEMBER if self.surface is Surface.CORE_ROOM else Asker.OTHER


@dataclass(frozen=True, slots=True)
class Target:
    """The message a filing confirms: the filing message itself, or the one pinned with 📌."""

    event_id: str
    thread_root: str | None = None

    @property
    def thread(self) -> str:
        """A thread cannot start inside a thread: answer in the message's own thread."""
        return self.thread_root or self.event_id


async def send_reply(
    tx: Tx, origin: Origin, reply: Reply, now: datetime, *, suffix: str = "reply"
) -> None:
    """Answer ``origin`` as a reply (in its thread, if it was in one)."""
    post = ChatPost(
        body=reply.body,
        html=reply.html,
        reply_to=origin.reply_to or origin.event_id,
        thread_root=origin.thread_root,
    )
    key = f"chat/{origin.event_id}/{suffix}"
    await tx.enqueue(NewEffect(ChannelName.MATRIX, origin.room_id, key, post), now=now)


async def file_from_chat(
    tx: Tx,
    request: FileItem,
    origin: Origin,
    target: Target,
    settings: ChatSettings,
    now: datetime,
    *,
    submitter: str | None = None,
    documents: Sequence[IncomingDocument] = (),
) -> ItemId:
    """File the request as an item, post it to the feed, confirm it in a thread with ✅.

    ``submitter`` (default: the sender) is credited, e.g. the author of a pinned message.
    A message already filed gets a note instead of a second item.
    """
    earlier = await tx.item_for_chat_event(target.event_id)
    if earlier is not None:
        await _already_filed_once(tx, origin, target, earlier, settings, now)
        return earlier
    submission = Submission(
        kind=request.kind,
        title=request.title,
        text=request.text,
        submitter=submitter or origin.sender,
        received_at=origin.at,
        source="chat",
        series=request.series,
        on_date=request.on_date,
        direct=request.direct,
        documents=tuple(documents),
    )
    filed = await file_submission(tx, submission, settings.filing)
    item_id = filed.item.id
    await tx.record_chat_item(target.event_id, origin.room_id, item_id)
    # One line per event, by ids: the sender's Matrix id and name stay out of the log.
    log.info(
        "chat event %s in %s filed as item %s (%s, meeting %s, %s%s)",
        target.event_id, origin.room_id, item_id, filed.item.kind.value, filed.item.meeting,
        filed.item.status.value, ", late" if filed.item.late else "",
    )  # fmt: skip
    names = Names(await tx.member_names())
    await _post_to_core_room(tx, filed, settings, now, names)
    credited = names.of(submitter) if submitter and submitter != origin.sender else None
    facts = _facts(filed, request.direct, credited, settings.filing)
    reply = (short_filed_reply if origin.bridged else filed_reply)(facts, settings.tz)
    await _confirm(tx, origin, target, reply, now)
    return item_id


async def _already_filed_once(
    tx: Tx, origin: Origin, target: Target, item_id: ItemId, settings: ChatSettings, now: datetime
) -> None:
    """Say once per message that it was filed already: the answer is keyed by the message,
    not by the 📌, so in a storm of 📌 on one message every later one adds nothing."""
    reply = already_filed_reply(item_id, settings.tz)
    post = ChatPost(
        body=reply.body,
        html=reply.html,
        reply_to=origin.reply_to or origin.event_id,
        thread_root=origin.thread_root,
    )
    key = f"chat/{target.event_id}/already-filed"
    await tx.enqueue(NewEffect(ChannelName.MATRIX, origin.room_id, key, post), now=now)


async def _post_to_core_room(
    tx: Tx, filed: Filed, settings: ChatSettings, now: datetime, names: Names
) -> None:
    """The core room hears of the new item like of every other one, through the room feed
    (a burst becomes one digest)."""
    if settings.core_room is None:
        return
    post = new_item_post(filed, Sender("", names.of(filed.item.submitter)), settings.filing)
    await queue_item_post(tx, item_post_key(filed.item.id), filed.item.id, post, now)


async def _confirm(tx: Tx, origin: Origin, target: Target, reply: Reply, now: datetime) -> None:
    """The thread reply on the target message, then ✅ on it, in this order."""
    in_thread = target.thread_root is not None
    post = ChatPost(
        body=reply.body,
        html=reply.html,
        thread_root=target.thread,
        reply_to=target.event_id if in_thread else None,
    )
    room = origin.room_id
    await tx.enqueue(
        NewEffect(ChannelName.MATRIX, room, f"chat/{origin.event_id}/reply", post), now=now
    )
    await tx.enqueue(
        NewEffect(
            ChannelName.MATRIX,
            room,
            f"chat/{target.event_id}/ack",
            ChatReaction(event_id=target.event_id, key=CONFIRMED),
        ),
        now=now,
    )


def _facts(filed: Filed, direct: bool, credited: str | None, rules: FilingRules) -> FiledFacts:
    item, meeting, intended = filed.item, filed.assignment.meeting, filed.intended
    missed = None
    if item.late and intended is not None and intended.series in rules.rules:
        missed = deadline(intended, item.kind, rules.rules[intended.series], rules.timezone)
    return FiledFacts(
        item_id=item.id,
        kind=item.kind,
        title=item.title,
        meeting_title=meeting.title if meeting else None,
        meeting_start=meeting.start if meeting else None,
        late=item.late,
        decision_ready=item.decision_ready,
        direct=direct and not item.late,
        intended_start=intended.start if intended else None,
        missed=missed,
        documents=tuple(d.filename for d in item.documents),
        credited=credited,
        unknown_day=filed.hint.on if filed.hint and filed.hint.named is None else None,
        cancelled_start=(
            intended.start
            if intended is not None and intended.cancelled and meeting != intended
            else None
        ),
    )


async def record_agreement(
    tx: Tx, request: RecordAgreement, origin: Origin, settings: ChatSettings, now: datetime
) -> bool:
    """Record a complete afspraak (and its reminders), or ask for what is missing.

    Returns whether the schedule changed.
    """
    due, meeting = request.due, None
    if request.next_meeting is not None:
        # "voor de volgende vergadering": the day of the series' next meeting, as
        # the rules find it (not cancelled, not started).
        wanted = request.next_meeting.series
        series = SeriesId(wanted) if wanted else settings.filing.default_series
        meeting = next_meeting(await tx.meetings(series), origin.at)
        due = meeting.start.astimezone(settings.tz).date() if meeting else None
    if not request.what or request.owner is None or due is None:
        no_meeting = request.next_meeting is not None and meeting is None
        question = agreement_question(request, settings.tz, no_meeting=no_meeting)
        await send_reply(tx, origin, question, now)
        return False
    agreement = await tx.add_agreement(
        request.what, request.owner, due, origin.at, meeting.id if meeting else None
    )
    await materialise(tx, await tx.meetings(), await tx.open_agreements(), settings.engine, now)
    reply = agreement_reply(
        agreement.id,
        agreement.what,
        Names(await tx.member_names()).of(agreement.owner),
        agreement.due,
        settings.tz,
        (meeting.title, meeting.start) if meeting else None,
    )
    await send_reply(tx, origin, reply, now)
    return True


def pinned_title(body: str, documents: Sequence[IncomingDocument]) -> tuple[str, str]:
    """A pinned message's first line as title (else its file name); the rest is the text."""
    lines = body.replace("\r\n", "\n").split("\n")
    while lines and is_blank(lines[0]):  # zero-width characters show as nothing too
        lines.pop(0)
    if not lines:
        return (documents[0].filename if documents else "(bericht zonder tekst)"), ""
    return " ".join(plain(lines[0]).split())[:200], "\n".join(lines[1:]).strip()


_UNSAFE_IN_NAMES = str.maketrans({"/": "_", "\\": "_", "\x00": ""})


def safe_filename(name: str) -> str:
    """A display name for a stored file: no path, no control or direction characters."""
    cleaned = untrusted(name.translate(_UNSAFE_IN_NAMES), 120).replace("\u2060", "")
    return cleaned.strip(" .") or "bestand"
