"""A whole publication cycle on the real daemon, Synapse, the SMTP relay and Radicale.

The simulated clock runs from five weeks before a wijkalliantie meeting to the day
after a bewonersbijeenkomst two days later, through a kerngroep meeting and an
afspraak's reminders. Items are filed from the command line while it runs, as mail
or chat would file them; the bewonersbijeenkomst moves a week after it was announced.

Checked: every moment's message arrives once on every channel it belongs to, with its
content (dates and deadlines in words, item titles, the niet-besluitrijp mark, who
sends it and where to answer); nothing arrives that should not (the empty addendum is
skipped and recorded, no reminder after its deadline, nothing of the kerngroep outside
its room); the moved meeting gets its notice and then its folder and reminder at the
new moments only. (The stukken package, the folder PDF and the residents'
subscriptions have their own files.)
"""

from __future__ import annotations

import asyncio
import re
import urllib.parse
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

from clitools import ROOT, wijkbode
from daemon_runner import (
    CALENDAR,
    PARTNER,
    RESIDENTS,
    TZ,
    ChatSide,
    DaemonRunner,
    World,
    by_key,
    local,
    make_world,
)

from daemon.model import AgreementStatus
from daemon.ports.chat import IDEMPOTENCY_CONTENT_KEY
from daemon.ports.outbox import CalendarWrite, Effect, MailOut
from daemon.store import Store
from harness.dovecot import DovecotServer
from harness.radicale import RadicaleServer
from harness.smtp import SmtpRelay
from harness.synapse import SynapseServer

# Half a simulated day per real second: the closest moments (a deadline and its
# reminder two days before) are four real seconds apart, the daemon starts within
# the nine simulated days before the first moment.
SPEED = 43_200
START = local("2027-02-02T19:30:00")  # five weeks before the wijkalliantie
END = local("2027-03-19T20:00:00")  # the day after the moved bewonersbijeenkomst
DOC_EVENT = re.compile(r"/doc/\d+$")
OWNER = "piet@partner.test"  # an afspraak's owner known by mail address

SERIES = """\
[series.wijkalliantie]
title = "Wijkalliantie"
public = true
location = "Buurthuis De Punt"

[series.wijkalliantie.plan]
dates = [2027-03-09T19:30:00]

[series.bewonersbijeenkomst]
title = "Bewonersbijeenkomst"
public = true
location = "Buurthuis De Punt"

[series.bewonersbijeenkomst.plan]
dates = [2027-03-11T19:00:00]
{moved}
[series.kerngroep]
title = "Kerngroep"
location = "Zaal 2"

[series.kerngroep.plan]
dates = [2027-03-01T20:00:00]
"""
MOVE = """
[[series.bewonersbijeenkomst.plan.moved]]
from = 2027-03-11
to = 2027-03-18T19:00:00
"""
W = "meeting/wijkalliantie-2027-03-09"
B = "meeting/bewonersbijeenkomst-2027-03-11"
K = "meeting/kerngroep-2027-03-01"


def keys(meeting: str, moment: str, channels: tuple[str, ...]) -> list[str]:
    return [f"{meeting}/{moment}/{channel}" for channel in channels]


BOTH = ("matrix", "mail")
# The wijkalliantie: the core room hears every moment; partners all but the agenda closing.
W_SENT = [
    *keys(W, "concept_agenda/21d", BOTH),
    *keys(W, "agendapunt/15d", ("matrix",)),
    *(k for kind in ("agendapunt", "stuk", "ter_kennisgeving", "actualiteit")
      for offset in ("7d", "2d") for k in keys(W, f"reminder:{kind}/{offset}", BOTH)),
    *keys(W, "stuk/14d", BOTH),
    *keys(W, "actualiteit/48h", BOTH),
]  # fmt: skip
W_EMPTY = keys(W, "ter_kennisgeving/7d", BOTH)  # nothing came in for it: skipped
B_SENT = [
    *keys(B, "announce/28d", ("matrix", "mail", "caldav")),
    *keys(B, "moved_notice/0", ("matrix", "mail", "caldav")),
    *keys(B, "folder/14d", ("matrix",)),
    *keys(B, "reminder:meeting/2d", BOTH),
]
K_SENT = keys(K, "reminder:meeting/2d", ("matrix",))
W_DEADLINES = {
    "agendapunt": local("2027-02-22T19:30:00"),
    "stuk": local("2027-02-23T19:30:00"),
    "ter_kennisgeving": local("2027-03-02T19:30:00"),
    "actualiteit": local("2027-03-07T19:30:00"),
}


async def test_a_full_cycle_of_a_wijkalliantie_and_a_bewonersbijeenkomst(
    tmp_path: Path,
    radicale: RadicaleServer,
    dovecot: DovecotServer,
    smtp_relay: SmtpRelay,
    synapse: SynapseServer,
) -> None:
    world = await make_world(
        ("caldav", "mail", "matrix"), tmp_path / "secrets",
        radicale=radicale, dovecot=dovecot, relay=smtp_relay, synapse=synapse,
    )  # fmt: skip
    assert world.mail is not None
    assert world.chat is not None

    def config(moved: bool) -> str:
        series = SERIES.format(moved=MOVE if moved else "")
        return world.config(series, default_series="wijkalliantie")

    runner = DaemonRunner(tmp_path, config(moved=False), start=START, speed=SPEED)
    # Before the cycle: an agendapunt and a stuk for the wijkalliantie, two afspraken.
    await file_item(runner, "agendapunt", "Bankjes in het park", "2027-02-01T10:00")
    await file_item(runner, "stuk", "Jaarverslag 2026", "2027-02-01T11:00")
    await add_agreements(runner, world.chat.member)
    try:
        runner.start()
        await runner.wait_running()
        # The bewonersbijeenkomst is announced, then moved a week by the plan.
        await runner.wait_until(lambda: handled(runner, keys(B, "announce/28d", BOTH)), "B-28d")
        runner.write_config(config(moved=True))
        runner.hup()
        notices = keys(B, "moved_notice/0", ("matrix", "mail", "caldav"))
        await runner.wait_until(lambda: handled(runner, notices), "the moved notices")
        # After the package went out (T-14d): an actualiteit, for the T-48h addendum.
        await runner.wait_until(lambda: handled(runner, keys(W, "stuk/14d", BOTH)), "W-14d")
        await file_item(runner, "actualiteit", "Wateroverlast Dorpsstraat", None)
        await runner.wait_until(lambda: finished(runner), "the end of the cycle", within=300)
        schedule = by_key(await runner.schedule())
        effects = await runner.effects()
        await runner.stop()
    finally:
        runner.ensure_stopped()

    assert "Traceback" not in runner.log(), runner.log()[-3000:]
    assert_every_moment_handled_once(schedule)
    await assert_everything_arrived_once(world, effects)
    assert_nothing_that_should_not(schedule, effects, world)
    assert_the_moved_meeting_at_its_new_moments(schedule, effects)
    await assert_the_member_was_reminded_in_a_direct_chat(runner, world, effects)
    await assert_the_content(world, effects)


# --- driving the daemon ---------------------------------------------------------------


async def file_item(runner: DaemonRunner, kind: str, title: str, at: str | None) -> None:
    """``wijkbode file``, as mail or chat would file it; ``at`` None: the simulated now."""
    when = at or runner.sim_now().isoformat(timespec="seconds")
    args = ("file", "--kind", kind, "--title", title, "--at", when, "--series", "wijkalliantie")
    result = await asyncio.to_thread(wijkbode, "--config", str(runner.config_path), *args, cwd=ROOT)
    assert result.returncode == 0, result.stderr


async def add_agreements(runner: DaemonRunner, member: str) -> None:
    """Afspraken due on the kerngroep's day, of an owner by mail (A-1) and of a member of
    the core room (A-3), and one closed as "kan niet" (A-2)."""
    store = await Store.open(runner.state_dir, create=True)
    try:
        async with store.transaction() as tx:
            await tx.add_agreement("Flyers drukken", OWNER, date(2027, 3, 1), START)
            cannot = await tx.add_agreement("Subsidie aanvragen", "Cor", date(2027, 3, 20), START)
            await tx.close_agreement(
                cannot.id, AgreementStatus.CANNOT, "De regeling is gestopt.", START
            )
            await tx.add_agreement("Zaal boeken", member, date(2027, 3, 1), START)
    finally:
        await store.close()


async def handled(runner: DaemonRunner, wanted: list[str]) -> bool:
    jobs = by_key(await runner.schedule())
    return all(jobs.get(key, {}).get("status", "pending") != "pending" for key in wanted)


async def finished(runner: DaemonRunner) -> bool:
    """The clock passed the end, every job is handled and nothing waits in the outbox."""
    if runner.sim_now() < END:
        return False
    jobs = await runner.schedule()
    return all(job["status"] != "pending" for job in jobs) and not await runner.outbox()


# --- checks ---------------------------------------------------------------------------


def assert_every_moment_handled_once(schedule: dict[str, dict[str, Any]]) -> None:
    fired = {k for k, job in schedule.items() if job["status"] == "fired"}
    agreement = [k for k in schedule if k.startswith("agreement/")]
    for key in W_SENT + B_SENT + K_SENT:
        assert key in fired, (key, schedule.get(key))
    for key in W_EMPTY:
        assert schedule[key]["status"] == "skipped", schedule[key]
        assert "leeg addendum" in schedule[key]["note"], schedule[key]
    # An afspraak's reminders went to its owner, by mail or in a direct chat;
    # the overdue reports to the room.
    assert sorted(k for k in agreement if k in fired) == [
        "agreement/1/agreement_overdue/matrix",
        "agreement/1/agreement_reminder/1d/mail",
        "agreement/1/agreement_reminder/7d/mail",
        "agreement/3/agreement_overdue/matrix",
        "agreement/3/agreement_reminder/1d/matrix",
        "agreement/3/agreement_reminder/7d/matrix",
    ]


async def assert_everything_arrived_once(world: World, effects: list[Effect]) -> None:
    """Every outbox row arrived exactly once where it was meant to go."""
    assert world.mail is not None
    assert world.chat is not None
    for alias in world.chat.rooms:
        # A post's files (the folder, the stukken) are events of their own, ``<key>/doc/<n>``:
        # checked in the package's and the folder's own tests.
        arrived = Counter(k for k in await world.chat.keys_in(alias) if not DOC_EVENT.search(k))
        assert arrived == Counter(e.key for e in effects if e.destination == alias), alias
    mails = Counter(e.payload.message_id for e in effects if isinstance(e.payload, MailOut))
    captured = Counter(str(m.message["Message-ID"]) for m in world.mail.captured())
    assert captured == mails
    assert max(mails.values()) == 1
    assert world.calendar is not None
    uids = [str(e["UID"]) for e in await world.calendar.events()]
    assert uids == ["bewonersbijeenkomst-2027-03-11@wijk.test"]


def assert_nothing_that_should_not(
    schedule: dict[str, dict[str, Any]], effects: list[Effect], world: World
) -> None:
    assert world.chat is not None
    announce = world.chat.announce_alias
    # Each job's effects go where RULES.md says, and nowhere else.
    where = {
        (e.key.split("/", 1)[1].rsplit("/", 1)[0], e.destination)
        for e in effects
        if e.key.startswith("job/")
    }
    core = world.chat.core_alias
    expected = {
        *((k, core) for k in W_SENT + B_SENT + K_SENT if k.endswith("/matrix")),
        *((k, PARTNER) for k in W_SENT if k.endswith("/mail")),
        *((k, announce) for k in B_SENT if k.endswith("/matrix") and "/folder/" not in k),
        *((k, RESIDENTS) for k in B_SENT if k.endswith("/mail")),
        *((k, CALENDAR) for k in B_SENT if k.endswith("/caldav")),
    }
    meetings = {(k, d) for k, d in where if k.startswith("meeting/")}
    assert meetings == expected
    # The kerngroep is private: its overview reached the core room only.
    assert {d for k, d in where if k.startswith(K)} == {core}
    # No reminder of a deadline went out at or after its deadline.
    for key, job in schedule.items():
        kind = key.split("/reminder:")[1].split("/")[0] if "/reminder:" in key else "meeting"
        if job["status"] == "fired" and kind in W_DEADLINES:
            assert datetime.fromisoformat(job["fired_at"]) < W_DEADLINES[kind], job
    # The empty addendum sent nothing.
    assert not [e for e in effects if "/ter_kennisgeving/7d/" in e.key]


def assert_the_moved_meeting_at_its_new_moments(
    schedule: dict[str, dict[str, Any]], effects: list[Effect]
) -> None:
    new = {"folder/14d": "2027-03-04T19:00:00+01:00", "reminder:meeting/2d": "2027-03-16T19:00"}
    for moment, due in new.items():
        for key in (k for k in B_SENT if f"/{moment}/" in k):
            job = schedule[key]
            assert job["due_at"].startswith(due), job
            assert job["fired_at"] >= job["due_at"], job
    write = [e.payload for e in effects if isinstance(e.payload, CalendarWrite)]
    assert [(w.start.astimezone(TZ).isoformat(), w.sequence) for w in write] == [
        ("2027-03-11T19:00:00+01:00", 0),
        ("2027-03-18T19:00:00+01:00", 1),
    ]


async def assert_the_content(world: World, effects: list[Effect]) -> None:
    assert world.mail is not None
    assert world.chat is not None
    mails = {
        str(m.message["Message-ID"]): m.message for m in world.mail.captured()
    }  # fmt: skip

    def mail_of(job_key: str) -> str:
        [effect] = [e for e in effects if e.key.startswith(f"job/{job_key}/")]
        assert isinstance(effect.payload, MailOut)
        body = mails[effect.payload.message_id].get_body(("plain",))
        assert body is not None
        assert mails[effect.payload.message_id].get_body(("html",)) is not None
        text: str = body.get_content()
        return text

    address = world.mail.mailbox.address
    concept = mail_of(f"{W}/concept_agenda/21d/mail")
    assert concept.startswith("Concept-agenda van Wijkalliantie op dinsdag 9 maart 2027, 19:30:")
    assert "Bankjes in het park (agendapunt)" in concept
    assert "Jaarverslag 2026 (stuk)" in concept
    assert "stukken ter bespreking of besluitvorming tot dinsdag 23 februari 2027, 19:30" in concept
    assert f"Stuur het naar {address}" in concept
    assert "Wateroverlast" not in concept

    reminder = mail_of(f"{W}/reminder:stuk/7d/mail")
    assert "Tot dinsdag 23 februari 2027, 19:30 kun je nog stukken ter bespreking" in reminder
    assert f"Stuur het naar {address}" in reminder

    package = mail_of(f"{W}/stuk/14d/mail")
    assert package.startswith("Definitieve agenda van Wijkalliantie op dinsdag 9 maart 2027")
    assert "Jaarverslag 2026 (stuk)" in package

    addendum = mail_of(f"{W}/actualiteit/48h/mail")
    assert "Wateroverlast Dorpsstraat (actualiteit; niet besluitrijp:" in addendum
    assert "Jaarverslag" not in addendum

    residents = mail_of(f"{B}/reminder:meeting/2d/mail")
    assert residents.startswith(
        "Herinnering: Bewonersbijeenkomst is op donderdag 18 maart 2027, 19:00"
    )
    assert "11 maart" not in residents
    owner = mail_of("agreement/1/agreement_reminder/7d/mail")
    assert owner.startswith("Herinnering: je afspraak A-1 “Flyers drukken” moet af zijn op")
    for text in (concept, reminder, package, addendum, residents, owner):
        assert "Van Wijkbode, namens het bewonerscollectief." in text
        assert "— English —" in text

    core = await bodies(world.chat, world.chat.core_alias)
    overview = core[f"job/{K}/reminder:meeting/2d/matrix/{world.chat.core_alias}"]
    assert overview.startswith("Kerngroep vergadert op maandag 1 maart 2027, 20:00")
    assert "A-1 “Flyers drukken”" in overview
    assert "Subsidie aanvragen" in overview
    assert "De regeling is gestopt." in overview
    overdue = next(b for k, b in core.items() if "/agreement_overdue/" in k)
    assert overdue.startswith("Over tijd: de afspraak “Flyers drukken”")
    closing = core[f"job/{W}/agendapunt/15d/matrix/{world.chat.core_alias}"]
    assert closing.startswith("De agenda van Wijkalliantie op dinsdag 9 maart 2027, 19:30 is")
    moved = core[f"job/{B}/moved_notice/0/matrix/{world.chat.core_alias}"]
    assert moved.startswith(
        "Verplaatst: Bewonersbijeenkomst is nu op donderdag 18 maart 2027, 19:00"
    )
    assert "Eerder gepland op donderdag 11 maart 2027, 19:00." in moved


async def assert_the_member_was_reminded_in_a_direct_chat(
    runner: DaemonRunner, world: World, effects: list[Effect]
) -> None:
    """One direct chat, opened for the first reminder and used again for the second."""
    chat = world.chat
    assert chat is not None
    store = await Store.open(runner.state_dir)
    try:
        async with store.reading() as tx:
            room = await tx.direct_room(chat.member)
    finally:
        await store.close()
    reminders = [e for e in effects if e.key.startswith("job/agreement/3/agreement_reminder/")]
    # Failed once in CI (not reproduced): say where the reminders went, if not there.
    assert room is not None, [
        (e.key, e.destination, e.status, e.attempts, e.last_error, e.remote_id) for e in reminders
    ]
    assert {e.destination for e in reminders} == {chat.member}
    quoted = urllib.parse.quote(room, safe="")
    await chat.synapse.client_api(
        "POST", f"/_matrix/client/v3/rooms/{quoted}/join", chat.member_token, {}
    )
    chat.rooms.setdefault(room, room)
    seen = await bodies(chat, room)
    assert sorted(seen) == sorted(e.key for e in reminders)
    for text in seen.values():
        assert text.startswith("Herinnering: je afspraak A-3 “Zaal boeken” moet af zijn op ")
        assert "!klaar A-3" in text
    # Nothing of it in the core room: the room hears the overdue report only.
    core = await bodies(chat, chat.core_alias)
    assert not [k for k in core if "/agreement/3/agreement_reminder/" in k]
    assert any("/agreement/3/agreement_overdue/" in k for k in core)


async def bodies(chat: ChatSide, alias: str) -> dict[str, str]:
    """The bot's messages in a room by idempotency key, as the member reads them."""
    room = urllib.parse.quote(chat.rooms[alias], safe="")
    found: dict[str, str] = {}
    since: str | None = None
    while True:
        query = {"dir": "f", "limit": "500", **({"from": since} if since else {})}
        path = f"/_matrix/client/v3/rooms/{room}/messages?{urllib.parse.urlencode(query)}"
        page = await chat.synapse.client_api("GET", path, chat.member_token)
        for event in page.get("chunk", []):
            content = event.get("content", {})
            key = content.get(IDEMPOTENCY_CONTENT_KEY)
            if isinstance(key, str) and event.get("sender") == chat.bot:
                found[key] = str(content.get("body", ""))
        if not page.get("chunk") or "end" not in page:
            return found
        since = page["end"]
