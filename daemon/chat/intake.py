"""The chat intake: every Matrix event handled once, in one transaction with its effects.

The loop pulls one event at a time from ``ChatClient.events()`` and handles it
completely before pulling the next: whatever it means (an item, an afspraak, a
change) and every answer (outbox rows) commit in ONE transaction together with
``mark_event_handled``. Only then does the connector move past it, so a crash
re-delivers at most this event and a replay skips it.

Network work an event needs (a power level, the pinned message, a file
download, the core room's members for an afspraak's owner) happens before that
transaction. A transient failure there (the homeserver went away) restarts the
event stream after a backoff, so the event comes again; a permanent one is
logged and the event is marked handled with an apology, so one bad event can
never stall the room.

Wijkbode never answers an ``m.notice`` (bots would talk to bots forever) and
never acts on its own messages (the connector drops those).

Outside the core room each member gets a limited number of answers a minute
(:mod:`daemon.chat.answer_limit`): past it, one short notice, then the requests are
handled (marked, as any event) without an answer until the pause is over.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from daemon.chat.access import (
    RoomKind,
    Rooms,
    invite_accepted,
    needs_power_check,
    refusal,
    surface_of,
)
from daemon.chat.actions import (
    ChatSettings,
    Origin,
    Target,
    file_from_chat,
    pinned_title,
    record_agreement,
    safe_filename,
    send_reply,
)
from daemon.chat.afspraak import RecordAgreement, owner_in_room, owner_is_matrix_id, pills
from daemon.chat.answer_limit import Answer, AnswerLimit
from daemon.chat.chat_decisions import (
    DecisionSettings,
    run_decision_command,
    starts_poll,
    take_poll_response,
)
from daemon.chat.commands import run_command
from daemon.chat.decision_requests import DecisionRequest
from daemon.chat.parsing import (
    BadCommand,
    BadFiling,
    FileItem,
    Request,
    UnknownCommand,
    is_pin,
    parse_request,
)
from daemon.chat.replies import (
    POWER_TOO_LOW,
    UNDECRYPTABLE,
    Reply,
    bad_filing_reply,
    line_reply,
    unknown_command_reply,
    usage_reply,
)
from daemon.clock import Clock
from daemon.config import Config
from daemon.engine.scheduler import EngineSettings
from daemon.errors import PermanentError, TransientError
from daemon.filing.submission import FilingRules, IncomingDocument
from daemon.i18n import mark
from daemon.model import Kind, SeriesId
from daemon.ports.chat import (
    ChatClient,
    ChatEvent,
    ChatInvite,
    ChatMessage,
    ChatPollResponse,
    ChatReaction,
    ChatUndecryptable,
)
from daemon.rules.names import Names
from daemon.rules.visibility import SeriesVisibility
from daemon.safe_text import untrusted
from daemon.store import Store, Tx

log = logging.getLogger("wijkbode.chat")

BACKOFF_FIRST_S = 1.0
BACKOFF_CAP_S = 60.0
NOTICE = "m.notice"
FAILED = mark("Sorry, that did not work: {reason}")
UNREADABLE_PIN = mark("I cannot read the message you pinned, so I cannot file it.")
# WINDOW_SECONDS is a minute: the pause after this notice lasts that long.
ANSWERS_PAUSED = mark("You asked me a lot in a short time. I will answer you again in a minute.")


@dataclass(frozen=True, slots=True)
class ChatIntakeSettings:
    """Rooms (ids or aliases) and permissions from the configuration, and the filing rules."""

    chat: ChatSettings
    core_room: str | None = None
    announce_rooms: tuple[str, ...] = ()
    admins: tuple[str, ...] = ()
    min_power_level: int = 0
    # A demo clock runs elsewhere in time than the homeserver: file at the clock's time.
    received_at_from_clock: bool = False
    # Rooms relayed to WhatsApp (short notices), and what belongs to other bots.
    bridged_rooms: tuple[str, ...] = ()
    ignore_prefixes: tuple[str, ...] = ("!wa",)
    ignore_users: tuple[str, ...] = ()
    # Partners and weights for the decision commands (issue 12).
    decisions: DecisionSettings = field(default_factory=DecisionSettings)

    @classmethod
    def from_config(cls, config: Config) -> ChatIntakeSettings:
        matrix = config.matrix
        chat = ChatSettings(
            FilingRules.from_config(config),
            EngineSettings.from_config(config),
            matrix.core_room if matrix else None,
            config.mail.address.lower() if config.mail else None,
            series_visibility(config),
        )
        if matrix is None:
            return cls(chat)
        return cls(
            chat,
            matrix.core_room,
            matrix.announce_rooms,
            matrix.admins,
            matrix.min_power_level,
            bridged_rooms=matrix.bridged_rooms,
            ignore_prefixes=matrix.ignore_prefixes,
            ignore_users=matrix.ignore_users,
        )

    def ignores(self, sender: str, body: str) -> bool:
        return for_other_bots(sender, body, self.ignore_prefixes, self.ignore_users)


def for_other_bots(sender: str, body: str, prefixes: Sequence[str], users: Sequence[str]) -> bool:
    """A message for another bot (``!wa set-relay``) or from one: never answered."""
    if sender in users:
        return True
    text = body.lstrip().casefold()
    return any(_starts_word(text, prefix.casefold()) for prefix in prefixes)


def _starts_word(text: str, prefix: str) -> bool:
    """``!wa set-relay`` starts with ``!wa``; ``!wachten`` does not."""
    if not text.startswith(prefix):
        return False
    rest = text[len(prefix) :]
    return not rest or not prefix[-1:].isalnum() or not rest[0].isalnum()


def series_visibility(config: Config) -> dict[SeriesId, SeriesVisibility]:
    """Each configured series' ``public`` flag, for :mod:`daemon.rules.visibility`."""
    return {sid: SeriesVisibility.of(entry.series) for sid, entry in config.series.items()}


class ChatIntake:
    """Runs the chat client's event stream through the filing core and the commands."""

    def __init__(
        self,
        client: ChatClient,
        store: Store,
        clock: Clock,
        settings: ChatIntakeSettings,
        *,
        on_committed: Callable[[], None] = lambda: None,
        ready: asyncio.Event | None = None,
        answer_limit: AnswerLimit | None = None,
    ) -> None:
        self._client = client
        self._store = store
        self._clock = clock
        self._settings = settings
        self._on_committed = on_committed
        self._ready = ready or asyncio.Event()
        # Answers per member outside the core room (security finding 5); in memory only.
        self._answers = answer_limit or AnswerLimit()
        self.rooms = Rooms(None)
        self.bridged: frozenset[str] = frozenset()
        # The core room's display names as last written to the store (member_names).
        self._names_written: dict[str, str] = {}

    async def run(self) -> None:
        """Start the client, then handle events until cancelled, riding out outages."""
        await self._retrying(self._start)
        failures = 0
        while True:
            events = self._client.events()
            try:
                async for event in events:
                    await self.handle(event)
                    failures = 0
            except (TransientError, sqlite3.OperationalError) as error:
                failures += 1
                delay = _backoff(failures, getattr(error, "retry_after", None))
                log.warning("chat event not handled (%s); again in %.1f s", error, delay)
                await asyncio.sleep(delay)
            finally:
                aclose = getattr(events, "aclose", None)
                if aclose is not None:
                    await aclose()

    async def _start(self) -> None:
        await self._client.start()
        self._ready.set()
        self.rooms = await self._resolve_rooms()
        bridged = [await self._resolve(room) for room in self._settings.bridged_rooms]
        self.bridged = frozenset(room for room in bridged if room is not None)
        log.info(
            "chat: core room %s, %d announcement room(s)", self.rooms.core, len(self.rooms.announce)
        )

    async def _resolve_rooms(self) -> Rooms:
        core = await self._resolve(self._settings.core_room) if self._settings.core_room else None
        announce = [await self._resolve(room) for room in self._settings.announce_rooms]
        return Rooms(core, frozenset(room for room in announce if room is not None))

    async def _resolve(self, room: str) -> str | None:
        try:
            return await self._client.resolve_room(room)
        except PermanentError as error:
            log.error("chat: room %s not found, it is left out: %s", room, error)
            return None

    async def _retrying(self, step: Callable[[], Awaitable[None]]) -> None:
        failures = 0
        while True:
            try:
                await step()
                return
            except TransientError as error:
                failures += 1
                delay = _backoff(failures, error.retry_after)
                log.warning("chat: Matrix not reachable (%s); again in %.1f s", error, delay)
                await asyncio.sleep(delay)

    # --- one event ------------------------------------------------------------------

    async def handle(self, event: ChatEvent) -> None:
        """Handle one event completely; only transient failures propagate (to retry it)."""
        try:
            await self._dispatch(event)
        except (TransientError, sqlite3.OperationalError, asyncio.CancelledError):
            raise
        except Exception as error:
            log.exception("chat: event %s could not be handled", getattr(event, "event_id", event))
            await self._give_up(event, error)

    async def _dispatch(self, event: ChatEvent) -> None:
        if isinstance(event, ChatInvite):
            await self._invite(event)
        elif isinstance(event, ChatMessage):
            await self._message(event)
        elif isinstance(event, ChatReaction):
            await self._reaction(event)
        elif isinstance(event, ChatPollResponse):
            await self._poll_response(event)
        else:
            await self._undecryptable(event)

    async def _poll_response(self, event: ChatPollResponse) -> None:
        """A vote on one of our polls, recorded with the event's handled mark."""
        async with self._handling(event.event_id, event.room_id) as tx:
            received = self._received(event.origin_server_ts)
            await take_poll_response(tx, event, self._clock.now(), received)

    @asynccontextmanager
    async def _handling(self, event_id: str, room_id: str) -> AsyncIterator[Tx]:
        """The event's one transaction: its effects, then its handled mark; wake after commit.

        An event of the core room first records the members' display names that changed,
        so what it causes names people as the room shows them (daemon/rules/names.py).
        """
        changed = await self._changed_names(room_id)
        async with self._store.transaction() as tx:
            if changed:
                await tx.set_member_names(changed, self._clock.now())
            yield tx
            await tx.mark_event_handled(event_id, room_id, self._clock.now())
        self._names_written.update(changed)
        self._on_committed()

    async def _changed_names(self, room_id: str) -> dict[str, str]:
        if room_id != self.rooms.core or self.rooms.core is None:
            return {}
        names = await self._client.member_names(self.rooms.core)
        return {uid: name for uid, name in names.items() if self._names_written.get(uid) != name}

    async def _members(self, room_id: str) -> Names | None:
        """The core room's display names, for a typed ``@name`` in an afspraak there."""
        if room_id != self.rooms.core or self.rooms.core is None:
            return None
        names = await self._client.member_names(self.rooms.core)
        return Names(names)

    async def _mark_only(self, event_id: str, room_id: str) -> None:
        async with self._handling(event_id, room_id):
            pass

    async def _reply_only(self, origin: Origin, reply: Reply) -> None:
        async with self._handling(origin.event_id, origin.room_id) as tx:
            await send_reply(tx, origin, reply, self._clock.now())

    async def _give_up(self, event: ChatEvent, error: Exception) -> None:
        if isinstance(event, ChatInvite):
            return
        reason = untrusted(str(error) or type(error).__name__, 200)
        origin = Origin(event.room_id, event.event_id, event.sender, event.origin_server_ts)
        if self.rooms.configured(event.room_id) and not isinstance(event, ChatUndecryptable):
            if await self._held_back(origin):
                return
            await self._reply_only(origin, line_reply(FAILED, self._tz, reason=reason))
            self._counted(origin)
        else:
            await self._mark_only(event.event_id, event.room_id)

    @property
    def _tz(self) -> ZoneInfo:
        return self._settings.chat.tz

    def _received(self, server_ts: datetime) -> datetime:
        """When an event counts as received: the server's time, or the demo clock's."""
        return self._clock.now() if self._settings.received_at_from_clock else server_ts

    # --- invites, undecryptable -------------------------------------------------------

    async def _invite(self, invite: ChatInvite) -> None:
        if not invite_accepted(invite.room_id, invite.inviter, self.rooms, self._settings.admins):
            # A Matrix id often is a person's name: only at debug level (--verbose).
            log.info("chat: invite to %s ignored (not configured)", invite.room_id)
            log.debug("chat: the ignored invite to %s came from %s", invite.room_id, invite.inviter)
            return
        try:
            await self._client.join(invite.room_id)
        except PermanentError as error:
            log.error("chat: could not join %s: %s", invite.room_id, error)
            return
        log.info("chat: joined %s", invite.room_id)
        log.debug("chat: invited to %s by %s", invite.room_id, invite.inviter)

    async def _undecryptable(self, event: ChatUndecryptable) -> None:
        origin = Origin(event.room_id, event.event_id, event.sender, event.origin_server_ts)
        ignored = event.sender in self._settings.ignore_users
        if self.rooms.configured(event.room_id) and not ignored:
            if await self._held_back(origin):
                return
            await self._reply_only(origin, line_reply(UNDECRYPTABLE, self._tz))
            self._counted(origin)
        else:
            await self._mark_only(event.event_id, event.room_id)

    # --- messages ---------------------------------------------------------------------

    async def _message(self, message: ChatMessage) -> None:
        request = None
        if message.msgtype != NOTICE and not self._settings.ignores(message.sender, message.body):
            request = parse_request(
                message.body,
                received_at=self._received(message.origin_server_ts).astimezone(self._tz),
                known_series=tuple(self._settings.chat.filing.rules),
                mentions=pills(message.formatted_body),
                members=await self._members(message.room_id),
            )
        if request is None:
            await self._mark_only(message.event_id, message.room_id)
            return
        room = self.rooms.kind(message.room_id)
        origin = Origin(
            message.room_id,
            message.event_id,
            message.sender,
            self._received(message.origin_server_ts),
            thread_root=message.thread_root,
            surface=surface_of(room),
            bridged=message.room_id in self.bridged,
        )
        if await self._held_back(origin):
            return
        denied = await self._denied(request, room, message.sender)
        if denied is not None:
            await self._reply_only(origin, denied)
        else:
            await self._carry_out(request, origin, message)
        self._counted(origin)

    # --- the answer limit (security finding 5) -----------------------------------------

    def _limited(self, room_id: str) -> bool:
        """The core group's room is never limited: they file in bursts and are trusted."""
        return self.rooms.core is None or room_id != self.rooms.core

    async def _held_back(self, origin: Origin) -> bool:
        """Whether the answer to ``origin`` is held back by the limit; if so, the event is
        handled here (the one notice, or nothing) like any other, and not retried."""
        if not self._limited(origin.room_id):
            return False
        answer = self._answers.decide(origin.sender)
        if answer is Answer.GIVE:
            return False
        if answer is Answer.NOTICE:
            await self._reply_only(origin, line_reply(ANSWERS_PAUSED, self._tz))
            log.warning(
                "chat: a member in %s asked more than %d times in %.0f s: no answers to them "
                "for %.0f s",
                origin.room_id,
                self._answers.limit,
                self._answers.window_seconds,
                self._answers.window_seconds,
            )
            # A Matrix id often is a person's name: only at debug level (--verbose).
            log.debug("chat: the member without answers is %s", origin.sender)
        else:
            await self._mark_only(origin.event_id, origin.room_id)
        self._answers.record(origin.sender, answer)
        return True

    def _counted(self, origin: Origin) -> None:
        """An answer to ``origin`` was committed: it counts towards the member's limit."""
        if self._limited(origin.room_id):
            self._answers.record(origin.sender, Answer.GIVE)

    async def _denied(self, request: Request, room: RoomKind, sender: str) -> Reply | None:
        reason = refusal(request, room, self.rooms)
        if reason is not None:
            return line_reply(reason, self._tz)
        if not needs_power_check(request, self._settings.min_power_level):
            return None
        if sender in self._settings.admins or self.rooms.core is None:
            return None
        level = await self._client.power_level(self.rooms.core, sender)
        if level >= self._settings.min_power_level:
            return None
        return line_reply(POWER_TOO_LOW, self._tz, level=self._settings.min_power_level)

    async def _carry_out(self, request: Request, origin: Origin, message: ChatMessage) -> None:
        now = self._clock.now()
        tz = self._tz
        if isinstance(request, FileItem):
            documents = await self._documents(message)
            if documents and request.kind is Kind.AGENDAPUNT:
                # RULES.md: an upload with a filing caption is a stuk.
                request = replace(request, kind=Kind.STUK)
            target = Target(message.event_id, message.thread_root)
            async with self._handling(origin.event_id, origin.room_id) as tx:
                await file_from_chat(
                    tx, request, origin, target, self._settings.chat, now, documents=documents
                )
        elif isinstance(request, RecordAgreement):
            if owner_is_matrix_id(request):
                # The owner must be in the room (the core room: afspraken are refused
                # elsewhere), as the homeserver lists its joined members now, not the
                # names synced so far (network: before the tx; security finding 5).
                in_room = await self._client.members(origin.room_id)
                request = owner_in_room(request, in_room)
            async with self._handling(origin.event_id, origin.room_id) as tx:
                await record_agreement(tx, request, origin, self._settings.chat, now)
        elif isinstance(request, BadFiling):
            await self._reply_only(origin, bad_filing_reply(request.problem, tz))
        elif isinstance(request, BadCommand):
            await self._reply_only(origin, usage_reply(request.spec.usage, request.problem, tz))
        elif isinstance(request, UnknownCommand):
            await self._reply_only(
                origin, unknown_command_reply(request.word, request.suggestion, tz)
            )
        elif isinstance(request, DecisionRequest):
            # A poll counts the core room's members when it starts (network: before the tx).
            members: frozenset[str] = frozenset()
            if starts_poll(request) and self.rooms.core is not None:
                members = await self._client.members(self.rooms.core)
                members -= {self._client.user_id}
            async with self._handling(origin.event_id, origin.room_id) as tx:
                reply = await run_decision_command(
                    tx, request, origin, self._settings.chat, self._settings.decisions, now, members
                )
                await send_reply(tx, origin, reply, now)
        else:
            async with self._handling(origin.event_id, origin.room_id) as tx:
                result = await run_command(tx, request, origin, self._settings.chat, now)
                await send_reply(tx, origin, result.reply, now)

    async def _documents(self, message: ChatMessage) -> Sequence[IncomingDocument]:
        """The message's file, downloaded into the document store (before the transaction)."""
        attachment = message.attachment
        if attachment is None:
            return ()
        data = await self._client.download(attachment)
        sha256 = await self._store.documents.put(data)
        name = safe_filename(attachment.filename)
        return (IncomingDocument(sha256, name, attachment.content_type, len(data)),)

    # --- 📌 -----------------------------------------------------------------------------

    async def _reaction(self, reaction: ChatReaction) -> None:
        room = self.rooms.kind(reaction.room_id)
        ignored = reaction.sender in self._settings.ignore_users
        if not is_pin(reaction.key) or room is not RoomKind.CORE or ignored:
            await self._mark_only(reaction.event_id, reaction.room_id)
            return
        origin = Origin(
            reaction.room_id,
            reaction.event_id,
            reaction.sender,
            self._received(reaction.origin_server_ts),
            reply_to=reaction.relates_to,
            bridged=reaction.room_id in self.bridged,
        )
        request = FileItem(Kind.AGENDAPUNT, "-", "")
        denied = await self._denied(request, room, reaction.sender)
        if denied is not None:
            await self._reply_only(origin, denied)
            return
        pinned = await self._client.get_event(reaction.room_id, reaction.relates_to)
        if pinned is None or pinned.sender == self._client.user_id:
            await self._reply_only(origin, line_reply(UNREADABLE_PIN, self._tz))
            return
        await self._file_pinned(origin, pinned)

    async def _file_pinned(self, origin: Origin, pinned: ChatMessage) -> None:
        documents = await self._documents(pinned)
        title, text = pinned_title(pinned.body, documents)
        request = FileItem(Kind.AGENDAPUNT, title, text)
        target = Target(pinned.event_id, pinned.thread_root)
        now = self._clock.now()
        async with self._handling(origin.event_id, origin.room_id) as tx:
            await file_from_chat(
                tx,
                request,
                origin,
                target,
                self._settings.chat,
                now,
                submitter=pinned.sender,
                documents=documents,
            )


def _backoff(failures: int, retry_after: float | None) -> float:
    """Exponential backoff with jitter and a cap; the server's ``retry_after`` wins."""
    if retry_after is not None:
        return retry_after
    base: float = min(BACKOFF_CAP_S, BACKOFF_FIRST_S * 2.0 ** (failures - 1))
    return base * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not cryptography
