"""An afspraak due in 3 days, made in chat on the real daemon: the confirmation, and no
"7 days before" reminder right after it (issue 9, section 3).

Before the fix the scheduler fired that reminder half a second after the
confirmation: its moment was past, the afspraak not yet due, so the ordinary
catch-up policy said "fire". Now the job is skipped and the reason recorded,
as ``wijkbode schedule`` shows; the 1-day reminder stays planned.
"""

from __future__ import annotations

import secrets
import urllib.parse
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from daemon_runner import TZ, ChatSide, DaemonRunner, make_world

from daemon.ports.chat import IDEMPOTENCY_CONTENT_KEY
from harness.synapse import SynapseServer

TODAY = datetime.now(TZ).date()
FAR = TODAY + timedelta(days=90)

SERIES = f"""\
[series.kerngroep]
title = "Kerngroep"
public = false
duration = "2h"

[series.kerngroep.plan]
dates = [{FAR}T19:30:00]
"""


async def say(chat: ChatSide, body: str) -> str:
    """The member sends ``body`` to the core room; returns its event id."""
    room = urllib.parse.quote(chat.rooms[chat.core_alias], safe="")
    path = f"/_matrix/client/v3/rooms/{room}/send/m.room.message/{secrets.token_hex(8)}"
    sent = await chat.synapse.client_api(
        "PUT", path, chat.member_token, {"msgtype": "m.text", "body": body}
    )
    return str(sent["event_id"])


async def bot_messages(chat: ChatSide) -> list[dict[str, Any]]:
    """Every message of the bot in the core room, oldest first, as the member reads it."""
    room = urllib.parse.quote(chat.rooms[chat.core_alias], safe="")
    path = f"/_matrix/client/v3/rooms/{room}/messages?dir=f&limit=500"
    page = await chat.synapse.client_api("GET", path, chat.member_token)
    return [
        event["content"]
        for event in page.get("chunk", [])
        if event.get("sender") == chat.bot and event.get("type") == "m.room.message"
    ]


def full_day(day: date) -> str:
    days = ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"]
    months = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
              "september", "oktober", "november", "december"]  # fmt: skip
    return f"{days[day.weekday()]} {day.day} {months[day.month - 1]} {day.year}"


async def test_an_afspraak_due_in_three_days_is_confirmed_without_an_immediate_reminder(
    tmp_path: Path, synapse: SynapseServer
) -> None:
    world = await make_world(["matrix"], tmp_path / "secrets", synapse=synapse)
    chat = world.chat
    assert chat is not None
    runner = DaemonRunner(
        tmp_path, world.config(SERIES, default_series="kerngroep"), start=datetime.now(TZ), speed=1
    )
    due = TODAY + timedelta(days=3)
    try:
        runner.start()
        await runner.wait_running()
        # Messages from before the first sync are history the daemon skips.
        assert await runner.wait_for_log("first sync"), runner.log()[-3000:]
        asked = await say(
            chat, f"Afspraak: Huurcommissie bellen @bob@buurt.test voor {due.isoformat()}"
        )

        async def confirmed() -> bool:
            keys = [m.get(IDEMPOTENCY_CONTENT_KEY) for m in await bot_messages(chat)]
            return f"chat/{asked}/reply" in keys

        await runner.wait_until(confirmed, "the confirmation")

        async def reminders_settled() -> bool:
            jobs = [j for j in await runner.schedule() if "agreement_reminder/7d" in j["key"]]
            return bool(jobs) and all(j["status"] != "pending" for j in jobs)

        await runner.wait_until(reminders_settled, "the 7-day reminder settled")
        jobs = [j for j in await runner.schedule() if "/agreement_reminder/" in j["key"]]
        outbox_rows = await runner.effects()
        messages = await bot_messages(chat)
        await runner.stop()
    finally:
        runner.ensure_stopped()

    reply_key = f"chat/{asked}/reply"
    [confirmation] = [m for m in messages if m.get(IDEMPOTENCY_CONTENT_KEY) == reply_key]
    assert f"uiterlijk {full_day(due)}" in confirmation["body"]
    # No reminder reached the room, nor waits in the outbox.
    assert [m[IDEMPOTENCY_CONTENT_KEY] for m in messages] == [f"chat/{asked}/reply"]
    assert [row.key for row in outbox_rows] == [f"chat/{asked}/reply"]
    by_offset = {j["key"].split("/")[-2]: j for j in jobs}
    assert by_offset["7d"]["status"] == "skipped"
    assert "before its subject existed" in by_offset["7d"]["note"]
    assert by_offset["1d"]["status"] == "pending"
    assert "Traceback" not in runner.log(), runner.log()[-3000:]
