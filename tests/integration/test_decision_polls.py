"""Decision and date polls (issue 12) against Synapse, with real nio members in an
encrypted core room and the real daemon (``wijkbode run``) as a subprocess.

- A decision poll: members vote (stable ``m.poll.response``, or the unstable
  ``org.matrix.msc3381.poll.response``), one changes their vote, someone who joined
  after the start is not counted, the poll ends at its time, and the end event
  (``org.matrix.msc3381.poll.end``, a reference to the start) carries the result
  and the rule that decided it.
- The daemon SIGKILLed mid-poll: no vote lost, none counted twice.
- A date poll with a majority moves the meeting, with a notice on every channel
  that carried it (both rooms, the residents' mail, the public calendar); one
  without a majority moves nothing and the room hears the counts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import nio
import pytest
from chat_helpers import Watcher, new_watcher
from daemon_runner import (
    CALENDAR,
    RESIDENTS,
    TZ,
    DaemonRunner,
    by_key,
    local,
    make_world,
    q,
    write_secret,
)
from matrix_helpers import wait_joined

from daemon.store import Store
from daemon.store.decisions import StoredDecision, StoredPoll
from harness.dovecot import DovecotServer
from harness.radicale import RadicaleServer
from harness.smtp import SmtpRelay
from harness.synapse import SynapseServer

START = "org.matrix.msc3381.poll.start"
END = "org.matrix.msc3381.poll.end"
STABLE = "m.poll.response"
UNSTABLE = "org.matrix.msc3381.poll.response"

ALLIANCE = """\
timezone = "Europe/Amsterdam"
language = "nl"
state_dir = "state"
default_series = "wijkalliantie"

[series.wijkalliantie]
title = "Wijkalliantie"
public = true
duration = "2h"

[series.wijkalliantie.plan]
dates = [{first}T19:30:00, {second}T19:30:00]
"""


def matrix_section(
    synapse: SynapseServer, bot: str, secret: Path, core: str, *announce: str
) -> str:
    rooms = ", ".join(q(room) for room in announce)
    return (
        f"\n[matrix]\nhomeserver = {q(synapse.base_url)}\nuser_id = {q(bot)}\n"
        f"password_file = {q(secret)}\ncore_room = {q(core)}\nannounce_rooms = [{rooms}]\n"
    )


async def core_group(synapse: SynapseServer, tmp_path: Path, bot: str) -> tuple[list[Watcher], str]:
    """Alice, Bob and Carol in an encrypted core room Alice made, the bot invited."""
    alice = await new_watcher(synapse, "alice", tmp_path)
    others = [await new_watcher(synapse, name, tmp_path) for name in ("bob", "carol")]
    room = await alice.create_room(encrypted=True, invite=[bot, *(m.user_id for m in others)])
    for member in others:
        await member.sync()
        joined = await member.client.join(room)
        assert isinstance(joined, nio.JoinResponse), joined
        await member.sync()
    return [alice, *others], room


async def new_bot(synapse: SynapseServer, tmp_path: Path) -> tuple[str, Path]:
    bot, password = await synapse.register_user(f"wb{tmp_path.name[-6:]}", "pw-" + tmp_path.name)
    return bot, write_secret(tmp_path / "secrets", "matrix", password)


def sent_by(events: list[dict[str, Any]], bot: str, kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e.get("sender") == bot and e.get("type") == kind]


def notices(events: list[dict[str, Any]], bot: str) -> list[str]:
    return [
        str(e["content"].get("body", ""))
        for e in events
        if e.get("sender") == bot and (e.get("content") or {}).get("msgtype") == "m.notice"
    ]


async def wait_for(
    member: Watcher, room: str, found: Callable[[list[dict[str, Any]]], Any], runner: DaemonRunner
) -> Any:
    """Sync until ``found(events)`` is truthy, and return it (the daemon must keep running)."""
    result: Any = None

    def check(events: list[dict[str, Any]]) -> bool:
        nonlocal result
        assert runner.running, runner.log()[-3000:]
        result = found(events)
        return bool(result)

    await member.wait(room, check)
    return result


async def vote(member: Watcher, room: str, start: str, answer: str, kind: str) -> str:
    relation = {"rel_type": "m.reference", "event_id": start}
    if kind == STABLE:
        content: dict[str, Any] = {"m.relates_to": relation, "m.selections": [answer]}
    else:
        content = {"m.relates_to": relation, UNSTABLE: {"answers": [answer]}}
    return await member.send(room, content, kind)


async def stored(
    runner: DaemonRunner,
) -> tuple[list[StoredPoll], dict[int, int], list[StoredDecision]]:
    """The polls, the number of responses per poll, and the decisions, from the store."""
    store = await Store.open(runner.state_dir)
    try:
        async with store.reading() as tx:
            polls = await tx.polls()
            responses = {p.id: len(await tx.poll_responses(p.id)) for p in polls}
            return polls, responses, await tx.decisions()
    finally:
        await store.close()


async def responses_recorded(runner: DaemonRunner, count: int) -> None:
    async def done() -> bool:
        _, responses, _ = await stored(runner)
        return sum(responses.values()) >= count

    await runner.wait_until(done, f"{count} poll responses")


async def file_item(alice: Watcher, room: str, bot: str, runner: DaemonRunner) -> int:
    message = await alice.say(room, "Agendapunt: Bankjes op het plein")

    def number(events: list[dict[str, Any]]) -> int | None:
        for body in notices(events, bot):
            match = re.search(r"WB-(\d+)", body)
            if match and "Bankjes op het plein" in body:
                return int(match[1])
        return None

    found = await wait_for(alice, room, number, runner)
    assert message
    return int(found)


async def start_decision_poll(
    alice: Watcher, room: str, bot: str, runner: DaemonRunner, item: int, closes: str
) -> dict[str, Any]:
    await alice.say(room, f"!besluit WB-{item} sluit {closes}")
    [start] = await wait_for(alice, room, lambda got: sent_by(got, bot, START), runner)
    return dict(start)


# --- a decision poll ------------------------------------------------------------------


@pytest.mark.parametrize("kind", [STABLE, UNSTABLE])
async def test_a_decision_poll_counts_the_latest_vote_of_members_and_ends_with_the_result(
    synapse: SynapseServer, tmp_path: Path, kind: str
) -> None:
    bot, secret = await new_bot(synapse, tmp_path)
    members, room = await core_group(synapse, tmp_path, bot)
    alice, bob, carol = members
    first = date.today() + timedelta(days=30)
    config = ALLIANCE.format(first=first, second=first + timedelta(days=42))
    runner = DaemonRunner(
        tmp_path, config + matrix_section(synapse, bot, secret, room), start=datetime.now(TZ),
        speed=10,
    )  # fmt: skip
    dave = await new_watcher(synapse, "dave", tmp_path)
    try:
        runner.start()
        await runner.wait_running()
        await wait_joined(alice, room, bot)
        item = await file_item(alice, room, bot, runner)
        start = await start_decision_poll(alice, room, bot, runner, item, "2u")
        content = start["content"]
        # The form Element renders, with the stable keys and a numbered text fallback.
        assert [a["id"] for a in content[START]["answers"]] == ["voor", "tegen", "onthouding"]
        assert content["m.poll"]["kind"] == "m.poll.disclosed"
        assert "1. Voor / For\n2. Tegen / Against\n3. Onthouding / Abstain" in content["body"]
        [poll], _, _ = await stored(runner)

        await vote(alice, room, start["event_id"], "voor", kind)
        await vote(bob, room, start["event_id"], "voor", kind)
        await vote(carol, room, start["event_id"], "voor", kind)
        await vote(carol, room, start["event_id"], "tegen", kind)  # changed her mind
        # Dave joins after the poll started: his vote is not counted.
        invited = await alice.client.room_invite(room, dave.user_id)
        assert isinstance(invited, nio.RoomInviteResponse), invited
        await dave.sync()
        assert isinstance(await dave.client.join(room), nio.JoinResponse)
        await dave.sync()
        await vote(dave, room, start["event_id"], "tegen", kind)
        await responses_recorded(runner, 5)

        # Let the clock run on to just before the end: the poll closes at its time.
        await runner.stop()
        runner.jump_to(poll.closes_at - timedelta(minutes=1))
        runner.start()
        await runner.wait_running()
        running_at = runner.sim_now()  # on a busy machine the start may take a while
        [end] = await wait_for(alice, room, lambda got: sent_by(got, bot, END), runner)
        polls, responses, decisions = await stored(runner)
        listed = await runner.cli_json("decisions")
        await runner.stop()
    finally:
        runner.ensure_stopped()
        for member in (*members, dave):
            await member.close()

    relation = end["content"]["m.relates_to"]
    assert relation == {"rel_type": "m.reference", "event_id": start["event_id"]}
    body = end["content"]["body"]
    assert "aangenomen volgens de 50%+1-regel" in body, body
    assert "bewoners: voor 2, tegen 1, onthouding 0" in body
    assert "Gewichten: bewoners 1" in body
    assert "adopted by the 50%+1 rule" in body
    assert "Niet geteld" in body
    assert dave.user_id.split(":")[0][1:] in body
    [decision] = decisions
    assert decision.outcome == "adopted"
    assert decision.counts == {"bewoners": {"voor": 2, "tegen": 1, "onthouding": 0}}
    assert decision.not_counted == (dave.user_id,)
    # Closed at its end (or, when the daemon came up after it, as soon as it ran).
    assert poll.closes_at <= decision.decided_at
    assert decision.decided_at < max(poll.closes_at, running_at) + timedelta(minutes=5)
    assert responses == {poll.id: 5}
    assert polls[0].closed_at == decision.decided_at
    # wijkbode decisions --json: the same decision with its counts, weights and rule.
    [row] = listed["decisions"]
    assert (row["item"], row["method"], row["outcome"], row["rule"]) == (
        item,
        "poll",
        "adopted",
        "50%+1",
    )
    assert row["counts"] == {"bewoners": {"voor": 2, "tegen": 1, "onthouding": 0}}
    assert row["weights"] == {"bewoners": 1}
    # Named as people know him (his localpart: he set no display name), never by his id.
    assert row["not_counted"] == [dave.user_id.split(":")[0][1:]]
    assert listed["open_polls"] == []


async def test_the_daemon_killed_mid_poll_loses_no_vote_and_counts_none_twice(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    bot, secret = await new_bot(synapse, tmp_path)
    members, room = await core_group(synapse, tmp_path, bot)
    alice, bob, carol = members
    first = date.today() + timedelta(days=30)
    config = ALLIANCE.format(first=first, second=first + timedelta(days=42))
    runner = DaemonRunner(
        tmp_path, config + matrix_section(synapse, bot, secret, room), start=datetime.now(TZ),
        speed=1,
    )  # fmt: skip
    try:
        runner.start()
        await runner.wait_running()
        await wait_joined(alice, room, bot)
        item = await file_item(alice, room, bot, runner)
        start = await start_decision_poll(alice, room, bot, runner, item, "3 dagen")
        await vote(alice, room, start["event_id"], "voor", STABLE)
        await vote(bob, room, start["event_id"], "tegen", UNSTABLE)
        await responses_recorded(runner, 2)
        runner.kill()
        # While it is down: Carol votes, Bob changes his vote.
        await vote(carol, room, start["event_id"], "voor", STABLE)
        await vote(bob, room, start["event_id"], "voor", STABLE)
        runner.start()
        await runner.wait_running()
        await responses_recorded(runner, 4)
        runner.kill()  # once more, right after it took the votes in
        runner.start()
        await runner.wait_running()
        await alice.say(room, f"!sluit WB-{item}")
        [end] = await wait_for(alice, room, lambda got: sent_by(got, bot, END), runner)
        polls, responses, decisions = await stored(runner)
        await runner.stop()
    finally:
        runner.ensure_stopped()
        for member in members:
            await member.close()

    assert responses == {polls[0].id: 4}  # each response once
    [decision] = decisions
    assert decision.counts == {"bewoners": {"voor": 3, "tegen": 0, "onthouding": 0}}
    assert decision.outcome == "consensus"
    assert "aangenomen bij consensus" in end["content"]["body"]


# --- date polls -----------------------------------------------------------------------

BEWONERS = """\
[series.bewonersbijeenkomst]
title = "Bewonersbijeenkomst"
public = true
location = "Buurthuis"

[series.bewonersbijeenkomst.plan]
dates = [2027-04-15T19:00:00, 2027-05-20T19:00:00]
"""
SPEED = 600  # ten simulated minutes per real second
MOVED = "meeting/bewonersbijeenkomst-2027-04-15"
STAYS = "meeting/bewonersbijeenkomst-2027-05-20"
CARRIED = [f"{MOVED}/announce/28d/{c}" for c in ("matrix", "mail", "caldav")]
NOTICES = [f"{MOVED}/moved_notice/0/{c}" for c in ("matrix", "mail", "caldav")]


async def settled(runner: DaemonRunner, keys: list[str]) -> bool:
    jobs = by_key(await runner.schedule())
    if any(jobs.get(key, {}).get("status", "pending") == "pending" for key in keys):
        return False
    return not await runner.outbox()


async def test_a_date_poll_with_a_majority_moves_the_meeting_and_one_without_moves_nothing(
    synapse: SynapseServer,
    radicale: RadicaleServer,
    dovecot: DovecotServer,
    smtp_relay: SmtpRelay,
    tmp_path: Path,
) -> None:
    world = await make_world(
        ("caldav", "mail"), tmp_path / "secrets", radicale=radicale, dovecot=dovecot,
        relay=smtp_relay,
    )  # fmt: skip
    assert world.mail is not None
    bot, secret = await new_bot(synapse, tmp_path)
    members, room = await core_group(synapse, tmp_path, bot)
    alice, bob, carol = members
    announce = await alice.create_room(encrypted=False, invite=[bot])
    config = world.config(BEWONERS, default_series="bewonersbijeenkomst") + matrix_section(
        synapse, bot, secret, room, announce
    )
    # Just before the first meeting's announcement (T-28d, 18 March 19:00).
    runner = DaemonRunner(tmp_path, config, start=local("2027-03-18T18:30:00"), speed=SPEED)
    try:
        runner.start()
        await runner.wait_running()
        await wait_joined(alice, room, bot)
        await runner.wait_until(lambda: settled(runner, CARRIED), "the announcement")

        await alice.say(room, "!datumpoll 2027-04-15 2027-04-22 2027-04-29 sluit 5 dagen")
        [start] = await wait_for(alice, room, lambda got: sent_by(got, bot, START), runner)
        assert [a["id"] for a in start["content"][START]["answers"]] == [
            "2027-04-22",
            "2027-04-29",
        ]
        await vote(alice, room, start["event_id"], "2027-04-22", STABLE)
        await vote(bob, room, start["event_id"], "2027-04-29", UNSTABLE)
        await vote(carol, room, start["event_id"], "2027-04-22", STABLE)
        # Everyone voted: it closes at once, and the meeting moves.
        [end] = await wait_for(alice, room, lambda got: sent_by(got, bot, END), runner)
        await runner.wait_until(lambda: settled(runner, NOTICES), "the moved notices")

        await alice.say(room, "!datumpoll 2027-05-20 2027-05-27 2027-06-03 2027-06-10")
        [_, second] = await wait_for(
            alice, room, lambda got: sent_by(got, bot, START)[1:] and sent_by(got, bot, START),
            runner,
        )  # fmt: skip
        await vote(alice, room, second["event_id"], "2027-05-27", STABLE)
        await vote(bob, room, second["event_id"], "2027-06-03", STABLE)
        await vote(carol, room, second["event_id"], "2027-06-10", UNSTABLE)
        ends = await wait_for(
            alice, room, lambda got: len(sent_by(got, bot, END)) == 2 and sent_by(got, bot, END),
            runner,
        )  # fmt: skip
        await runner.wait_until(lambda: settled(runner, []), "quiet")
        meetings = await runner.cli_json("meetings")
        jobs = by_key(await runner.schedule())
        effects = await runner.effects()
        await runner.stop()
    finally:
        runner.ensure_stopped()
        for member in members:
            await member.close()

    body = end["content"]["body"]
    assert "verhuist naar donderdag 22 april 2027" in body, body
    assert "moves to Thursday 22 April 2027" in body
    starts = {m["id"]: m["start"] for m in meetings}
    assert starts["bewonersbijeenkomst-2027-04-15"].startswith("2027-04-22T19:00")
    sources = {m["id"]: m.get("source") for m in meetings}
    assert sources["bewonersbijeenkomst-2027-04-15"] == "poll"
    # A notice on every channel, to every destination, that carried the meeting.
    assert {jobs[key]["status"] for key in NOTICES} == {"fired"}
    destinations = {e.destination for e in effects if "/moved_notice/" in e.key}
    assert destinations == {room, announce, RESIDENTS, CALENDAR}

    no_majority = ends[1]["content"]["body"]
    assert "verhuist niet" in no_majority, no_majority
    assert "donderdag 27 mei 2027: 1" in no_majority
    assert starts["bewonersbijeenkomst-2027-05-20"].startswith("2027-05-20T19:00")
    assert not any(key.startswith(STAYS) and "notice" in key for key in jobs)
