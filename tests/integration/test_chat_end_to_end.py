"""End to end: a real ``wijkbode run`` with ``[matrix]``; a member's agendapunt in an
encrypted room is confirmed in the room and shows up in ``wijkbode agenda --json``."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import nio
from chat_helpers import new_watcher
from clitools import wijkbode
from matrix_helpers import WAIT_S, register, wait_joined

from harness.synapse import SynapseServer

CONFIG = """\
timezone = "Europe/Amsterdam"
state_dir = "state"

[series.wijkalliantie]
title = "Wijkalliantie"
duration = "2h"

[series.wijkalliantie.plan]
dates = [{first}T19:30:00, {second}T19:30:00]

[matrix]
homeserver = "{homeserver}"
user_id = "{user_id}"
password_file = "matrix-password"
core_room = "{core_room}"
"""


def _notices_in_thread(events: list[dict[str, Any]], bot: str, root: str) -> list[dict[str, Any]]:
    found = []
    for event in events:
        content = event.get("content") or {}
        relation = content.get("m.relates_to") or {}
        if (
            event.get("sender") == bot
            and content.get("msgtype") == "m.notice"
            and relation.get("rel_type") == "m.thread"
            and relation.get("event_id") == root
        ):
            found.append(event)
    return found


async def test_agendapunt_in_an_encrypted_room_reaches_the_agenda_and_is_confirmed(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    alice = await new_watcher(synapse, "alice", tmp_path)
    account = await register(synapse, "wijkbode")
    alias = f"kerngroep{secrets.token_hex(4)}"
    created = await alice.client.room_create(
        alias=alias,
        invite=[account.user_id],
        initial_state=[
            {
                "type": "m.room.encryption",
                "state_key": "",
                "content": {"algorithm": "m.megolm.v1.aes-sha2"},
            }
        ],
    )
    assert isinstance(created, nio.RoomCreateResponse), created
    room = str(created.room_id)
    await alice.sync()

    first = date.today() + timedelta(days=30)  # its agendapunt deadline (T-15d) is ahead
    config = tmp_path / "wijkbode.toml"
    config.write_text(
        CONFIG.format(
            first=first,
            second=first + timedelta(days=42),
            homeserver=synapse.base_url,
            user_id=account.user_id,
            core_room=f"#{alias}:localhost",
        )
    )
    (tmp_path / "matrix-password").write_text(account.password)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIJKBODE_")}
    daemon = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "daemon", "--config", str(config), "run",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert daemon.stdout is not None
    # Read the log all along, so a full pipe never blocks the daemon.
    log = asyncio.create_task(daemon.stdout.read())
    try:
        await wait_joined(alice, room, account.user_id)
        message = await alice.say(room, "Agendapunt: Speelplaats opknappen")
        events = await alice.wait(
            room, lambda got: bool(_notices_in_thread(got, account.user_id, message))
        )
        [confirmation] = _notices_in_thread(events, account.user_id, message)
        assert "Speelplaats opknappen" in confirmation["content"]["body"]
        assert "Op tijd." in confirmation["content"]["body"]

        result = await asyncio.to_thread(wijkbode, "--config", str(config), "agenda", "--json")
        assert result.returncode == 0, result.stderr
        agenda = json.loads(result.stdout)
        assert agenda["meeting"] == f"wijkalliantie-{first.isoformat()}"
        assert [(i["kind"], i["title"], i["late"]) for i in agenda["items"]] == [
            ("agendapunt", "Speelplaats opknappen", False)
        ]
        assert f"WB-{agenda['items'][0]['id']}" in confirmation["content"]["body"]
    finally:
        if daemon.returncode is None:
            daemon.send_signal(signal.SIGTERM)
        async with asyncio.timeout(WAIT_S):
            await daemon.wait()
            output = await log
        await alice.close()
    text = output.decode()
    assert daemon.returncode == 0, text
    assert "Traceback" not in text, text
