"""A channel down for a simulated day: rows wait, nothing is lost, order per destination holds.

Radicale and the SMTP relay are stopped while the real daemon's scaled clock runs
a whole day of moments (packages, deadline reminders, an announcement, a meeting
moved halfway). Matrix stays up and its posts go on. After the day the outbox
holds the calendar and mail rows, each destination's head retried with its last
error; once the servers are back every row arrives exactly once, each
recipient's mail in outbox id order, and the calendar ends as the last write
(the move) says.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path

import pytest_asyncio
from daemon_runner import PARTNER, RESIDENTS, TZ, DaemonRunner, by_key, local, make_world

from daemon.ports.outbox import CalendarWrite, ChannelName, Effect, EffectStatus, MailOut
from harness.dovecot import DovecotServer
from harness.radicale import RadicaleServer
from harness.servers import SMTP_USER
from harness.smtp import SmtpRelay
from harness.synapse import SynapseServer

CHANNELS = ("caldav", "mail", "matrix")
SPEED = 14_400  # four simulated hours per real second
START = local("2027-03-01T00:00:00")
MOVED = """
[[series.buurt.plan.moved]]
from = 2027-03-01
to = 2027-03-01T21:30:00
"""
SERIES = """\
[series.buurt]
title = "Buurtoverleg"
public = true
duration = "1h"
location = "Buurthuis"

[series.buurt.deadlines]
concept_agenda = false
agendapunt = false
stuk = false
ter_kennisgeving = false
actualiteit = false
deadline_reminders = []
announce = "12h"
folder = false
meeting_reminder = "2h"

[series.buurt.plan]
dates = [2027-03-01T20:00:00]
{moved}
[series.alliantie]
title = "Alliantie"
duration = "2h"
location = "Stadsdeelkantoor"

[series.alliantie.deadlines]
concept_agenda = "24h"
agendapunt = "22h"
stuk = "20h"
ter_kennisgeving = "16h"
actualiteit = "12h"
deadline_reminders = ["2h"]
announce = false
folder = false
meeting_reminder = false

[series.alliantie.plan]
dates = [2027-03-02T12:00:00]
"""
ANNOUNCE = "meeting/buurt-2027-03-01/announce/12h/{}"
LAST_OF_THE_DAY = "meeting/alliantie-2027-03-02/actualiteit/12h/mail"

MakeRelay = Callable[..., Awaitable[SmtpRelay]]


@pytest_asyncio.fixture
async def own_radicale(tmp_path: Path) -> AsyncIterator[RadicaleServer]:
    """A Radicale of this test's own, so stopping it disturbs no other test."""
    server = RadicaleServer(tmp_path / "radicale")
    await server.start()
    yield server
    await server.stop()


async def test_a_day_without_calendar_and_mail_loses_nothing_and_keeps_order(
    tmp_path: Path,
    own_radicale: RadicaleServer,
    make_smtp_relay: MakeRelay,
    dovecot: DovecotServer,
    synapse: SynapseServer,
) -> None:
    relay = await make_smtp_relay(
        "starttls", users={SMTP_USER: secrets.token_urlsafe(12)}, relay_requires_auth=True
    )
    world = await make_world(
        CHANNELS,
        tmp_path / "secrets",
        radicale=own_radicale,
        dovecot=dovecot,
        relay=relay,
        synapse=synapse,
    )
    assert world.calendar is not None
    assert world.mail is not None
    assert world.chat is not None

    def config(moved: str) -> str:
        return world.config(SERIES.format(moved=moved), default_series="alliantie")

    runner = DaemonRunner(tmp_path, config(""), start=START, speed=SPEED)
    await own_radicale.stop()
    await relay.stop()
    try:
        runner.start()
        await runner.wait_running()
        await runner.wait_until(lambda: fired(runner, ANNOUNCE.format("caldav")), "announce")
        runner.write_config(config(MOVED))
        runner.hup()  # the meeting moves while its calendar and mail are down
        await runner.wait_until(lambda: day_done(runner), "the day's last moment and room posts")
        waiting = await runner.outbox()
        posted = await world.chat.keys_in(world.chat.core_alias)

        await own_radicale.start()
        await relay.start()
        await runner.wait_until(lambda: outbox_empty(runner), "delivery after the outage")
        await runner.stop()
    finally:
        runner.ensure_stopped()

    effects = await runner.effects()
    assert {EffectStatus.DELIVERED} == {e.status for e in effects}
    assert_rows_waited_in_line(waiting, effects)
    # Matrix went on during the outage: every room post of the day was already there.
    assert [e.key for e in effects if e.destination == world.chat.core_alias] == posted

    mails = [(e.destination, e.payload) for e in effects if isinstance(e.payload, MailOut)]
    in_id_order = {
        address: [mail.message_id for to, mail in mails if to == address]
        for address in (PARTNER, RESIDENTS)
    }
    arrived = {
        address: [
            str(m.message["Message-ID"]) for m in world.mail.captured() if address in m.rcpt_tos
        ]
        for address in (PARTNER, RESIDENTS)
    }
    assert in_id_order == arrived
    # Partners: the concept and the definitive agenda (both addenda are empty, so skipped;
    # the agenda closing is for the core room only) and 4 deadline reminders; residents:
    # announcement, move, reminder.
    assert {a: len(ids) for a, ids in arrived.items()} == {PARTNER: 6, RESIDENTS: 3}

    writes = [e.payload for e in effects if isinstance(e.payload, CalendarWrite)]
    assert [w.sequence for w in writes] == [0, 1]  # the announcement, then the move
    [event] = await world.calendar.events()
    assert (str(event["UID"]), event.sequence, event.start) == (
        writes[-1].uid,
        1,
        datetime(2027, 3, 1, 21, 30, tzinfo=TZ),
    )


async def fired(runner: DaemonRunner, key: str) -> bool:
    job = by_key(await runner.schedule()).get(key)
    return job is not None and job["status"] == "fired"


async def day_done(runner: DaemonRunner) -> bool:
    """The day's last moment handled (an empty addendum is skipped, RULES.md) and the room
    posts (Matrix is up) are all out."""
    job = by_key(await runner.schedule()).get(LAST_OF_THE_DAY)
    if job is None or job["status"] not in ("fired", "skipped"):
        return False
    return all(row["channel"] != "matrix" for row in await runner.outbox())


async def outbox_empty(runner: DaemonRunner) -> bool:
    return not await runner.outbox()


def assert_rows_waited_in_line(waiting: list[dict[str, object]], effects: list[Effect]) -> None:
    """At the end of the day every calendar and mail row was still there, pending.

    Only the head of each destination was tried (attempts and last error); the
    rows behind it waited their turn untried.
    """
    calendar_and_mail = {
        e.id for e in effects if e.channel in (ChannelName.CALDAV, ChannelName.MAIL)
    }
    assert {row["id"] for row in waiting} == calendar_and_mail
    assert {row["status"] for row in waiting} == {"pending"}
    heads: dict[object, dict[str, object]] = {}
    for row in sorted(waiting, key=lambda r: int(str(r["id"]))):
        heads.setdefault(row["destination"], row)
    assert set(heads) == {PARTNER, RESIDENTS, "Wijkagenda"}
    for row in waiting:
        tried = row is heads[row["destination"]]
        assert (int(str(row["attempts"])) > 0, row["last_error"] is not None) == (tried, tried)
