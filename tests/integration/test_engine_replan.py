"""A meeting moved and one cancelled after some jobs fired, by a config change and SIGHUP.

Three meetings were announced (or reminded) on their channels, then the plan
changes under the running daemon: one announced meeting moves, one is
cancelled, a core-group meeting that only its room heard of moves, and a
meeting not yet announced moves too. Fired jobs stay fired, pending moments
move, a notice goes to exactly the channels (and destinations) that carried the
meeting, and the calendar event is rewritten under its UID, never doubled. A
kill and restart afterwards changes nothing.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from daemon_runner import CALENDAR, RESIDENTS, TZ, DaemonRunner, by_key, local, make_world

from daemon.ports.outbox import ChannelName, MailOut
from harness.dovecot import DovecotServer
from harness.radicale import RadicaleServer
from harness.smtp import SmtpRelay
from harness.synapse import SynapseServer

CHANNELS = ("caldav", "mail", "matrix")
SPEED = 3600  # an hour per real second; the first moments are due within the first hours

SERIES = """\
[series.bewonersbijeenkomst]
title = "Bewonersbijeenkomst"
public = true
location = "Buurthuis"

[series.bewonersbijeenkomst.plan]
dates = [2027-04-15T19:00:00, 2027-05-20T19:00:00]
{moves}
[series.buurtfeest]
title = "Buurtfeest"
public = true
location = "Plein"

[series.buurtfeest.deadlines]
concept_agenda = false
agendapunt = false
stuk = false
ter_kennisgeving = false
actualiteit = false
deadline_reminders = []
announce = "28d"
folder = false
meeting_reminder = "2d"

[series.buurtfeest.plan]
dates = [2027-04-15T20:00:00]
{cancels}
[series.kerngroep]
title = "Kerngroep"
location = "Zaal 2"

[series.kerngroep.plan]
dates = [2027-03-20T20:00:00]
{moves_kerngroep}
{added}"""
CHANGES = {
    "moves": """
[[series.bewonersbijeenkomst.plan.moved]]
from = 2027-04-15
to = 2027-04-22T19:00:00

[[series.bewonersbijeenkomst.plan.moved]]
from = 2027-05-20
to = 2027-05-27T19:00:00
""",
    "cancels": "cancelled = [2027-04-15]\n",
    "moves_kerngroep": """
[[series.kerngroep.plan.moved]]
from = 2027-03-20
to = 2027-03-22T20:00:00
""",
    # A series new to the plan, its meeting less than 28 days ahead: announced at once.
    "added": """
[series.zomerfeest]
title = "Zomerfeest"
public = true
location = "Park"

[series.zomerfeest.deadlines]
concept_agenda = false
agendapunt = false
stuk = false
ter_kennisgeving = false
actualiteit = false
deadline_reminders = []
announce = "28d"
folder = false
meeting_reminder = false

[series.zomerfeest.plan]
dates = [2027-04-10T15:00:00]
""",
}
MOVED = "meeting/bewonersbijeenkomst-2027-04-15"  # announced, then moved a week
LATER = "meeting/bewonersbijeenkomst-2027-05-20"  # moved before its announcement
CANCELLED = "meeting/buurtfeest-2027-04-15"  # announced, then cancelled
KERNGROEP = "meeting/kerngroep-2027-03-20"  # its room was reminded, then it moved
ADDED = "meeting/zomerfeest-2027-04-10"  # a series added to the plan by the reload
ALL = ("matrix", "mail", "caldav")
CARRIED = (
    [f"{MOVED}/announce/28d/{c}" for c in ALL]
    + [f"{CANCELLED}/announce/28d/{c}" for c in ALL]
    + [f"{KERNGROEP}/reminder:meeting/2d/matrix"]
)
NOTICES = (
    [f"{MOVED}/moved_notice/0/{c}" for c in ALL]
    + [f"{CANCELLED}/cancelled_notice/0/{c}" for c in ALL]
    + [f"{KERNGROEP}/moved_notice/0/matrix"]
)
SHORT_NOTICE = [f"{ADDED}/announce/28d/{c}" for c in ALL]


async def test_moved_and_cancelled_meetings_after_jobs_fired(
    tmp_path: Path,
    radicale: RadicaleServer,
    dovecot: DovecotServer,
    smtp_relay: SmtpRelay,
    synapse: SynapseServer,
) -> None:
    world = await make_world(
        CHANNELS,
        tmp_path / "secrets",
        radicale=radicale,
        dovecot=dovecot,
        relay=smtp_relay,
        synapse=synapse,
    )
    assert world.calendar is not None
    assert world.chat is not None
    assert world.mail is not None

    def config(changed: bool) -> str:
        series = SERIES.format(**{k: v if changed else "" for k, v in CHANGES.items()})
        return world.config(series, default_series="bewonersbijeenkomst")

    runner = DaemonRunner(
        tmp_path, config(changed=False), start=local("2027-03-18T18:30:00"), speed=SPEED
    )
    try:
        runner.start()
        await runner.wait_running()
        await runner.wait_until(lambda: settled(runner, CARRIED), "announcements and reminder")
        before = by_key(await runner.schedule())
        runner.write_config(config(changed=True))
        runner.hup()
        await runner.wait_until(lambda: settled(runner, NOTICES + SHORT_NOTICE), "the notices")
        after = by_key(await runner.schedule())
        effects = await runner.effects()

        runner.kill()
        runner.start()
        await runner.wait_running()
        assert await runner.wait_for_log("scheduler started")
        await runner.wait_until(lambda: settled(runner, []), "the restart")
        await runner.stop()
    finally:
        runner.ensure_stopped()

    assert_fired_stay_and_pending_move(before, after)
    assert_notices_where_it_was_carried(before, after)
    # The restart replans nothing, fires nothing and sends nothing again.
    assert "jobs: 0 added, 0 moved, 0 cancelled" in runner.log()
    assert after == by_key(await runner.schedule())
    assert effects == await runner.effects()

    events = await world.calendar.events()
    moved_event, cancelled_event, added_event = sorted(events, key=lambda e: str(e["UID"]))
    assert [str(e["UID"]) for e in (moved_event, cancelled_event, added_event)] == [
        "bewonersbijeenkomst-2027-04-15@wijk.test",
        "buurtfeest-2027-04-15@wijk.test",
        "zomerfeest-2027-04-10@wijk.test",
    ]
    assert (moved_event.start, moved_event.sequence, str(moved_event["STATUS"])) == (
        datetime(2027, 4, 22, 19, 0, tzinfo=TZ),
        1,
        "CONFIRMED",
    )
    assert (cancelled_event.sequence, str(cancelled_event["STATUS"])) == (1, "CANCELLED")

    # Each notice went to every destination that carried its meeting, and nowhere else.
    core, announce = world.chat.core_alias, world.chat.announce_alias
    public = (core, announce, RESIDENTS, CALENDAR)
    notices = {
        (key.split("/")[2], e.destination, key.split("/")[3])
        for e in effects
        if "_notice/" in (key := e.key)
    }
    assert notices == {
        *((MOVED.split("/")[1], d, "moved_notice") for d in public),
        *((CANCELLED.split("/")[1], d, "cancelled_notice") for d in public),
        (KERNGROEP.split("/")[1], core, "moved_notice"),
    }
    for alias in world.chat.rooms:
        keys = Counter(await world.chat.keys_in(alias))
        assert keys == Counter(e.key for e in effects if e.destination == alias), alias
    mails = [e.payload.message_id for e in effects if isinstance(e.payload, MailOut)]
    assert Counter(str(m.message["Message-ID"]) for m in world.mail.captured()) == Counter(mails)
    assert len(mails) == 5  # two announcements, the move, the cancellation, the new one
    # The series the reload added is announced at once, on every channel, as short notice.
    assert [(after[k]["status"], after[k]["note"].split(";")[0]) for k in SHORT_NOTICE] == [
        ("fired", "short_notice")
    ] * len(ALL)
    [short] = [
        m.message for m in world.mail.captured() if "Zomerfeest" in str(m.message["Subject"])
    ]
    text = short.get_body(("plain",))
    assert text is not None
    assert text.get_content().startswith("Op korte termijn: Zomerfeest op ")
    assert added_event.start == datetime(2027, 4, 10, 15, 0, tzinfo=TZ)


async def settled(runner: DaemonRunner, keys: list[str]) -> bool:
    """The jobs ``keys`` exist and are handled, and nothing waits in the outbox."""
    jobs = by_key(await runner.schedule())
    if any(jobs.get(key, {}).get("status", "pending") == "pending" for key in keys):
        return False
    return not await runner.outbox()


def assert_fired_stay_and_pending_move(before: dict[str, Any], after: dict[str, Any]) -> None:
    for key in CARRIED:
        assert (before[key]["status"], after[key]) == ("fired", before[key])
    moved_a_week = [
        f"{MOVED}/folder/14d/matrix",
        f"{MOVED}/reminder:meeting/2d/matrix",
        f"{MOVED}/reminder:meeting/2d/mail",
        *(f"{LATER}/announce/28d/{c}" for c in ALL),
    ]
    for key in moved_a_week:
        was, now = before[key], after[key]
        assert (was["status"], now["status"]) == ("pending", "pending")
        shift = datetime.fromisoformat(now["due_at"]) - datetime.fromisoformat(was["due_at"])
        assert shift.days == 7, key
    assert after[f"{CANCELLED}/reminder:meeting/2d/matrix"]["status"] == "cancelled"
    assert after[f"{CANCELLED}/reminder:meeting/2d/mail"]["status"] == "cancelled"


def assert_notices_where_it_was_carried(before: dict[str, Any], after: dict[str, Any]) -> None:
    """A notice for each (meeting, channel) that fired before; none for the unannounced one."""
    new = {key for key in after if key not in before}
    assert new == {*NOTICES, *SHORT_NOTICE}
    assert {after[key]["status"] for key in NOTICES} == {"fired"}
    assert not any(key.startswith(LATER) and "notice" in key for key in after)
    assert {ChannelName(after[k]["channel"]) for k in NOTICES if k.startswith(KERNGROEP)} == {
        ChannelName.MATRIX
    }
