"""Outages: the IMAP server restarting under a running intake, and the daemon killed mid-mail.

The kill uses the real ``wijkbode run`` in a subprocess and the test hook
``WIJKBODE_TEST_CRASH_AFTER_COMMIT=1``, which SIGKILLs the daemon right after a
mail's transaction committed and before the mail is moved: the one moment where
a naive intake would file the mail again after a restart.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from clitools import wijkbode
from imap_tools import MailBox
from mailintake import (
    PARTNER,
    PROCESSED,
    MailWorld,
    config_text,
    folder_counts,
    meetings_from_now,
    message,
    open_world,
    wait_until,
)

from daemon.mail.settings import CRASH_AFTER_COMMIT_ENV
from daemon.store import Store
from daemon.store.mail import MailOutcome
from harness.dovecot import DovecotServer, MailAccount
from harness.smtp import CaptureView, SmtpRelay


@pytest_asyncio.fixture
async def world(
    tmp_path: Path, dovecot: DovecotServer, smtp_relay: SmtpRelay, mailbox_user: MailAccount
) -> AsyncIterator[MailWorld]:
    opened = await open_world(tmp_path, dovecot, smtp_relay, mailbox_user, meetings_from_now(20))
    yield opened
    await opened.close()


async def handled_count(world: MailWorld) -> int:
    async with world.store.reading() as tx:
        return await tx.handled_count()


async def test_imap_server_restart_mid_run_loses_nothing_and_needs_no_daemon_restart(
    world: MailWorld, dovecot: DovecotServer
) -> None:
    running = asyncio.create_task(world.intake.run())
    try:
        for n in (1, 2):
            await world.deliver(message(to=world.account.address, subject=f"Voor {n}"))
        # No longer than one IDLE renewal (30 s here): a missed IDLE wake-up must fail
        # this test (tests/unit/test_imap_idle_buffer.py pins the cause), not hide in it.
        await wait_until(lambda: _count_is(world, 2), timeout=30)

        await dovecot.restart()
        for n in (3, 4):
            await world.deliver(message(to=world.account.address, subject=f"Na {n}"))
        await wait_until(lambda: _count_is(world, 4), timeout=30)
        assert not running.done()
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)

    titles = sorted(item.title for item in await world.items())
    assert titles == ["Na 3", "Na 4", "Voor 1", "Voor 2"]
    assert world.source.connections >= 2
    counts = world.folder_counts()
    assert (counts["INBOX"], counts[PROCESSED]) == (0, 4)


async def _count_is(world: MailWorld, wanted: int) -> bool:
    return await handled_count(world) == wanted


def start_daemon(config: Path, log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "daemon", "--config", str(config), "run"],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )


async def test_daemon_killed_between_item_stored_and_mail_moved_files_no_second_item(
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_relay: SmtpRelay,
    mailbox_user: MailAccount,
    captured_mail: CaptureView,
) -> None:
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    config = tmp_path / "wijkbode.toml"
    config.write_text(
        config_text(dovecot, smtp_relay, mailbox_user, secrets_dir, meetings_from_now(20, 60))
    )
    log = tmp_path / "daemon.log"

    crashing = start_daemon(config, log, {CRASH_AFTER_COMMIT_ENV: "1"})
    try:
        await smtp_relay.deliver(
            message(to=mailbox_user.address, subject="[stuk] Eén keer"), PARTNER,
            [mailbox_user.address],
        )  # fmt: skip
        returncode = await asyncio.to_thread(crashing.wait, 60)
    finally:
        crashing.kill()
        crashing.wait()
    assert returncode == -signal.SIGKILL, log.read_text()
    assert await asyncio.to_thread(folder_counts, dovecot, mailbox_user) == {
        "INBOX": 1, "Wijkbode": 0, "Wijkbode/Verwerkt": 0, "Wijkbode/Quarantaine": 0,
    }  # fmt: skip  # committed, but not moved

    restarted = start_daemon(config, log, {})
    try:
        await wait_until(
            lambda: folder_counts(dovecot, mailbox_user)["Wijkbode/Verwerkt"] == 1, timeout=60
        )
        receipt = await captured_mail.wait_for(lambda m: PARTNER in str(m["To"]), timeout=30)
        agenda = wijkbode("--config", str(config), "agenda", "--json")
    finally:
        restarted.send_signal(signal.SIGTERM)
        await asyncio.to_thread(restarted.wait, 60)

    assert restarted.returncode == 0, log.read_text()
    assert agenda.returncode == 0, agenda.stderr
    [item] = json.loads(agenda.stdout)["items"]
    assert (item["id"], item["title"], item["kind"]) == (1, "Eén keer", "stuk")
    assert [m for m in captured_mail.messages() if PARTNER in str(m["To"])] == [receipt]
    store = await Store.open(tmp_path / "state")
    try:
        async with store.reading() as tx:
            handled = await tx.handled_mails()
    finally:
        await store.close()
    assert [(m.uid, m.outcome, m.item_id, m.moved_at is not None) for m in handled] == [
        (1, MailOutcome.FILED, 1, True)
    ]
    assert folder_counts(dovecot, mailbox_user)["INBOX"] == 0


def copy_back_to_inbox(dovecot: DovecotServer, account: MailAccount) -> None:
    """A person drags a processed mail back into the inbox (an IMAP COPY)."""
    box = MailBox(dovecot.host, dovecot.imaps_port, ssl_context=dovecot.ssl_context())
    with box.login(account.name, account.password, initial_folder=None):
        [processed] = [f.name for f in box.folder.list() if f.name.endswith("Verwerkt")]
        box.folder.set(processed)
        box.copy(box.uids(), "INBOX")


def forget_inbox_numbering(dovecot: DovecotServer, account: MailAccount) -> None:
    """Drop Dovecot's UID list and index of the inbox: it renumbers it with a new UIDVALIDITY."""
    maildir = dovecot.maildir(account.name)
    for path in [maildir / "dovecot-uidlist", *maildir.glob("dovecot.index*")]:
        path.unlink()


async def test_a_renumbered_inbox_and_a_mail_moved_back_are_not_filed_again(
    world: MailWorld, dovecot: DovecotServer
) -> None:
    await world.deliver(message(to=world.account.address, subject="Eerste"))
    await world.run_once()
    before = await world.source.uidvalidity()

    await asyncio.to_thread(copy_back_to_inbox, dovecot, world.account)
    await dovecot.stop()
    forget_inbox_numbering(dovecot, world.account)
    await dovecot.start()
    await world.deliver(message(to=world.account.address, subject="Tweede"))
    await world.run_once()  # the source reconnects by itself

    assert await world.source.uidvalidity() != before
    assert sorted(item.title for item in await world.items()) == ["Eerste", "Tweede"]
    async with world.store.reading() as tx:
        outcomes = sorted((m.outcome.value, m.item_id) for m in await tx.handled_mails())
    # Renumbered, Dovecot may give the copy a higher or lower UID than the new mail.
    assert outcomes == [("filed", 1), ("filed", 2), ("repeat", 1)]
    counts = world.folder_counts()
    assert (counts["INBOX"], counts[PROCESSED]) == (0, 3)
