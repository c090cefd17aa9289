"""Crash safety: a daemon SIGKILLed again and again while it fires jobs and delivers rows.

A plan with many moments in a short span (two daily series, offsets in hours)
runs at a high ``--speed``; the real daemon is killed at random points (a
seeded RNG; half the kills land just after a job fired, while its rows are
being delivered) and started again with the scaled clock continued. Afterwards
every job fired or was skipped exactly once, the outbox is empty, and the real
receiving servers hold every effect: the calendar one event per meeting UID,
each room one event per idempotency key, and the relay each mail, where a
repeat is only ever a resend with the same Message-ID.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
from collections import Counter
from pathlib import Path

import pytest
from daemon_runner import FIRED_WITH_EFFECTS, DaemonRunner, World, local, make_world

from daemon.ports.outbox import CalendarWrite, ChannelName, Effect, EffectStatus, MailOut
from harness.dovecot import DovecotServer
from harness.radicale import RadicaleServer
from harness.smtp import SmtpRelay
from harness.synapse import SynapseServer

# The channels this test drives; each is one entry (its server fixture is below).
CHANNELS = ("caldav", "mail", "matrix")
KILLS = 24
SPEED = 10_800  # three simulated hours per real second

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
announce = "18h"
folder = false
meeting_reminder = "3h"

[series.buurt.plan]
start = 2027-03-01T20:00:00
rrule = "FREQ=DAILY;COUNT=5"

[series.alliantie]
title = "Alliantie"
duration = "2h"
location = "Stadsdeelkantoor"

[series.alliantie.deadlines]
concept_agenda = "20h"
agendapunt = "16h"
stuk = "14h"
ter_kennisgeving = "8h"
actualiteit = "4h"
deadline_reminders = ["2h"]
announce = false
folder = false
meeting_reminder = "1h"

[series.alliantie.plan]
start = 2027-03-02T10:00:00
rrule = "FREQ=DAILY;COUNT=4"
"""
START = local("2027-02-28T00:00:00")


async def test_kills_at_random_points_lose_nothing_and_double_nothing(
    tmp_path: Path,
    radicale: RadicaleServer,
    dovecot: DovecotServer,
    smtp_relay: SmtpRelay,
    synapse: SynapseServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed = int(os.environ.get("WIJKBODE_CRASH_SEED", secrets.randbits(32)))
    with capsys.disabled():  # shown in every CI log, passing or not
        print(f"\ncrash test seed: {seed} (WIJKBODE_CRASH_SEED={seed} repeats the kill pattern)")
    rng = random.Random(seed)
    world = await make_world(
        CHANNELS,
        tmp_path / "secrets",
        radicale=radicale,
        dovecot=dovecot,
        relay=smtp_relay,
        synapse=synapse,
    )
    runner = DaemonRunner(
        tmp_path, world.config(SERIES, default_series="alliantie"), start=START, speed=SPEED
    )
    try:
        in_flight = await kill_repeatedly(runner, rng)
        runner.start()
        await runner.wait_running()
        await runner.wait_until(
            lambda: all_done(runner), "every job handled and delivered", within=120
        )
        await runner.stop()
    finally:
        runner.ensure_stopped()

    jobs = await runner.schedule()
    statuses = Counter(job["status"] for job in jobs)
    assert set(statuses) <= {"fired", "skipped"}, statuses
    assert {job["channel"] for job in jobs if job["status"] == "fired"} == set(CHANNELS)
    assert await runner.outbox() == []
    effects = await runner.effects()
    assert {EffectStatus.DELIVERED} == {e.status for e in effects}

    await assert_calendar_has_each_uid_once(world, effects)
    await assert_rooms_have_each_key_once(world, effects)
    resends = assert_mail_repeats_only_as_resends(world, effects)
    with capsys.disabled():
        print(
            f"crash test: {runner.kills} kills ({in_flight} left rows undelivered), "
            f"{runner.runs} runs, jobs {dict(statuses)}, {len(effects)} effects delivered, "
            f"{resends} mail resend(s) with the same Message-ID"
        )
    assert runner.kills >= 20


async def kill_repeatedly(runner: DaemonRunner, rng: random.Random) -> int:
    """Start and SIGKILL the daemon ``KILLS`` times; return how many kills left rows undelivered.

    Half the kills come at a random moment (during start-up, plan sync, firing
    or delivery); the other half shortly after a job fired with effects, while
    its rows are on their way.
    """
    in_flight = 0
    for _ in range(KILLS):
        runner.start()
        if rng.random() < 0.5:
            await asyncio.sleep(rng.uniform(0.2, 3.0))
        elif await runner.wait_for_log(FIRED_WITH_EFFECTS, within=6.0, poll=0.005):
            await asyncio.sleep(rng.uniform(0.0, 0.1))
        runner.kill()
        effects = await runner.effects()
        in_flight += any(e.status is EffectStatus.PENDING for e in effects)
    return in_flight


async def all_done(runner: DaemonRunner) -> bool:
    """No job pending any more and nothing left in the outbox."""
    if any(job["status"] == "pending" for job in await runner.schedule()):
        return False
    return not await runner.outbox()


async def assert_calendar_has_each_uid_once(world: World, effects: list[Effect]) -> None:
    if world.calendar is None:
        return
    events = await world.calendar.events()
    uids = Counter(str(event["UID"]) for event in events)
    written = {e.payload.uid for e in effects if isinstance(e.payload, CalendarWrite)}
    assert written, "no calendar write happened"
    assert dict.fromkeys(written, 1) == dict(uids)


async def assert_rooms_have_each_key_once(world: World, effects: list[Effect]) -> None:
    if world.chat is None:
        return
    sent = [e for e in effects if e.channel is ChannelName.MATRIX]
    assert sent, "no room post happened"
    for destination in {e.destination for e in sent}:
        keys = Counter(await world.chat.keys_in(destination))
        expected = {e.key: 1 for e in sent if e.destination == destination}
        assert expected == dict(keys), destination


def assert_mail_repeats_only_as_resends(world: World, effects: list[Effect]) -> int:
    """Each mail effect arrived; any repeat carries the same Message-ID. Returns the repeats."""
    if world.mail is None:
        return 0
    mails = [e.payload for e in effects if isinstance(e.payload, MailOut)]
    assert mails, "no mail was sent"
    captured = world.mail.captured()
    copies = Counter(str(m.message["Message-ID"]) for m in captured)
    assert {m.message_id for m in mails} == set(copies)
    for mail in mails:
        same = [m for m in captured if m.message["Message-ID"] == mail.message_id]
        assert {(m.rcpt_tos, str(m.message["Subject"]).strip()) for m in same} == {
            (mail.to, mail.subject)
        }
    return sum(copies.values()) - len(copies)
