"""A post due at the first start, before the bot accepted its invite: it arrives once.

At the daemon's first start the outbox may deliver a core-room post before the
intake joined the room it was invited to (or before the sync showed that join).
Synapse then answers "not in room"; that once parked the row (a message lost).
The Matrix client now joins before sending, and such a refusal is transient.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import nio
from chat_helpers import (
    Setup,
    Wijkbode,
    from_bot,
    new_watcher,
    plain_config,
    room_with_bot,
    start_wijkbode,
    wait_bot_in,
)
from matrix_helpers import WAIT_S, register

from connectors.matrix.channel import NOT_IN_ROOM_ATTEMPTS
from daemon.ports.outbox import ChannelName, ChatPost, EffectStatus, NewEffect
from daemon.store import Store
from harness.synapse import SynapseServer

KEY = "first-start/post"
BODY = "Eerste bericht na de start (first post after the start)"


async def _enqueue_before_start(setup: Setup, room_id: str) -> None:
    """The post is in the outbox, due at once, before the daemon ever ran."""
    config = plain_config(setup.state_dir)
    store = await Store.open(config.state_dir)
    try:
        async with store.transaction() as tx:
            post = ChatPost(body=BODY, html="")
            effect = NewEffect(ChannelName.MATRIX, room_id, KEY, post)
            await tx.enqueue(effect, now=datetime.now(UTC))
    finally:
        await store.close()


async def _settled(bot: Wijkbode) -> EffectStatus:
    """The post's row once it is no longer pending (delivered, or parked)."""
    async with asyncio.timeout(WAIT_S):
        while True:
            bot.check_alive()
            async with bot.store.reading() as tx:
                row = await tx.effect_by_key(KEY)
            assert row is not None
            if row.status != EffectStatus.PENDING:
                return row.status
            await asyncio.sleep(0.1)


async def test_a_post_due_before_the_invite_is_accepted_arrives_exactly_once(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    alice = await new_watcher(synapse, "alice", tmp_path)
    account = await register(synapse, "wijkbode")
    # Invited, not joined: the intake accepts the invite only after its first sync.
    core = await room_with_bot(alice, account.user_id, encrypted=True)
    setup = Setup(tmp_path / "bot", core_room=core)
    await _enqueue_before_start(setup, core)
    bot = await start_wijkbode(synapse, account, setup)
    try:
        assert await _settled(bot) == EffectStatus.DELIVERED
        seen = await alice.wait(
            core, lambda got: any(e["content"].get("body") == BODY for e in from_bot(got, bot)), bot
        )
        # A marker after it: had a second copy been sent, it would be in by then.
        await alice.say(core, "na het bericht (after the post)")
        seen = await alice.wait(
            core, lambda got: any("after the post" in str(e["content"]) for e in got), bot
        )
        copies = [e for e in from_bot(seen, bot) if e["content"].get("body") == BODY]
        assert len(copies) == 1, copies
    finally:
        await bot.stop()
        await alice.close()


async def test_a_post_to_a_room_the_bot_was_kicked_from_is_parked_after_the_retries(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    alice = await new_watcher(synapse, "alice", tmp_path)
    account = await register(synapse, "wijkbode")
    core = await room_with_bot(alice, account.user_id, encrypted=False)
    setup = Setup(tmp_path / "bot", core_room=core)
    bot = await start_wijkbode(synapse, account, setup)
    try:
        await wait_bot_in(alice, core, bot)
        kicked = await alice.client.room_kick(core, bot.user_id, reason="test")
        assert isinstance(kicked, nio.RoomKickResponse), kicked
        async with bot.store.transaction() as tx:
            post = ChatPost(body=BODY, html="")
            effect = NewEffect(ChannelName.MATRIX, core, KEY, post)
            await tx.enqueue(effect, now=datetime.now(UTC))
        bot.outbox.wake()
        # Refused, joining again refused too (an invite-only room): retried, then parked.
        assert await _settled(bot) == EffectStatus.PARKED
        async with bot.store.reading() as tx:
            row = await tx.effect_by_key(KEY)
        assert row is not None
        assert row.attempts == NOT_IN_ROOM_ATTEMPTS
        assert row.last_error is not None
        assert "not a member" in row.last_error
    finally:
        await bot.stop()
        await alice.close()
