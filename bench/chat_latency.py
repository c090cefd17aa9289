"""How long from a member's ``Agendapunt: ...`` to Wijkbode's confirmation, next to an echo bot.

    python bench/chat_latency.py [--messages 50] [--plain]

Starts the harness' Synapse on loopback; one member (a real nio client with
an E2EE store) is in two encrypted rooms (``--plain``: two unencrypted ones)
and sends the same kind of message, one at a time, alternating between them
(and which goes first), after one warm-up message each that is not counted
(the first encrypted message also shares the room keys):

- floor: a bare matrix-nio echo bot on its own account in its own room
  (``sync_forever`` and an event callback; with encryption and an E2EE store
  when the room is encrypted, without with ``--plain``) that answers each of
  the member's messages with a short text (a reply to it), sharing its room
  key with every device in the room as Wijkbode does.
- Wijkbode: its chat side in this process (Matrix client with E2EE, chat
  intake, SQLite with synchronous=FULL, outbox with the Matrix channel),
  which files the ``Agendapunt:`` and confirms it in a thread reply.

Each latency runs from just before the member sends to the moment the
member's own sync delivers the answer (decrypted), so it covers both syncs
and the answer's send; Wijkbode's adds the filing transaction and the
outbox. Both medians and p95 are printed with the ratio of the medians and
the goal of issue 14: at most 2× the echo bot.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import nio
from common import latency_spread, run_folder

from connectors.matrix.channel import MatrixChannel
from connectors.matrix.client import MatrixChatClient
from connectors.matrix.session import MatrixSettings
from connectors.matrix.setup import StoreHandledEvents
from daemon.chat.actions import ChatSettings
from daemon.chat.intake import ChatIntake, ChatIntakeSettings
from daemon.clock import SystemClock
from daemon.config import Config, parse_config
from daemon.engine.outbox import Outbox
from daemon.engine.plan_sync import sync_plan
from daemon.engine.scheduler import EngineSettings
from daemon.filing.submission import FilingRules
from daemon.store import Store
from harness.synapse import SynapseServer

WAIT_S = 60.0
GOAL = 2.0  # issue 14: at most twice the bare echo bot
ECHO = "ontvangen"


def config_in(run_dir: Path) -> Config:
    first = date.today() + timedelta(days=30)
    text = f"""\
timezone = "Europe/Amsterdam"
state_dir = "{run_dir / "state"}"
[series.wijkalliantie]
title = "Wijkalliantie"
[series.wijkalliantie.plan]
dates = [{first}T19:30:00, {first + timedelta(days=42)}T19:30:00]
"""
    return parse_config(text, run_dir / "wijkbode.toml")


class Member:
    """A core-group member on its own nio client with an E2EE store."""

    def __init__(self, synapse: SynapseServer, user_id: str, password: str, store: Path) -> None:
        store.mkdir(parents=True)
        config = nio.AsyncClientConfig(encryption_enabled=True, pickle_key=secrets.token_hex(8))
        self.client = nio.AsyncClient(
            synapse.base_url, user_id, store_path=str(store), config=config
        )
        self.password = password

    async def sync(self, long_poll_ms: int = 0) -> Any:
        answer = await self.client.sync(timeout=long_poll_ms, full_state=long_poll_ms == 0)
        assert isinstance(answer, nio.SyncResponse), answer
        await self.client.send_to_device_messages()
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        if self.client.should_query_keys:
            await self.client.keys_query()
        return answer

    async def wait_for_reply(self, room_id: str, root: str, sender: str) -> None:
        """Until ``sender``'s answer to ``root`` arrives: a thread reply or a plain reply."""
        async with asyncio.timeout(WAIT_S):
            while True:
                answer = await self.sync(long_poll_ms=30_000)
                room = answer.rooms.join.get(room_id)
                for event in room.timeline.events if room else []:
                    if event.sender == sender and root in _answers_to(event):
                        return


def _answers_to(event: Any) -> set[str]:
    relation = event.source.get("content", {}).get("m.relates_to") or {}
    return {relation.get("event_id"), (relation.get("m.in_reply_to") or {}).get("event_id")}


class EchoBot:
    """The floor: a bare matrix-nio bot that answers each of one member's messages."""

    def __init__(self, synapse: SynapseServer, user_id: str, store: Path, encrypted: bool) -> None:
        store.mkdir(parents=True)
        config = nio.AsyncClientConfig(
            encryption_enabled=encrypted, pickle_key=secrets.token_hex(8)
        )
        self.client = nio.AsyncClient(
            synapse.base_url, user_id, store_path=str(store), config=config
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self, password: str, room_id: str, member: str) -> None:
        login = await self.client.login(password, device_name="echo")
        assert isinstance(login, nio.LoginResponse), login
        joined = await self.client.join(room_id)
        assert isinstance(joined, nio.JoinResponse), joined
        first = await self.client.sync(full_state=True)  # what came before is not answered
        assert isinstance(first, nio.SyncResponse), first

        async def answer(room: nio.MatrixRoom, event: nio.RoomMessageText) -> None:
            if room.room_id != room_id or event.sender != member:
                return
            if self.client.should_query_keys:  # a device new to the room: know it first
                await self.client.keys_query()
            content = {"msgtype": "m.text", "body": ECHO,
                       "m.relates_to": {"m.in_reply_to": {"event_id": event.event_id}}}  # fmt: skip
            sent = await self.client.room_send(
                room_id, "m.room.message", content, ignore_unverified_devices=True
            )
            assert isinstance(sent, nio.RoomSendResponse), sent

        self.client.add_event_callback(answer, nio.RoomMessageText)  # type: ignore[arg-type]
        self._task = asyncio.create_task(self.client.sync_forever(timeout=30_000))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.client.close()


async def measure(count: int, encrypted: bool, run_dir: Path) -> tuple[list[float], list[float]]:
    """The echo bot's and Wijkbode's latencies, ``count`` messages each."""
    synapse = SynapseServer(run_dir / "synapse")
    await synapse.start()
    try:
        return await _measure_with(synapse, count, encrypted, run_dir)
    finally:
        await synapse.stop()


async def _measure_with(
    synapse: SynapseServer, count: int, encrypted: bool, run_dir: Path
) -> tuple[list[float], list[float]]:
    bot_id, bot_password = await synapse.register_user(
        f"wijkbode{secrets.token_hex(3)}", "bench-pw-1"
    )
    member_id, member_password = await synapse.register_user(
        f"lid{secrets.token_hex(3)}", "bench-pw-2"
    )
    echo_id, echo_password = await synapse.register_user(
        f"echo{secrets.token_hex(3)}", "bench-pw-3"
    )
    member = Member(synapse, member_id, member_password, run_dir / "member")
    login = await member.client.login(member_password, device_name="bench")
    assert isinstance(login, nio.LoginResponse), login
    await member.sync()
    room = await _new_room(member, bot_id, encrypted)
    echo_room = await _new_room(member, echo_id, encrypted)
    echo = EchoBot(synapse, echo_id, run_dir / "echo", encrypted)

    config = config_in(run_dir)
    store = await Store.open(config.state_dir)
    clock = SystemClock()
    await sync_plan(store, config, clock.now())
    client = MatrixChatClient(
        MatrixSettings(synapse.base_url, bot_id, config.state_dir, password=bot_password),
        handled=StoreHandledEvents(store),
    )
    ready = asyncio.Event()
    outbox = Outbox(store, clock, [MatrixChannel(client, store.documents, ready)])
    settings = ChatIntakeSettings(
        ChatSettings(FilingRules.from_config(config), EngineSettings.from_config(config)),
        core_room=room,
    )
    intake = ChatIntake(client, store, clock, settings, on_committed=outbox.wake, ready=ready)
    tasks = [
        asyncio.create_task(intake.run()),
        *(asyncio.create_task(r()) for r in outbox.runners()),
    ]
    floor: list[float] = []
    latencies: list[float] = []
    sides = [(echo_room, echo_id, floor), (room, bot_id, latencies)]
    try:
        await echo.start(echo_password, echo_room, member_id)
        await _wait_joined(member, room, bot_id)
        await _wait_joined(member, echo_room, echo_id)
        # One warm-up round: the first encrypted message also shares the room keys.
        for n in range(count + 1):
            for target, answerer, seconds in sides if n % 2 else sides[::-1]:
                took = await _round_trip(member, target, answerer, f"Agendapunt: Punt {n}")
                if n > 0:
                    seconds.append(took)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await echo.stop()
        await client.close()
        await member.client.close()
        await store.close()
    return floor, latencies


async def _new_room(member: Member, invite: str, encrypted: bool) -> str:
    state = [{"type": "m.room.encryption", "state_key": "",
              "content": {"algorithm": "m.megolm.v1.aes-sha2"}}] if encrypted else []  # fmt: skip
    created = await member.client.room_create(invite=[invite], initial_state=state)
    assert isinstance(created, nio.RoomCreateResponse), created
    return str(created.room_id)


async def _round_trip(member: Member, room: str, answerer: str, text: str) -> float:
    """Seconds from just before the member sends ``text`` until ``answerer``'s answer arrives."""
    await member.sync()
    started = time.perf_counter()
    sent = await member.client.room_send(
        room, "m.room.message", {"msgtype": "m.text", "body": text},
        ignore_unverified_devices=True,
    )  # fmt: skip
    assert isinstance(sent, nio.RoomSendResponse), sent
    await member.wait_for_reply(room, sent.event_id, answerer)
    return time.perf_counter() - started


async def _wait_joined(member: Member, room_id: str, user_id: str) -> None:
    async with asyncio.timeout(WAIT_S):
        while True:
            await member.sync(long_poll_ms=1_000)
            room = member.client.rooms.get(room_id)
            if room is not None and user_id in room.users and not room.users[user_id].invited:
                return


def report(floor: list[float], latencies: list[float], encrypted: bool) -> str:
    kind = "encrypted" if encrypted else "unencrypted"
    ratio = statistics.median(latencies) / statistics.median(floor)
    verdict = "met" if ratio <= GOAL else "not met"
    return "\n".join([
        f"messages: {len(latencies)} ({kind} room) to each, alternating (after one warm-up each)",
        f"floor, a bare matrix-nio echo bot (member's message to its answer):"
        f" {latency_spread(floor)}",
        f"member's message to Wijkbode's confirmation: {latency_spread(latencies)}",
        f"ratio: {ratio:.2f}× the floor (medians); goal ≤ {GOAL:g}×: {verdict}",
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--plain", action="store_true", help="an unencrypted room")
    args = parser.parse_args()
    with run_folder() as run_dir:
        floor, latencies = asyncio.run(measure(args.messages, not args.plain, run_dir))
    print(report(floor, latencies, not args.plain))


if __name__ == "__main__":
    main()
