"""Downtime catch-up: a daemon stopped across several moments fires, on start, exactly the
ones that still make sense, once; another restart fires nothing twice.

RULES.md's default offsets. The daemon runs on 1 March, is stopped, and starts
again on 22 March 20:00, weeks later. Missed meanwhile: the residents' meeting's
28-day announcement (by a day: it still goes out, and says nothing odd), the
alliance's concept agenda and the reminders before the stuk deadline (still
ahead: sent late), the agendapunt deadline itself (the agenda closes, late), the
reminders before the agendapunt deadline (passed: skipped), and the core
group's meeting reminder (the meeting is over: skipped).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from daemon_runner import PARTNER, RESIDENTS, DaemonRunner, World, by_key, local, make_world

from daemon.ports.outbox import CalendarWrite, ChannelName, Effect, MailOut
from harness.dovecot import DovecotServer
from harness.radicale import RadicaleServer
from harness.smtp import SmtpRelay
from harness.synapse import SynapseServer

CHANNELS = ("caldav", "mail", "matrix")
SPEED = 600  # ten simulated minutes per real second: nothing new comes due while we look

SERIES = """\
[series.wijkalliantie]
title = "Wijkalliantie"
public = true
location = "Buurthuis De Meeuw"

[series.wijkalliantie.plan]
dates = [2027-04-06T19:30:00]

[series.bewonersbijeenkomst]
title = "Bewonersbijeenkomst"
public = true
location = "Buurthuis De Meeuw"

[series.bewonersbijeenkomst.plan]
dates = [2027-04-18T19:00:00]

[series.kerngroep]
title = "Kerngroep"
location = "Zaal 2"

[series.kerngroep.plan]
dates = [2027-03-03T20:00:00, 2027-03-10T20:00:00]
"""
ALLIANTIE = "meeting/wijkalliantie-2027-04-06"
BEWONERS = "meeting/bewonersbijeenkomst-2027-04-18"
FIRST_RUN = "meeting/kerngroep-2027-03-03/reminder:meeting/2d/matrix"  # 1 March 20:00
# What the start on 22 March 20:00 decides, per job (every other job stays pending).
ON_RETURN = {
    f"{BEWONERS}/announce/28d/{channel}": "fired"  # due 21 March 19:00
    for channel in ("matrix", "mail", "caldav")
} | {
    f"{ALLIANTIE}/concept_agenda/21d/matrix": "fired",  # 16 March
    f"{ALLIANTIE}/concept_agenda/21d/mail": "fired",
    f"{ALLIANTIE}/agendapunt/15d/matrix": "fired",  # the agenda closed 22 March 19:30
    f"{ALLIANTIE}/reminder:stuk/7d/matrix": "fired",  # stuk deadline 23 March: still ahead
    f"{ALLIANTIE}/reminder:stuk/7d/mail": "fired",
    f"{ALLIANTIE}/reminder:stuk/2d/matrix": "fired",
    f"{ALLIANTIE}/reminder:stuk/2d/mail": "fired",
    f"{ALLIANTIE}/reminder:agendapunt/7d/matrix": "skipped",  # its deadline has passed
    f"{ALLIANTIE}/reminder:agendapunt/7d/mail": "skipped",
    f"{ALLIANTIE}/reminder:agendapunt/2d/matrix": "skipped",
    f"{ALLIANTIE}/reminder:agendapunt/2d/mail": "skipped",
    "meeting/kerngroep-2027-03-10/reminder:meeting/2d/matrix": "skipped",  # meeting is over
}
THEN = f"{ALLIANTIE}/stuk/14d/mail"  # 23 March 19:30, after the second restart


async def test_a_restart_weeks_later_fires_what_still_makes_sense_once(
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
    assert world.mail is not None
    config = world.config(SERIES, default_series="wijkalliantie")
    runner = DaemonRunner(tmp_path, config, start=local("2027-03-01T19:00:00"), speed=SPEED)
    try:
        runner.start()
        await runner.wait_running()
        await runner.wait_until(lambda: settled(runner, [FIRST_RUN]), "the first reminder")
        await runner.stop()
        before = by_key(await runner.schedule())

        runner.jump_to(local("2027-03-22T20:00:00"))
        runner.start()
        await runner.wait_running()
        await runner.wait_until(lambda: settled(runner, list(ON_RETURN)), "the catch-up")
        after_return = by_key(await runner.schedule())
        seen_on_return = await what_arrived(world)
        sent_on_return = await runner.effects()
        partner_on_return = [m for m in world.mail.captured() if PARTNER in m.rcpt_tos]
        runner.kill()

        runner.jump_to(local("2027-03-23T19:00:00"))
        runner.start()
        await runner.wait_running()
        await runner.wait_until(lambda: settled(runner, [THEN]), "the stuk deadline")
        await runner.stop()
    finally:
        runner.ensure_stopped()

    assert_decided_on_return(before, after_return)
    assert sent(sent_on_return) == seen_on_return
    assert seen_on_return[2] == ["bewonersbijeenkomst-2027-04-18@wijk.test"]
    assert len(partner_on_return) == 3  # the concept agenda, two reminders before the stuk deadline
    assert_the_announcement_says_nothing_odd(world)
    # After another restart: the catch-up's effects are still there once, plus the new ones.
    final_arrived = await what_arrived(world)
    assert sent(await runner.effects()) == final_arrived
    assert set(seen_on_return[0]) < set(final_arrived[0])
    final = by_key(await runner.schedule())
    handled_before = {k: job for k, job in after_return.items() if job["status"] != "pending"}
    assert handled_before == {k: final[k] for k in handled_before}


async def settled(runner: DaemonRunner, keys: list[str]) -> bool:
    """The jobs ``keys`` are handled and nothing waits in the outbox."""
    jobs = by_key(await runner.schedule())
    if any(jobs[key]["status"] == "pending" for key in keys):
        return False
    return not await runner.outbox()


def assert_decided_on_return(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert [k for k, job in before.items() if job["status"] != "pending"] == [FIRST_RUN]
    decided = {k: job["status"] for k, job in after.items() if job["status"] != "pending"}
    assert decided == {FIRST_RUN: "fired", **ON_RETURN}
    assert after[FIRST_RUN] == before[FIRST_RUN]
    for key, status in ON_RETURN.items():
        note = after[key]["note"]
        if status == "fired":
            assert note.startswith("laat: "), note
            assert "(late: " in note, note
        else:
            assert "verstreken" in note or "begonnen" in note, note


Arrived = tuple[Counter[str], Counter[str], list[str]]


async def what_arrived(world: World) -> Arrived:
    """(mail by Message-ID, room posts by key, calendar UIDs) as the far sides hold them."""
    assert world.mail is not None
    assert world.chat is not None
    assert world.calendar is not None
    mail = Counter(str(m.message["Message-ID"]) for m in world.mail.captured())
    posts = Counter(await world.chat.keys_in(world.chat.core_alias))
    posts.update(await world.chat.keys_in(world.chat.announce_alias))
    uids = [str(event["UID"]) for event in await world.calendar.events()]
    return mail, posts, uids


def sent(effects: list[Effect]) -> Arrived:
    """What the outbox rows say should have arrived, each once."""
    mail = Counter(e.payload.message_id for e in effects if isinstance(e.payload, MailOut))
    posts = Counter(e.key for e in effects if e.channel is ChannelName.MATRIX)
    uids = [e.payload.uid for e in effects if isinstance(e.payload, CalendarWrite)]
    return mail, posts, uids


def assert_the_announcement_says_nothing_odd(world: World) -> None:
    """Late by a day, it reads as any announcement: no 'short notice', no lateness."""
    assert world.mail is not None
    [announcement] = [m for m in world.mail.captured() if RESIDENTS in m.rcpt_tos]
    text = announcement.message.get_body(("plain",))
    assert text is not None
    body = text.get_content()
    assert body.startswith("Bewonersbijeenkomst op ")
    assert not any(odd in body.lower() for odd in ("korte termijn", "short notice", "laat", "late"))
