"""A backlog of mail waiting when the daemon starts: every mail handled exactly once, on the
batched path (batch fetch, parallel parse, one transaction per batch, batch move), also
when the real daemon is SIGKILLed during a parallel parse, between a batch's commit and
its move, and at random moments (seeded; the seed is printed).

No timing is asserted here; the speed is measured by bench/backlog.py.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import signal
import subprocess
import sys
import urllib.parse
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from daemon_runner import TZ, ChatSide, DaemonRunner, make_world
from imap_tools import MailBox
from mailintake import (
    PARTNER_DOMAIN,
    PDF,
    PROCESSED,
    config_text,
    folder_counts,
    meetings_from_now,
    message,
    wait_until,
)

from daemon.mail.settings import CRASH_AFTER_COMMIT_ENV
from daemon.ports.outbox import ChannelName, EffectStatus
from daemon.store import Store
from daemon.store.mail import MailOutcome
from harness.dovecot import DovecotServer, MailAccount
from harness.smtp import CaptureView, SmtpRelay
from harness.synapse import SynapseServer


def backlog(account: MailAccount, count: int) -> list[bytes]:
    """Partner mails, each from its own sender (so each gets a receipt), some with a PDF."""
    return [
        message(
            sender=f"ambtenaar{n}@{PARTNER_DOMAIN}",
            to=account.address,
            subject=f"[stuk] Achterstand {n:04d}",
            attachments=[(f"stuk-{n}.pdf", PDF)] if n % 10 == 0 else (),
        )
        for n in range(count)
    ]


def append_to_inbox(dovecot: DovecotServer, account: MailAccount, raws: list[bytes]) -> None:
    """Mail that arrived while no Wijkbode ran: put straight into the inbox (IMAP APPEND)."""
    box = MailBox(dovecot.host, dovecot.imaps_port, ssl_context=dovecot.ssl_context())
    with box.login(account.name, account.password, initial_folder="INBOX"):
        for raw in raws:
            box.append(raw, "INBOX", dt=None, flag_set=())


def start_daemon(config: Path, log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "daemon", "--config", str(config), "run"],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )


def parse_workers(pid: int) -> list[int]:
    """The daemon's parse worker processes, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid and b"worker_main" in cmdline:
            found.append(int(entry.name))
    return found


def kill(daemon: subprocess.Popen[bytes]) -> None:
    daemon.send_signal(signal.SIGKILL)
    daemon.wait(30)


def times_started(log: Path) -> int:
    if not log.exists():
        return 0
    return log.read_text(errors="replace").count("Wijkbode draait / running")


def log_tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


async def run_until(config: Path, log: Path, done: Callable[[], bool]) -> None:
    """Run the daemon until it is up and ``done()``, then stop it with SIGTERM (exit 0)."""
    before = times_started(log)
    daemon = start_daemon(config, log, {})
    try:
        await wait_until(lambda: times_started(log) > before, timeout=60, step=0.1)
        await wait_until(done, timeout=240, step=0.5)
    finally:
        daemon.send_signal(signal.SIGTERM)
        await asyncio.to_thread(daemon.wait, 60)
    assert daemon.returncode == 0, log_tail(log)


def receipts(captured: CaptureView) -> dict[str, set[str]]:
    """Each partner address -> the Message-IDs of the receipts it got."""
    got: dict[str, set[str]] = {}
    for mail in captured.messages():
        to = str(mail["To"])
        if to.endswith(f"@{PARTNER_DOMAIN}"):
            got.setdefault(to, set()).add(str(mail["Message-ID"]))
    return got


async def assert_each_mail_once(
    state: Path, dovecot: DovecotServer, account: MailAccount, captured: CaptureView, count: int
) -> int:
    """Every mail one item, one handled row, moved, and one receipt (maybe sent again with
    the same Message-ID after a kill); returns how many such resends there were."""
    store = await Store.open(state)
    try:
        async with store.reading() as tx:
            handled = await tx.handled_mails()
            items = [i for m in await tx.meetings() for i in await tx.items_for_meeting(m.id)]
            effects = await tx.effects(ChannelName.MAIL)
    finally:
        await store.close()
    titles = Counter(item.title for item in items)
    assert titles == Counter(f"Achterstand {n:04d}" for n in range(count))
    assert sorted(h.uid for h in handled) == list(range(1, count + 1))
    assert {h.outcome for h in handled} == {MailOutcome.FILED}
    assert all(h.moved_at is not None for h in handled)
    assert sorted(e.key for e in effects) == sorted({e.key for e in effects})
    assert {e.status for e in effects} == {EffectStatus.DELIVERED}
    counts = folder_counts(dovecot, account)
    assert (counts["INBOX"], counts[PROCESSED]) == (0, count)
    got = receipts(captured)
    assert len(got) == count
    assert all(len(ids) == 1 for ids in got.values())
    return sum(1 for m in captured.messages() if str(m["To"]).endswith(PARTNER_DOMAIN)) - count


def all_received(captured: CaptureView, count: int) -> Callable[[], bool]:
    return lambda: len(receipts(captured)) == count


async def test_a_backlog_of_three_hundred_mails_is_each_filed_once_with_one_receipt(
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_relay: SmtpRelay,
    mailbox_user: MailAccount,
    captured_mail: CaptureView,
) -> None:
    count = 300
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    config = tmp_path / "wijkbode.toml"
    config.write_text(
        config_text(dovecot, smtp_relay, mailbox_user, secrets_dir, meetings_from_now(30))
    )
    await asyncio.to_thread(append_to_inbox, dovecot, mailbox_user, backlog(mailbox_user, count))

    await run_until(config, tmp_path / "daemon.log", all_received(captured_mail, count))

    resends = await assert_each_mail_once(
        tmp_path / "state", dovecot, mailbox_user, captured_mail, count
    )
    assert resends == 0


async def test_kills_during_a_backlog_lose_and_double_nothing(
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_relay: SmtpRelay,
    mailbox_user: MailAccount,
    captured_mail: CaptureView,
) -> None:
    count = 400
    seed = int(os.environ.get("WIJKBODE_BACKLOG_SEED", random.randrange(2**32)))
    print(f"backlog kill test seed: {seed} (WIJKBODE_BACKLOG_SEED={seed} repeats it)")
    rng = random.Random(seed)
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    config = tmp_path / "wijkbode.toml"
    config.write_text(
        config_text(dovecot, smtp_relay, mailbox_user, secrets_dir, meetings_from_now(30))
    )
    log = tmp_path / "daemon.log"
    await asyncio.to_thread(append_to_inbox, dovecot, mailbox_user, backlog(mailbox_user, count))

    # During a parallel parse: killed as soon as its parse workers are running.
    daemon = start_daemon(config, log, {})
    try:
        await wait_until(lambda: parse_workers(daemon.pid), timeout=60, step=0.01)
    finally:
        kill(daemon)
    assert daemon.returncode == -signal.SIGKILL

    # Between a batch's commit and its move: the test hook kills it right there.
    daemon = start_daemon(config, log, {CRASH_AFTER_COMMIT_ENV: "1"})
    await asyncio.to_thread(daemon.wait, 120)
    assert daemon.returncode == -signal.SIGKILL, log_tail(log)
    assert folder_counts(dovecot, mailbox_user)["INBOX"] > 0  # committed, not yet moved

    # In the middle of batches, at random moments.
    waiting = []
    for _ in range(4):
        daemon = start_daemon(config, log, {})
        await asyncio.sleep(rng.uniform(0.3, 1.5))
        kill(daemon)
        waiting.append(folder_counts(dovecot, mailbox_user)["INBOX"])
    print(f"backlog kill test: mails still in the inbox after each random kill: {waiting}")

    await run_until(config, log, all_received(captured_mail, count))

    resends = await assert_each_mail_once(
        tmp_path / "state", dovecot, mailbox_user, captured_mail, count
    )
    print(f"backlog kill test: {resends} receipt(s) sent again with the same Message-ID")


def answers_to(events: list[dict[str, Any]], bot: str, event_id: str) -> list[dict[str, Any]]:
    """The bot's events that answer ``event_id`` (in its thread, as a reply or a reaction)."""
    found = []
    for event in events:
        relation = event.get("content", {}).get("m.relates_to", {})
        replied = relation.get("m.in_reply_to", {}).get("event_id")
        if event.get("sender") == bot and event_id in (relation.get("event_id"), replied):
            found.append(event)
    return found


async def room_events(chat: ChatSide, room_id: str) -> list[dict[str, Any]]:
    room = urllib.parse.quote(room_id, safe="")
    path = f"/_matrix/client/v3/rooms/{room}/messages?dir=b&limit=100"
    page = await chat.synapse.client_api("GET", path, chat.member_token)
    events: list[dict[str, Any]] = page.get("chunk", [])
    return events


async def test_a_chat_filing_during_a_backlog_is_answered(
    tmp_path: Path, dovecot: DovecotServer, smtp_relay: SmtpRelay, synapse: SynapseServer
) -> None:
    """The core group is not kept waiting by a mailbox full of mail: their `Agendapunt:`,
    sent while hundreds of mails still wait in the inbox, gets its confirmation."""
    world = await make_world(
        ["mail", "matrix"], tmp_path / "secrets", dovecot=dovecot, relay=smtp_relay, synapse=synapse
    )
    assert world.mail is not None
    assert world.chat is not None
    chat = world.chat
    meeting = (date.today() + timedelta(days=30)).isoformat()
    series = (
        f'[series.wijkalliantie]\ntitle = "Wijkalliantie"\n\n'
        f"[series.wijkalliantie.plan]\ndates = [{meeting}T19:30:00]\n"
    )
    runner = DaemonRunner(
        tmp_path, world.config(series, default_series="wijkalliantie"),
        start=datetime.now(TZ), speed=1,
    )  # fmt: skip
    await asyncio.to_thread(
        append_to_inbox, dovecot, world.mail.mailbox, backlog(world.mail.mailbox, 1500)
    )
    core = chat.rooms[chat.core_alias]
    try:
        runner.start()
        await runner.wait_running()
        # What was written before the bot's first sync is history it rightly skips.
        assert await runner.wait_for_log("Matrix: first sync"), runner.log()[-3000:]
        waiting = folder_counts(dovecot, world.mail.mailbox)["INBOX"]
        path = f"/_matrix/client/v3/rooms/{urllib.parse.quote(core, safe='')}/send/m.room.message"
        sent = await synapse.client_api(
            "PUT", f"{path}/t{secrets.token_hex(4)}", chat.member_token,
            {"msgtype": "m.text", "body": "Agendapunt: Speeltuin Meeuwenpark"},
        )  # fmt: skip

        async def answered() -> bool:
            return bool(answers_to(await room_events(chat, core), chat.bot, sent["event_id"]))

        await runner.wait_until(answered, "the confirmation of the chat filing")
        left = folder_counts(dovecot, world.mail.mailbox)["INBOX"]
        await runner.stop()
    finally:
        runner.ensure_stopped()
    print(f"chat during backlog: {waiting} mails waited when written, {left} when answered")
    assert waiting > 0
