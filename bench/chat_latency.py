"""How long from a member's ``Agendapunt: ...`` to Wijkbode's confirmation: median and p95.

    python bench/chat_latency.py [--messages 50] [--plain]

Starts the harness' Synapse on loopback, runs Wijkbode's chat side in this
process (Matrix client with E2EE, chat intake, SQLite with synchronous=FULL,
outbox with the Matrix channel), and lets a member (a second real nio client)
send the messages one at a time in an encrypted room (``--plain``: an
unencrypted one). Each latency runs from just before the member sends to the
moment the member's own sync delivers Wijkbode's thread reply (decrypted),
so it covers both syncs, the filing transaction, and the encrypted send.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
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

    async def wait_for_thread_reply(self, room_id: str, root: str, bot: str) -> None:
        async with asyncio.timeout(WAIT_S):
            while True:
                answer = await self.sync(long_poll_ms=30_000)
                room = answer.rooms.join.get(room_id)
                for event in room.timeline.events if room else []:
                    relation = event.source.get("content", {}).get("m.relates_to") or {}
                    if event.sender == bot and relation.get("event_id") == root:
                        return


async def measure(count: int, encrypted: bool, run_dir: Path) -> list[float]:
    synapse = SynapseServer(run_dir / "synapse")
    await synapse.start()
    try:
        return await _measure_with(synapse, count, encrypted, run_dir)
    finally:
        await synapse.stop()


async def _measure_with(
    synapse: SynapseServer, count: int, encrypted: bool, run_dir: Path
) -> list[float]:
    bot_id, bot_password = await synapse.register_user(
        f"wijkbode{secrets.token_hex(3)}", "bench-pw-1"
    )
    member_id, member_password = await synapse.register_user(
        f"lid{secrets.token_hex(3)}", "bench-pw-2"
    )
    member = Member(synapse, member_id, member_password, run_dir / "member")
    login = await member.client.login(member_password, device_name="bench")
    assert isinstance(login, nio.LoginResponse), login
    await member.sync()
    state = [{"type": "m.room.encryption", "state_key": "",
              "content": {"algorithm": "m.megolm.v1.aes-sha2"}}] if encrypted else []  # fmt: skip
    created = await member.client.room_create(invite=[bot_id], initial_state=state)
    assert isinstance(created, nio.RoomCreateResponse), created
    room = str(created.room_id)

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
    latencies: list[float] = []
    try:
        await _wait_joined(member, room, bot_id)
        # One warm-up round: the first encrypted message also shares the room keys.
        for n in range(count + 1):
            await member.sync()
            started = time.perf_counter()
            sent = await member.client.room_send(
                room, "m.room.message", {"msgtype": "m.text", "body": f"Agendapunt: Punt {n}"},
                ignore_unverified_devices=True,
            )  # fmt: skip
            assert isinstance(sent, nio.RoomSendResponse), sent
            await member.wait_for_thread_reply(room, sent.event_id, bot_id)
            if n > 0:
                latencies.append(time.perf_counter() - started)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await client.close()
        await member.client.close()
        await store.close()
    return latencies


async def _wait_joined(member: Member, room_id: str, user_id: str) -> None:
    async with asyncio.timeout(WAIT_S):
        while True:
            await member.sync(long_poll_ms=1_000)
            room = member.client.rooms.get(room_id)
            if room is not None and user_id in room.users and not room.users[user_id].invited:
                return


def report(latencies: list[float], encrypted: bool) -> str:
    kind = "encrypted" if encrypted else "unencrypted"
    return (
        f"messages: {len(latencies)} ({kind} room)\n"
        f"member's message to Wijkbode's confirmation: {latency_spread(latencies)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--plain", action="store_true", help="an unencrypted room")
    args = parser.parse_args()
    with run_folder() as run_dir:
        latencies = asyncio.run(measure(args.messages, not args.plain, run_dir))
    print(report(latencies, not args.plain))


if __name__ == "__main__":
    main()
