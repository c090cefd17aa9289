"""CalDAV write cost against Radicale as the calendar fills: creates, moves, resends.

    python bench/caldav_writes.py [--events 60]

Starts Radicale on loopback with one fresh user. Through ``CaldavChannel``:
N new meetings (each a create), then each meeting moved by a week (an update
in place), then each move sent again (a resend that writes nothing). Then,
straight through caldav, one search by UID in the full calendar: the request
the channel needs only for an event it cannot find at its own URL (the
fallback for an event stored under another name). Per phase: writes per
second and the channel's time per write, median/first/last (a time that
grows from first to last means the cost grows with the calendar).
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from common import median_first_last, run_folder

from connectors.calendar.channel import CaldavChannel
from connectors.calendar.connection import resolved
from daemon.config.schema import CaldavConfig
from daemon.config.secret import Secret
from daemon.ports.outbox import CalendarWrite, ChannelName, Effect, EffectStatus
from harness.radicale import RadicaleServer

TZ = ZoneInfo("Europe/Amsterdam")
FIRST_MEETING = datetime(2028, 1, 4, 18, 30, tzinfo=UTC)
WRITTEN_AT = datetime(2027, 12, 1, 12, 0, tzinfo=UTC)


def meeting(number: int, *, moved: bool = False) -> CalendarWrite:
    """Meeting ``number`` (weekly), or the same meeting a week later with SEQUENCE 1."""
    start = FIRST_MEETING + timedelta(weeks=number + (1 if moved else 0))
    return CalendarWrite(
        uid=f"{start:%Y-%m-%d}-buurt-{number}@bench.test",
        action="upsert",
        summary=f"Buurtoverleg {number}",
        start=start,
        end=start + timedelta(hours=2),
        location="Buurthuis",
        description="Aankondiging / Announcement",
        sequence=1 if moved else 0,
    )


def as_effect(write: CalendarWrite, number: int) -> Effect:
    return Effect(
        id=number,
        channel=ChannelName.CALDAV,
        destination="Wijkagenda",
        key=f"bench/{number}",
        payload=write,
        created_at=WRITTEN_AT,
        status=EffectStatus.PENDING,
        attempts=0,
        next_attempt_at=None,
        last_error=None,
        delivered_at=None,
        remote_id=None,
    )


async def timed(calls: Sequence[Callable[[], Awaitable[object]]]) -> tuple[list[float], float]:
    """Run ``calls`` one after another: (seconds of each, seconds in all)."""
    each: list[float] = []
    started = time.perf_counter()
    for call in calls:
        begun = time.perf_counter()
        await call()
        each.append(time.perf_counter() - begun)
    return each, time.perf_counter() - started


def line(label: str, each: list[float], elapsed: float) -> str:
    return (
        f"  {label:<8} {len(each):>4} writes in {elapsed:6.2f} s: {len(each) / elapsed:6.1f}/s;"
        f" per write: {median_first_last(each, width='6')}"
    )


async def measure(events: int, root: Path) -> list[str]:
    radicale = RadicaleServer(root / "radicale")
    await radicale.start()
    try:
        password = secrets.token_urlsafe(12)
        account = radicale.add_user(f"bench{secrets.token_hex(3)}", password)
        secret_file = root / "caldav-password"
        secret_file.write_text(password + "\n")
        config = CaldavConfig(
            url=account.url,
            calendar="Wijkagenda",
            username=account.name,
            password=Secret(where="bench", file=secret_file),
        )
        channel = CaldavChannel(config, TZ)
        try:
            await channel.connection.calendar()  # the login and MKCALENDAR are not a write
            report = [f"Radicale, {events} events, one write at a time:"]
            for label, moved in (("create", False), ("move", True), ("resend", True)):
                calls = [
                    lambda n=n, m=moved: channel.deliver(as_effect(meeting(n, moved=m), n))
                    for n in range(events)
                ]
                report.append(line(label, *await timed(calls)))
            calendar = await channel.connection.calendar()
            uid = meeting(events // 2).uid
            search = [lambda: resolved(calendar.get_object_by_uid(uid)) for _ in range(5)]
            each, _ = await timed(search)
            report.append(
                f"  one UID search in the full calendar ({events} events):"
                f" median {statistics.median(each) * 1000:.1f} ms of 5"
            )
            return report
        finally:
            await channel.close()
    finally:
        await radicale.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=60)
    args = parser.parse_args()
    with run_folder() as run_dir:
        print("\n".join(asyncio.run(measure(args.events, run_dir))))


if __name__ == "__main__":
    main()
