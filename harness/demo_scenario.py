"""The demo's story, step by step: each step acts as a partner or a member would, then waits
(bounded) for Wijkbode's answer and reports it as done, or says plainly that none came.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import TypeVar

import aiosmtplib

from harness.demo_config import (
    ADDRESS,
    PARTNER,
    RESIDENTS,
    TIMEZONE,
    DemoPlan,
)
from harness.demo_daemon import DaemonProcess, run_cli
from harness.demo_member import DemoMember, RoomEvent
from harness.demo_pdf import tiny_pdf
from harness.demo_report import Report
from harness.demo_watch import CalendarWatch, MailWatch, wait_until
from harness.smtp import CapturedMail, SmtpRelay

STUK_TITLE = "Renovatieplan Meeuwenlaan 2027"
SCHEDULED_STEPS = ("e-calendar", "e-announce-room", "e-residents-mail", "e-reminder")
AGENDAPUNT = "Agendapunt: Speeltuin Meeuwenpark"

T = TypeVar("T")


@dataclass
class Demo:
    """Everything the steps use; ``daemon`` is ``None`` when it did not start."""

    report: Report
    relay: SmtpRelay
    member: DemoMember
    daemon: DaemonProcess | None
    config: Path
    bot: str
    core_room: str
    announce_room: str
    plan: DemoPlan
    speed: float | None
    step_timeout: float
    log_name: str
    mail: MailWatch
    calendar: CalendarWatch
    started_wall: datetime  # when the daemon's clock started (UTC)
    started_mono: float  # the same moment on time.monotonic()
    once: bool = False  # the demo stops after the scenario (and the daemon with it)

    @property
    def daemon_running(self) -> bool:
        return self.daemon is not None and self.daemon.returncode is None

    def bot_events(self, room_id: str, since: float) -> list[RoomEvent]:
        return [
            e
            for e in self.member.messages
            if e.room_id == room_id and e.sender == self.bot and e.seen_at >= since
        ]


async def play(demo: Demo) -> None:
    """Steps join, a, b, c, d, e in order; each one reports its own result."""
    await join_rooms(demo)
    await partner_mails_a_stuk(demo)
    await member_files_agendapunt(demo)
    await member_asks_agenda(demo)
    await cli_shows_agenda_and_deadlines(demo)
    await scheduled_moments(demo)


async def join_rooms(demo: Demo) -> None:
    demo.report.heading(
        "Stap 1 · Step 1 — Wijkbode in de kamers / Wijkbode in the rooms",
        "Alice heeft Wijkbode uitgenodigd in de versleutelde kerngroep-kamer en de wijkkamer; "
        "Wijkbode neemt uitnodigingen voor kamers uit zijn configuratie aan.",
        "Alice invited Wijkbode to the encrypted core-group room and the announce room; "
        "Wijkbode accepts invites to the rooms in its configuration.",
    )
    if not demo.daemon_running:
        demo.report.blocked("join", "daemon")
        return
    rooms = (demo.core_room, demo.announce_room)
    joined = await wait_until(
        lambda: True if all(demo.member.is_joined(r, demo.bot) for r in rooms) else None,
        demo.step_timeout,
    )
    if joined:
        demo.report.done("join", "in #kerngroep en #wijk / in both rooms")
    else:
        demo.report.no_answer("join", demo.step_timeout, demo.log_name)


async def partner_mails_a_stuk(demo: Demo) -> None:
    demo.report.heading(
        "Stap a · Step a — een partner mailt een stuk / a partner mails a document",
        f"Ymere ({PARTNER}) mailt '[stuk] {STUK_TITLE}' met een pdf naar {ADDRESS}. "
        "Wijkbode leest de postbus (IMAP), zet het stuk op de agenda, stuurt een "
        "ontvangstbevestiging en meldt het in de kerngroep-kamer.",
        f"Ymere mails '[stuk] {STUK_TITLE}' with a PDF to {ADDRESS}. Wijkbode reads the "
        "mailbox (IMAP), files it on the agenda, mails a receipt and posts it in the core room.",
    )
    if not demo.daemon_running:
        demo.report.blocked("a-receipt", "daemon")
        demo.report.blocked("a-room", "daemon")
        return
    message = partner_mail()
    since = time.monotonic()
    try:
        await demo.relay.deliver(bytes(message), PARTNER, [ADDRESS])
    except (OSError, aiosmtplib.SMTPException) as error:
        demo.report.failed("a-receipt", f"mail not sent: {error}")
        demo.report.blocked("a-room", "a-receipt")
        return
    demo.report.line(f"   → verstuurd / sent: {message['Subject']} (+ pdf) → {ADDRESS}")
    receipt = await wait_until(
        lambda: _receipt(demo.mail.seen, str(message["Message-ID"])), demo.step_timeout
    )
    if receipt is not None:
        demo.report.done("a-receipt", f"'{receipt.message['Subject']}' → {PARTNER}")
    else:
        demo.report.no_answer("a-receipt", demo.step_timeout, demo.log_name)
    await _wait_for_room_post(demo, "a-room", since)


async def _wait_for_room_post(demo: Demo, step: str, since: float) -> None:
    if not demo.report.is_done("join"):
        demo.report.blocked(step, "join")
        return
    remaining = max(1.0, since + demo.step_timeout - time.monotonic())
    post = await wait_until(
        lambda: next(
            (e for e in demo.bot_events(demo.core_room, since) if "Renovatieplan" in e.body),
            None,
        ),
        remaining,
    )
    if post is not None:
        demo.report.done(step, "alice ziet het stuk in #kerngroep / alice sees it in the room")
    else:
        demo.report.no_answer(step, demo.step_timeout, demo.log_name)


def _receipt(seen: list[CapturedMail], message_id: str) -> CapturedMail | None:
    for mail in seen:
        if PARTNER not in mail.rcpt_tos:
            continue
        replied = mail.message["In-Reply-To"] or ""
        if message_id in replied or "Renovatieplan" in (mail.message["Subject"] or ""):
            return mail
    return None


def partner_mail() -> EmailMessage:
    """The partner's mail: a short Dutch letter with a small PDF attached."""
    message = EmailMessage()
    message["From"] = f"Secretariaat Ymere <{PARTNER}>"
    message["To"] = f"Wijkalliantie <{ADDRESS}>"
    message["Subject"] = f"[stuk] {STUK_TITLE}"
    message["Date"] = format_datetime(datetime.now(TIMEZONE))
    message["Message-ID"] = make_msgid(domain="ymere.nl")
    message.set_content(
        "Beste wijkalliantie,\n\n"
        "Hierbij het renovatieplan voor de Meeuwenlaan, graag voor de volgende vergadering.\n\n"
        "Met vriendelijke groet,\nSecretariaat Ymere\n"
    )
    message.add_attachment(
        tiny_pdf(STUK_TITLE),
        maintype="application",
        subtype="pdf",
        filename="renovatieplan-meeuwenlaan.pdf",
    )
    return message


async def member_files_agendapunt(demo: Demo) -> None:
    demo.report.heading(
        "Stap b · Step b — een agendapunt uit de chat / an agenda point from the chat",
        f"Alice schrijft '{AGENDAPUNT}' in de versleutelde kerngroep-kamer; "
        "Wijkbode zet het op de agenda en bevestigt in een draadje.",
        f"Alice writes '{AGENDAPUNT}' in the encrypted core room; Wijkbode files it and "
        "confirms in a thread.",
    )
    await _ask_in_core_room(demo, "b-confirm", AGENDAPUNT, "bevestiging / confirmation")


async def member_asks_agenda(demo: Demo) -> None:
    demo.report.heading(
        "Stap c · Step c — wat staat er op de agenda? / what is on the agenda?",
        "Alice vraagt '!agenda'; Wijkbode antwoordt met de agenda van de volgende vergadering.",
        "Alice asks '!agenda'; Wijkbode answers with the next meeting's agenda.",
    )
    await _ask_in_core_room(demo, "c-agenda", "!agenda", "antwoord / answer")


async def _ask_in_core_room(demo: Demo, step: str, text: str, what: str) -> None:
    """Alice says ``text``; done when Wijkbode answers in relation to it (reply or thread)."""
    if not demo.report.is_done("join"):
        demo.report.blocked(step, "join")
        return
    since = time.monotonic()
    try:
        event_id = await demo.member.say(demo.core_room, text)
    except (OSError, RuntimeError) as error:
        demo.report.failed(step, f"alice could not send: {error}")
        return
    demo.report.line(f"   → alice in #kerngroep: {text}")
    answer = await wait_until(
        lambda: next(
            (
                e
                for e in demo.bot_events(demo.core_room, since)
                if e.relates_to(event_id) and e.event_type == "m.room.message"
            ),
            None,
        ),
        demo.step_timeout,
    )
    if answer is not None:
        demo.report.done(step, f"{what}: {answer.body.splitlines()[0][:80]}")
    else:
        demo.report.no_answer(step, demo.step_timeout, demo.log_name)


async def cli_shows_agenda_and_deadlines(demo: Demo) -> None:
    config = demo.config
    demo.report.heading(
        "Stap d · Step d — de beheerder kijkt mee / the operator looks",
        f"De opdrachtregel leest dezelfde database: 'wijkbode --config {config} agenda --json' "
        "en 'wijkbode deadlines'.",
        "The command line reads the same database: the next meeting's agenda as JSON, and "
        "every upcoming moment.",
    )
    try:
        agenda = await run_cli(config, "agenda", "--json")
        deadlines = await run_cli(config, "deadlines")
    except (OSError, TimeoutError) as error:
        demo.report.failed("d-cli", f"{type(error).__name__}: {error}")
        return
    demo.report.show("$ wijkbode agenda --json", _pretty(agenda.stdout) or agenda.stderr)
    demo.report.show("$ wijkbode deadlines", deadlines.stdout or deadlines.stderr, max_lines=14)
    if agenda.code == 0 and deadlines.code == 0:
        titles = [item.get("title", "") for item in json.loads(agenda.stdout).get("items", [])]
        demo.report.done("d-cli", f"{len(titles)} punt(en) / item(s) on the next agenda")
    else:
        demo.report.failed("d-cli", f"exit {agenda.code} / {deadlines.code}")


def _pretty(text: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


async def scheduled_moments(demo: Demo) -> None:
    plan = demo.plan
    demo.report.heading(
        "Stap e · Step e — geplande momenten / scheduled moments",
        f"De bewonersbijeenkomst van {plan.bewonersbijeenkomst:%d-%m %H:%M} wordt 28 dagen "
        f"vooraf aangekondigd ({plan.announce_at:%d-%m %H:%M}): in de agenda, de wijkkamer en "
        f"per mail aan {RESIDENTS}; de kerngroep krijgt 2 dagen vooraf een herinnering "
        f"({plan.reminder_at:%d-%m %H:%M}).",
        "The resident meeting is announced 28 days ahead (calendar, announce room, residents' "
        "mail); the core group is reminded 2 days before its meeting.",
    )
    if not demo.daemon_running:
        for step in SCHEDULED_STEPS:
            demo.report.blocked(step, "daemon")
        return
    # Without --speed the daemon runs in real time: a moment due within the step timeout
    # is awaited like the others, a later one is said to come later (and when).
    for step, (find, needs_join) in _finders(demo).items():
        if demo.speed is None and not _due_soon(demo, step):
            report_unwatched(demo.report, step, demo.plan, once=demo.once)
        else:
            await _expect(demo, step, find, needs_join=needs_join)


def _finders(demo: Demo) -> dict[str, tuple[Callable[[], object | None], bool]]:
    """Per scheduled step: how to see that it arrived, and whether it needs the rooms."""

    def core_reminder() -> RoomEvent | None:
        posts = demo.bot_events(demo.core_room, demo.started_mono)
        return _first([e for e in posts if "Kerngroep" in e.body])

    return {
        "e-calendar": (lambda: _calendar_has(demo), False),
        "e-announce-room": (
            lambda: _first(demo.bot_events(demo.announce_room, demo.started_mono)),
            True,
        ),
        "e-residents-mail": (
            lambda: _first([m for m in demo.mail.seen if RESIDENTS in m.rcpt_tos]),
            False,
        ),
        "e-reminder": (core_reminder, True),
    }


def due_at(step: str, plan: DemoPlan) -> datetime:
    """The local moment a scheduled step waits for: the reminder has its own."""
    return plan.reminder_at if step == "e-reminder" else plan.announce_at


def _due_soon(demo: Demo, step: str) -> bool:
    due = _real_time_of(demo, due_at(step, demo.plan))
    return due <= time.monotonic() + demo.step_timeout


def report_unwatched(report: Report, step: str, plan: DemoPlan, *, once: bool) -> None:
    """A moment not awaited (no ``--speed``, not due soon): say when it comes, truthfully.

    Only ``--once`` really misses it (it stops the daemon first); otherwise the demo
    keeps running and what arrives is shown below the summary.
    """
    when = f"{due_at(step, plan):%H:%M}"
    if once:
        report.skipped(
            step,
            f"niet afgewacht: het komt om {when} en --once stopt eerder / not waited for: "
            f"it is due at {when} and --once stops before that (try --speed 600)",
        )
    else:
        report.later(
            step,
            f"komt om {when} (echte tijd), na de samenvatting; het verschijnt hieronder "
            f"/ due at {when} (real time), after the summary; it appears below",
        )


async def _expect(
    demo: Demo,
    step: str,
    find: Callable[[], object | None],
    *,
    needs_join: bool = False,
) -> None:
    """Done when ``find`` finds it by the step's moment plus the step timeout."""
    if needs_join and not demo.report.is_done("join"):
        demo.report.blocked(step, "join")
        return
    moment = due_at(step, demo.plan)
    timeout = max(0.0, _real_time_of(demo, moment) - time.monotonic()) + demo.step_timeout
    if await wait_until(find, timeout) is not None:
        when = f"{moment:%d-%m %H:%M}"
        demo.report.done(step, f"om {when} op de klok van de daemon / due {when} daemon clock")
    else:
        demo.report.no_answer(step, timeout, demo.log_name)


def _real_time_of(demo: Demo, local_moment: datetime) -> float:
    """When (time.monotonic) the daemon's clock (fast with --speed) reaches a local moment."""
    moment = local_moment.replace(tzinfo=TIMEZONE).astimezone(UTC)
    speed = demo.speed or 1.0
    return demo.started_mono + (moment - demo.started_wall).total_seconds() / speed


def _calendar_has(demo: Demo) -> bool | None:
    day = f"{demo.plan.bewonersbijeenkomst:%Y-%m-%d}"
    found = any(e.start.startswith(day) for e in demo.calendar.entries.values())
    return True if found else None


def _first(found: Sequence[T]) -> T | None:
    return found[0] if found else None
