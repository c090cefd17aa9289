"""The running daemon of the hostile suite and the far side of its channels (see conftest)."""

from __future__ import annotations

import os
import sys
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

INTEGRATION = Path(__file__).resolve().parents[1] / "integration"
sys.path.insert(0, str(INTEGRATION))  # daemon_runner, feed_helpers, clitools

from daemon_runner import TZ, ChatSide, DaemonRunner, MailSide, World  # noqa: E402

from daemon.model import Item  # noqa: E402
from daemon.store import Store  # noqa: E402


def meeting_days() -> list[datetime]:
    now = datetime.now(TZ).replace(second=0, microsecond=0)
    return [now + timedelta(days=d) for d in (20, 50)]


def series_text() -> str:
    dates = ", ".join(m.replace(tzinfo=None).isoformat(timespec="seconds") for m in meeting_days())
    return (
        '[series.wijkalliantie]\ntitle = "Wijkalliantie"\npublic = true\n'
        f'location = "Buurthuis"\n\n[series.wijkalliantie.plan]\ndates = [{dates}]\n'
    )


@dataclass(frozen=True)
class Baseline:
    rss_kib: int
    outside: set[str]


class Hostile:
    """The running daemon and the far side of each of its channels."""

    def __init__(self, runner: DaemonRunner, world: World, port: int) -> None:
        self.runner = runner
        self.world = world
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.tmp = runner.directory / "tmp"

    @property
    def mail(self) -> MailSide:
        assert self.world.mail is not None
        return self.world.mail

    @property
    def chat(self) -> ChatSide:
        assert self.world.chat is not None
        return self.world.chat

    @property
    def pid(self) -> int:
        process = self.runner._process
        assert process is not None
        return process.pid

    def rss_kib(self) -> int:
        """Resident memory of the daemon and its children (the parse workers), in KiB."""
        total = 0
        for pid in [self.pid, *_children(self.pid)]:
            try:
                status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
            except OSError:
                continue  # a worker that just ended
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        return total

    def outside_state(self) -> set[str]:
        """Every path in the run directory but the state directory (and the run logs the
        test itself writes), relative: what the daemon made outside its state."""
        root = self.runner.directory
        found: set[str] = set()
        for dirpath, dirnames, filenames in os.walk(root):
            here = Path(dirpath)
            if here == root:
                dirnames[:] = [d for d in dirnames if d != "state"]
            for name in [*dirnames, *filenames]:
                found.add(str((here / name).relative_to(root)))
        return {p for p in found if not (p.startswith("run-") and p.endswith(".log"))}

    def baseline(self) -> Baseline:
        return Baseline(self.rss_kib(), self.outside_state())

    def assert_bounded(self, before: Baseline, rss_bound_kib: int) -> None:
        """RSS grew by less than ``rss_bound_kib`` since ``before`` (a safety bound, not a
        measurement) and nothing appeared or went outside the state directory."""
        now = self.rss_kib()
        assert now - before.rss_kib < rss_bound_kib, (before.rss_kib, now)
        assert self.outside_state() == before.outside

    async def items(self) -> list[Item]:
        """Every item in the store, read beside the running daemon."""
        store = await Store.open(self.runner.state_dir)
        try:
            async with store.reading() as tx:
                found = [i for m in await tx.meetings() for i in await tx.items_for_meeting(m.id)]
                return found + await tx.items_without_meeting()
        finally:
            await store.close()

    def room(self, which: str) -> str:
        """The room id of ``core`` or ``announce``, %-encoded for a path."""
        alias = self.chat.core_alias if which == "core" else self.chat.announce_alias
        return urllib.parse.quote(self.chat.rooms[alias], safe="")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
            found.extend(_children(int(entry.name)))
    return found
