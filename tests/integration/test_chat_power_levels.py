"""``min_power_level``: changes and filings only from core-group members with enough power."""

from __future__ import annotations

from pathlib import Path

from chat_helpers import (
    Setup,
    new_watcher,
    reactions_on,
    replies_to,
    room_with_bot,
    start_wijkbode,
    wait_bot_in,
)
from matrix_helpers import register

from harness.synapse import SynapseServer


async def test_a_member_below_the_minimum_power_level_may_read_but_not_file(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    alice = await new_watcher(synapse, "alice", tmp_path)  # creates the room: power level 100
    bob = await new_watcher(synapse, "bob", tmp_path)  # joins: power level 0
    account = await register(synapse, "wijkbode")
    core = await room_with_bot(alice, account.user_id, encrypted=False, members=[bob])
    setup = Setup(tmp_path / "bot", core_room=core, min_power_level=50)
    bot = await start_wijkbode(synapse, account, setup)
    try:
        await wait_bot_in(alice, core, bot)
        refused = await bob.say(core, "Agendapunt: Van bob")
        read = await bob.say(core, "!agenda")
        filed = await alice.say(core, "Agendapunt: Van alice")
        events = await alice.wait(
            core,
            lambda got: (
                all(replies_to(got, bot, e) for e in (refused, read))
                and "✅" in reactions_on(got, bot, filed)
            ),
            bot,
        )
        [answer] = replies_to(events, bot, refused)
        assert "machtsniveau 50" in answer["content"]["body"]
        assert reactions_on(events, bot, refused) == []
        [listing] = replies_to(events, bot, read)
        assert "Agenda van Wijkalliantie" in listing["content"]["body"]
        assert [item.title for item in await bot.items()] == ["Van alice"]
    finally:
        await bot.stop()
        await alice.close()
        await bob.close()
