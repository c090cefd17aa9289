"""Invites: accepted to configured rooms and from configured admins, ignored otherwise."""

from __future__ import annotations

from pathlib import Path

import nio
from chat_helpers import (
    Setup,
    new_watcher,
    replies_to,
    room_with_bot,
    start_wijkbode,
    wait_bot_in,
)
from matrix_helpers import register, wait_joined

from harness.synapse import SynapseServer


async def test_invites_from_admins_and_to_configured_rooms_only(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    alice = await new_watcher(synapse, "alice", tmp_path)
    admin = await new_watcher(synapse, "admin", tmp_path)
    stranger = await new_watcher(synapse, "stranger", tmp_path)
    account = await register(synapse, "wijkbode")
    core = await room_with_bot(alice, account.user_id, encrypted=False)
    setup = Setup(tmp_path / "bot", core_room=core, admins=(admin.user_id,))
    bot = await start_wijkbode(synapse, account, setup)
    try:
        await wait_bot_in(alice, core, bot)  # a configured room: accepted
        strangers_room = await stranger.create_room(encrypted=False, invite=[bot.user_id])
        admins_room = await admin.create_room(encrypted=True, invite=[bot.user_id])
        await wait_joined(admin, admins_room, bot.user_id)

        # By the time a later request is answered, the stranger's invite was seen too.
        marker = await alice.say(core, "!deadlines")
        await alice.wait(core, lambda got: bool(replies_to(got, bot, marker)), bot)
        members = await stranger.client.joined_members(strangers_room)
        assert isinstance(members, nio.JoinedMembersResponse), members
        assert [stranger.user_id] == [m.user_id for m in members.members]
        assert strangers_room in bot.client.nio_client.invited_rooms
        assert admins_room in bot.client.nio_client.rooms
    finally:
        await bot.stop()
        for person in (alice, admin, stranger):
            await person.close()
