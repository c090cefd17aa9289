"""Wijkbode's chat side in-process against the harness Synapse, and members who watch the room.

``Wijkbode`` runs the real pieces: the store, the Matrix client, the chat
intake and the outbox with the Matrix channel. ``Watcher`` is a core-group
member (a real nio client, see ``matrix_helpers.Member``) who keeps every
event it syncs, so a test can wait for Wijkbode's answers in any order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import nio
from matrix_helpers import WAIT_S, Account, Member, register, wait_joined

from connectors.matrix.channel import MatrixChannel
from connectors.matrix.client import MatrixChatClient
from connectors.matrix.session import MatrixSettings
from connectors.matrix.setup import StoreHandledEvents
from daemon.backoff import Backoff
from daemon.chat.actions import ChatSettings
from daemon.chat.answer_limit import AnswerLimit
from daemon.chat.intake import ChatIntake, ChatIntakeSettings, series_visibility
from daemon.clock import SystemClock
from daemon.config import Config, load_config
from daemon.engine.outbox import Outbox
from daemon.engine.plan_sync import sync_plan
from daemon.engine.scheduler import EngineSettings
from daemon.filing.submission import FilingRules
from daemon.model import Item
from daemon.publish.room_feed import FeedSettings, RoomFeed
from daemon.publish.scheduled import Targets
from daemon.store import Store
from harness.synapse import SynapseServer

STOP_WAIT_S = 30.0  # a stopped task that is still running after this is hung

# --- the configuration: two meetings relative to today --------------------------------

TODAY = date.today()
# The first meeting is 10 days away: its agendapunt (T-15d) and stuk (T-14d)
# deadlines have passed, ter kennisgeving (T-7d) and actualiteit (T-48h) not yet.
FIRST = TODAY + timedelta(days=10)
SECOND = TODAY + timedelta(days=60)

CONFIG = """\
timezone = "Europe/Amsterdam"
state_dir = "state"
default_series = "wijkalliantie"

[series.wijkalliantie]
title = "Wijkalliantie"
public = true
duration = "2h"

[series.wijkalliantie.plan]
dates = [{first}T19:30:00, {second}T19:30:00]
"""


def meeting_id(day: date) -> str:
    return f"wijkalliantie-{day.isoformat()}"


def write_config(directory: Path, extra: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "wijkbode.toml"
    path.write_text(CONFIG.format(first=FIRST, second=SECOND) + extra)
    return path


def plain_config(directory: Path, extra: str = "") -> Config:
    return load_config(write_config(directory, extra), state_dir_override=directory / "state")


# --- Wijkbode in-process ---------------------------------------------------------------


@dataclass
class Wijkbode:
    """The chat intake and the Matrix outbox of one Wijkbode, running as tasks."""

    config: Config
    store: Store
    client: MatrixChatClient
    intake: ChatIntake
    outbox: Outbox
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def user_id(self) -> str:
        return self.client.user_id

    def check_alive(self) -> None:
        for task in self.tasks:
            if task.done():
                task.result()

    async def items(self) -> list[Item]:
        async with self.store.reading() as tx:
            found = [i for m in await tx.meetings() for i in await tx.items_for_meeting(m.id)]
            found += await tx.items_without_meeting()
        return sorted(found, key=lambda item: item.id)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        # A task that swallows its cancellation would hang the suite here: fail instead.
        async with asyncio.timeout(STOP_WAIT_S):
            for task in self.tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.client.close()
        await self.store.close()


@dataclass(frozen=True)
class Setup:
    """Where Wijkbode lives and what its configuration says about rooms."""

    state_dir: Path
    core_room: str | None
    announce_rooms: tuple[str, ...] = ()
    admins: tuple[str, ...] = ()
    min_power_level: int = 0
    config_extra: str = ""  # more TOML after the base configuration (another series)
    bridged_rooms: tuple[str, ...] = ()  # relayed to WhatsApp ([matrix] bridged_rooms)
    ignore_users: tuple[str, ...] = ()  # other bots ([matrix] ignore_users)


def _engine(config: Config, setup: Setup) -> EngineSettings:
    """The engine's settings as a ``[matrix]`` section naming these rooms would give them."""
    targets = Targets(core_room=setup.core_room, announce_rooms=setup.announce_rooms)
    return replace(EngineSettings.from_config(config), targets=targets)


async def start_wijkbode(
    synapse: SynapseServer,
    account: Account,
    setup: Setup,
    *,
    answer_limit: AnswerLimit | None = None,
) -> Wijkbode:
    """Start the store, the client (first sync done), the intake and the Matrix dispatcher.

    ``answer_limit``: the per-member limit outside the core room (on a held clock in a
    test that floods it); the daemon's own by default."""
    config = plain_config(setup.state_dir, setup.config_extra)
    clock = SystemClock()
    store = await Store.open(config.state_dir)
    await sync_plan(store, config, clock.now())
    settings = MatrixSettings(
        homeserver=synapse.base_url,
        user_id=account.user_id,
        state_dir=config.state_dir,
        password=account.password,
        sync_timeout_ms=1_000,
    )
    client = MatrixChatClient(settings, handled=StoreHandledEvents(store))
    ready = asyncio.Event()
    outbox = Outbox(
        store,
        clock,
        [MatrixChannel(client, store.documents, ready)],
        backoff=Backoff(base=0.5, cap=3.0),
        poll_seconds=0.5,
    )
    intake_settings = ChatIntakeSettings(
        ChatSettings(
            FilingRules.from_config(config),
            _engine(config, setup),
            setup.core_room,
            visibility=series_visibility(config),
        ),
        core_room=setup.core_room,
        announce_rooms=setup.announce_rooms,
        admins=setup.admins,
        min_power_level=setup.min_power_level,
        bridged_rooms=setup.bridged_rooms,
        ignore_users=setup.ignore_users,
    )
    runners = outbox.runners()
    wake = [outbox.wake]
    if setup.core_room is not None:
        feed_settings = FeedSettings(setup.core_room, quiet_seconds=0.3, poll_seconds=1.0)
        feed = RoomFeed(store, clock, feed_settings, on_enqueued=outbox.wake)
        runners.append(feed.run)
        wake.append(feed.wake)

    def committed() -> None:
        for call in wake:
            call()

    intake = ChatIntake(
        client,
        store,
        clock,
        intake_settings,
        on_committed=committed,
        ready=ready,
        answer_limit=answer_limit,
    )
    bot = Wijkbode(config, store, client, intake, outbox)
    bot.tasks = [asyncio.create_task(run()) for run in [intake.run, *runners]]
    async with asyncio.timeout(WAIT_S):
        await ready.wait()
        await client.wait_until_synced()
    return bot


# --- members who watch ------------------------------------------------------------------


class Watcher(Member):
    """A member who records every room event it syncs (decrypting late when keys arrive)."""

    def __init__(self, synapse: SynapseServer, account: Account, store: Path) -> None:
        super().__init__(synapse, account.user_id, account.password, store)
        self.seen: list[tuple[str, Any]] = []

    async def sync(self) -> Any:
        answer = await super().sync()
        self._record(answer)
        return answer

    def _record(self, answer: Any) -> None:
        for room_id, room in answer.rooms.join.items():
            self.seen.extend((room_id, event) for event in room.timeline.events)

    async def poll(self) -> None:
        answer = await self.client.sync(timeout=300)
        assert isinstance(answer, nio.SyncResponse), answer
        await self._keys()
        self._record(answer)
        self._decrypt_late()

    def _decrypt_late(self) -> None:
        for index, (room_id, event) in enumerate(self.seen):
            if isinstance(event, nio.MegolmEvent):
                with contextlib.suppress(nio.EncryptionError):
                    decrypted = self.client.decrypt_event(event)
                    self.seen[index] = (room_id, decrypted)

    def events(self, room_id: str) -> list[dict[str, Any]]:
        """The (decrypted) sources of everything seen in ``room_id``, oldest first."""
        return [e.source for r, e in self.seen if r == room_id and hasattr(e, "source")]

    async def wait(
        self,
        room_id: str,
        predicate: Callable[[list[dict[str, Any]]], bool],
        bot: Wijkbode | None = None,
    ) -> list[dict[str, Any]]:
        async with asyncio.timeout(WAIT_S):
            while not predicate(self.events(room_id)):
                if bot is not None:
                    bot.check_alive()
                await self.poll()
        return self.events(room_id)

    async def send(
        self, room_id: str, content: dict[str, Any], event_type: str = "m.room.message"
    ) -> str:
        await self.sync()
        answer = await self.client.room_send(
            room_id, event_type, content, ignore_unverified_devices=True
        )
        assert isinstance(answer, nio.RoomSendResponse), answer
        return str(answer.event_id)

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        relation = {"rel_type": "m.annotation", "event_id": event_id, "key": key}
        return await self.send(room_id, {"m.relates_to": relation}, "m.reaction")

    async def upload(
        self, room_id: str, data: bytes, filename: str, caption: str, encrypted: bool
    ) -> str:
        await self.sync()
        if encrypted:
            upload, keys = await self.client.upload(
                lambda *_: data, "application/pdf", filename, encrypt=True, filesize=len(data)
            )
            media: dict[str, Any] = {"file": {**keys, "url": upload.content_uri}}
        else:
            upload, _ = await self.client.upload(
                lambda *_: data, "application/pdf", filename, filesize=len(data)
            )
            media = {"url": upload.content_uri}
        content = {
            "msgtype": "m.file",
            "body": caption,
            "filename": filename,
            "info": {"mimetype": "application/pdf", "size": len(data)},
            **media,
        }
        return await self.send(room_id, content)


async def new_watcher(synapse: SynapseServer, prefix: str, store: Path) -> Watcher:
    account = await register(synapse, prefix)
    watcher = Watcher(synapse, account, store / f"{prefix}-{secrets.token_hex(3)}")
    await watcher.login()
    return watcher


async def room_with_bot(
    owner: Watcher, bot_user: str, *, encrypted: bool, members: Sequence[Watcher] = ()
) -> str:
    """A room made by ``owner`` with the bot and ``members`` invited (they join at once)."""
    room_id = await owner.create_room(
        encrypted=encrypted, invite=[bot_user, *(m.user_id for m in members)]
    )
    for member in members:
        await member.sync()
        answer = await member.client.join(room_id)
        assert isinstance(answer, nio.JoinResponse), answer
        await member.sync()
    return room_id


async def wait_bot_in(owner: Watcher, room_id: str, bot: Wijkbode) -> None:
    """The bot accepted its invite and knows the room (so it can answer there)."""
    await wait_joined(owner, room_id, bot.user_id)
    client = bot.client.nio_client
    async with asyncio.timeout(WAIT_S):
        while room_id not in client.rooms or bot.user_id not in client.rooms[room_id].users:
            bot.check_alive()
            await asyncio.sleep(0.05)


# --- what Wijkbode said -----------------------------------------------------------------


def from_bot(events: list[dict[str, Any]], bot: Wijkbode) -> list[dict[str, Any]]:
    return [e for e in events if e.get("sender") == bot.user_id]


def replies_to(events: list[dict[str, Any]], bot: Wijkbode, event_id: str) -> list[dict[str, Any]]:
    """Wijkbode's notices answering ``event_id``: in its thread, or as a reply to it."""
    found = []
    for event in from_bot(events, bot):
        content = event.get("content") or {}
        relation = content.get("m.relates_to") or {}
        reply = (relation.get("m.in_reply_to") or {}).get("event_id")
        if content.get("msgtype") == "m.notice" and event_id in (relation.get("event_id"), reply):
            found.append(event)
    return found


def reactions_on(events: list[dict[str, Any]], bot: Wijkbode, event_id: str) -> list[str]:
    keys = []
    for event in from_bot(events, bot):
        relation = (event.get("content") or {}).get("m.relates_to") or {}
        if relation.get("rel_type") == "m.annotation" and relation.get("event_id") == event_id:
            keys.append(str(relation.get("key")))
    return keys


def bodies(events: list[dict[str, Any]]) -> list[str]:
    return [str((e.get("content") or {}).get("body", "")) for e in events]


def dump(events: list[dict[str, Any]]) -> str:
    """For assertion messages."""
    return json.dumps([e.get("content") for e in events], ensure_ascii=False, indent=1)[:4000]
