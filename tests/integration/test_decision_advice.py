"""A non-binding advice against the mail stack and Synapse (issue 12), the real daemon.

A partner's stuk is filed by mail and decided at the meeting (``!uitslag``); the
partner will not carry it out (``!advies``): it is mailed the decision with a request
for a motivated answer by the due date, in the stuk's own mail thread. Its reply is
filed as the motivation, shown in the core room and listed by ``wijkbode decisions``;
the afspraak that tracked it is closed. A second advice left unanswered is reminded
before it is due and reported overdue after, like any afspraak.
"""

from __future__ import annotations

import re
from email.message import Message
from pathlib import Path
from typing import Any

from chat_helpers import Watcher
from daemon_runner import PARTNER, DaemonRunner, by_key, local, make_world
from mailintake import message
from matrix_helpers import wait_joined
from test_decision_polls import core_group, matrix_section, new_bot, notices, wait_for

from daemon.store import Store
from harness.dovecot import DovecotServer
from harness.smtp import SmtpRelay
from harness.synapse import SynapseServer

SERIES = """\
[series.wijkalliantie]
title = "Wijkalliantie"
public = true
duration = "2h"

[series.wijkalliantie.plan]
dates = [2027-04-06T19:30:00, 2027-06-01T19:30:00]
"""
SPEED = 60  # a simulated minute per real second


async def _item_of(alice: Watcher, room: str, bot: str, runner: DaemonRunner, title: str) -> int:
    def number(events: list[dict[str, Any]]) -> int | None:
        for body in notices(events, bot):
            match = re.search(r"WB-(\d+)", body)
            if match and title in body:
                return int(match[1])
        return None

    return int(await wait_for(alice, room, number, runner))


async def _agreements(runner: DaemonRunner) -> dict[int, str]:
    store = await Store.open(runner.state_dir)
    try:
        async with store.reading() as tx:
            return {a.id: a.status.value for a in await tx.agreements()}
    finally:
        await store.close()


async def test_advice_mailed_in_the_items_thread_answered_reminded_and_reported_overdue(
    synapse: SynapseServer,
    dovecot: DovecotServer,
    smtp_relay: SmtpRelay,
    tmp_path: Path,
) -> None:
    world = await make_world(("mail",), tmp_path / "secrets", dovecot=dovecot, relay=smtp_relay)
    assert world.mail is not None
    mail = world.mail
    bot, secret = await new_bot(synapse, tmp_path)
    members, room = await core_group(synapse, tmp_path, bot)
    alice = members[0]
    config = world.config(SERIES, default_series="wijkalliantie") + matrix_section(
        synapse, bot, secret, room
    )
    runner = DaemonRunner(tmp_path, config, start=local("2027-03-01T10:00:00"), speed=SPEED)
    try:
        runner.start()
        await runner.wait_running()
        await wait_joined(alice, room, bot)
        # The partner's stuk, by mail: the start of the thread the request continues.
        stuk_id = "<stuk-bankjes@partner.test>"
        raw = message(to=mail.mailbox.address, subject="Bankjes op het plein", message_id=stuk_id)
        await mail.relay.deliver(raw, PARTNER, [mail.mailbox.address])
        first = await _item_of(alice, room, bot, runner, "Bankjes op het plein")
        await alice.say(room, f"!accepteer WB-{first}")  # unsigned mail waits for acceptance
        await alice.say(room, "Agendapunt: Speeltuin opknappen")
        second = await _item_of(alice, room, bot, runner, "Speeltuin opknappen")
        for item in (first, second):
            await alice.say(room, f"!uitslag WB-{item} voor 3 tegen 0")
            await alice.say(room, f"!advies WB-{item} Partner")

        def requests() -> list[Message]:
            return [
                m.message
                for m in mail.captured()
                if "Niet-bindend advies" in str(m.message["Subject"])
            ]

        await runner.wait_until(_async(lambda: len(requests()) == 2), "the two requests")
        request = next(m for m in requests() if f"[WB-{first}]" in str(m["Subject"]))
        assert request["In-Reply-To"] == stuk_id
        assert stuk_id in str(request["References"])
        assert request["To"] == PARTNER
        body = request.get_body(("plain",))
        assert body is not None
        text = body.get_content()
        assert "niet-bindend advies" in text
        assert "uiterlijk maandag 29 maart 2027" in text  # 28 days, before 6 April
        assert "by Monday 29 March 2027" in text

        # The partner answers; only its own text (not the quote) is the motivation.
        reply = message(
            sender=PARTNER,
            to=mail.mailbox.address,
            subject=f"Re: {request['Subject']}",
            text="Wij hebben er dit jaar geen budget voor.\n\n> De alliantie besloot ...\n",
            headers=[("In-Reply-To", request["Message-ID"]), ("References", request["Message-ID"])],
        )
        await mail.relay.deliver(reply, PARTNER, [mail.mailbox.address])
        answered = await wait_for(
            alice,
            room,
            lambda got: [b for b in notices(got, bot) if "beantwoordde het niet-bindend" in b],
            runner,
        )
        assert "Wij hebben er dit jaar geen budget voor." in answered[0]
        assert "De alliantie besloot" not in answered[0]
        listed = await runner.cli_json("decisions")

        # Let time pass: the unanswered advice is reminded, then reported overdue.
        await runner.stop()
        runner.jump_to(local("2027-03-27T08:00:00"))  # after the 7-day reminder's moment
        runner.start()
        await runner.wait_running()
        await runner.wait_until(lambda: _fired(runner, "agreement_reminder/7d"), "the reminder")
        await runner.stop()
        runner.jump_to(local("2027-03-30T10:00:00"))  # the morning after the due date
        runner.start()
        await runner.wait_running()
        await runner.wait_until(lambda: _fired(runner, "agreement_overdue"), "the overdue report")
        jobs = by_key(await runner.schedule())
        agreements = await _agreements(runner)
        await runner.stop()
    finally:
        runner.ensure_stopped()
        for member in members:
            await member.close()

    [with_answer, without] = sorted(listed["decisions"], key=lambda row: row["item"])
    assert with_answer["advice"]["motivation"] == "Wij hebben er dit jaar geen budget voor."
    assert with_answer["advice"]["partner"] == "Partner"
    assert without["advice"]["motivation"] is None
    assert without["advice"]["due"] == "2027-03-29"
    # The answered advice's afspraak is done; the other one is still open and overdue.
    assert sorted(agreements.values()) == ["done", "open"]
    [open_id] = [n for n, status in agreements.items() if status == "open"]
    [done_id] = [n for n, status in agreements.items() if status == "done"]
    assert jobs[f"agreement/{open_id}/agreement_overdue/matrix"]["status"] == "fired"
    reminded = [k for k in jobs if k.startswith(f"agreement/{open_id}/agreement_reminder/7d/")]
    assert reminded
    assert {jobs[k]["status"] for k in reminded} == {"fired"}
    # The answered one is neither reminded nor reported any more.
    done_jobs = [job for key, job in jobs.items() if key.startswith(f"agreement/{done_id}/")]
    assert not [job for job in done_jobs if job["status"] == "fired"]


def _async(check: Any) -> Any:
    async def run() -> bool:
        return bool(check())

    return run


async def _fired(runner: DaemonRunner, moment: str) -> bool:
    jobs = await runner.schedule()
    return any(moment in job["key"] and job["status"] == "fired" for job in jobs)
