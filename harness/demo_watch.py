"""What the newcomer sees arrive, as it arrives: mail the relay captured, calendar events,
room messages; and ``wait_until`` for a step that waits for one of them.
"""

from __future__ import annotations

import asyncio
import base64
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import TypeVar

import icalendar

from harness.demo_member import RoomEvent
from harness.demo_report import Report
from harness.smtp import CapturedMail, SmtpRelay

T = TypeVar("T")

POLL_S = 0.25
CALENDAR_POLL_S = 1.0


async def wait_until(find: Callable[[], T | None], within: float) -> T | None:
    """Poll ``find`` until it returns something or ``within`` seconds pass."""
    deadline = time.monotonic() + within
    while True:
        found = find()
        if found is not None or time.monotonic() >= deadline:
            return found
        await asyncio.sleep(POLL_S)


def mail_text(message: EmailMessage) -> str:
    """The plain-text body (or the first text part) of a message, for showing."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        return str(part.get_content())
    except (LookupError, ValueError):
        return "(onleesbare tekst / unreadable text)"


def show_mail(report: Report, mail: CapturedMail, max_lines: int = 8) -> None:
    message = mail.message
    label = (
        f"✉ mail van/from {message['From']} aan/to {', '.join(mail.rcpt_tos)}"
        f" — {message['Subject']}"
    )
    report.show(label, mail_text(message), max_lines=max_lines)


@dataclass
class MailWatch:
    """Shows each mail the relay captures (everything Wijkbode sends outside wijk.test)."""

    relay: SmtpRelay
    report: Report
    seen: list[CapturedMail] = field(default_factory=list)

    async def run(self) -> None:
        while True:
            for mail in self.relay.captured_mail()[len(self.seen) :]:
                self.seen.append(mail)
                show_mail(self.report, mail)
            await asyncio.sleep(POLL_S)


@dataclass(frozen=True)
class CalendarEntry:
    uid: str
    summary: str
    start: str
    status: str
    sequence: int


@dataclass
class CalendarWatch:
    """Shows each event that appears (or changes) in Wijkbode's CalDAV calendar."""

    url: str
    username: str
    password: str
    report: Report
    entries: dict[str, CalendarEntry] = field(default_factory=dict)

    async def run(self) -> None:
        while True:
            for entry in await asyncio.to_thread(self._read):
                if self.entries.get(entry.uid) != entry:
                    self.entries[entry.uid] = entry
                    self.report.show(
                        "📅 agenda / calendar (CalDAV)",
                        f"{entry.summary}\n{entry.start}  [{entry.status}]",
                    )
            await asyncio.sleep(CALENDAR_POLL_S)

    def _read(self) -> list[CalendarEntry]:
        # A plain GET on a Radicale calendar returns the whole calendar as one ICS.
        request = urllib.request.Request(self.url)
        login = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {login}")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                data = answer.read()
        except (OSError, urllib.error.URLError):
            return []
        if not data.strip():
            return []
        calendar = icalendar.Calendar.from_ical(data)
        return [_entry(event) for event in calendar.walk("VEVENT")]


def _entry(event: icalendar.cal.Component) -> CalendarEntry:
    start = event.get("DTSTART")
    when = start.dt.isoformat() if start is not None else "?"
    return CalendarEntry(
        uid=str(event.get("UID", "")),
        summary=str(event.get("SUMMARY", "")),
        start=when,
        status=str(event.get("STATUS", "CONFIRMED")),
        sequence=int(event.get("SEQUENCE", 0)),
    )


def room_printer(
    report: Report, labels: dict[str, str], own_user: str
) -> Callable[[RoomEvent], None]:
    """``on_message`` for alice: show what others (Wijkbode) say in the demo's rooms."""

    def show(event: RoomEvent) -> None:
        if event.sender == own_user:
            return
        room = labels.get(event.room_id, event.room_id)
        if event.reaction_key is not None:
            report.line(f"   💬 {room} · {event.sender} reageert / reacts {event.reaction_key}")
        elif event.content.get("msgtype") in ("m.file", "m.image"):
            report.line(f"   📎 {room} · {event.sender} stuurt / sends: {event.body}")
        elif event.event_type == "m.room.message":
            report.show(f"💬 {room} · {event.sender}:", event.body)

    return show
