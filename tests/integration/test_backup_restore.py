"""`wijkbode backup` while the real daemon files a burst of mail, `wijkbode restore` into a
fresh state directory, and the restored daemon carrying on (issue 13, point 4).

A restore goes back to the moment of the backup: what the first daemon filed after it is
not in the restored state (those mails were moved out of the inbox already). What must
hold: every item filed before the backup started is there, the database and the
documents check out, and the restored daemon files what is still in the inbox, and the
mail that arrives after, each exactly once.
"""

from __future__ import annotations

import asyncio
import hashlib
import signal
import sqlite3
import threading
from collections import Counter
from pathlib import Path

from clitools import wijkbode
from imap_tools import MailBox
from mailintake import PARTNER_DOMAIN, PDF, config_text, folder_counts, meetings_from_now, message
from mailintake import wait_until as wait_for
from test_mail_intake_backlog import log_tail, start_daemon, times_started

from daemon.store import DATABASE_NAME
from harness.dovecot import DovecotServer, MailAccount
from harness.smtp import CaptureView, SmtpRelay

BURST = 240
AFTER = 12


def mails(account: MailAccount, prefix: str, count: int) -> list[bytes]:
    """Partner mails, each from its own sender, every fifth with a PDF."""
    return [
        message(
            sender=f"{prefix.lower().replace(' ', '')}{n}@{PARTNER_DOMAIN}",
            to=account.address,
            subject=f"[stuk] {prefix} {n:04d}",
            attachments=[(f"stuk-{prefix}-{n}.pdf", PDF + f"{prefix} {n}\n".encode())]
            if n % 5 == 0
            else (),
        )
        for n in range(count)
    ]


def append(dovecot: DovecotServer, account: MailAccount, raws: list[bytes]) -> None:
    box = MailBox(dovecot.host, dovecot.imaps_port, ssl_context=dovecot.ssl_context())
    with box.login(account.name, account.password, initial_folder="INBOX"):
        for raw in raws:
            box.append(raw, "INBOX", dt=None, flag_set=())


def stream(dovecot: DovecotServer, account: MailAccount, stop: threading.Event) -> None:
    """Partner mails, a few at a time, until ``stop`` is set."""
    box = MailBox(dovecot.host, dovecot.imaps_port, ssl_context=dovecot.ssl_context())
    with box.login(account.name, account.password, initial_folder="INBOX"):
        sent = 0
        while not stop.is_set():
            for raw in mails(account, "Stroom", sent + 4)[sent:]:
                box.append(raw, "INBOX", dt=None, flag_set=())
            sent += 4
            stop.wait(0.1)


def item_titles(state: Path) -> list[str]:
    """The items' titles, read as a second reader of the live WAL database."""
    if not (state / DATABASE_NAME).exists():
        return []
    conn = sqlite3.connect(state / DATABASE_NAME, timeout=10)
    try:
        return [str(row[0]) for row in conn.execute("SELECT title FROM items")]
    except sqlite3.OperationalError:  # the daemon is still creating the schema
        return []
    finally:
        conn.close()


def check_state(state: Path) -> None:
    """integrity_check passes and every document the database names has its hash."""
    conn = sqlite3.connect(state / DATABASE_NAME)
    try:
        assert [r[0] for r in conn.execute("PRAGMA integrity_check")] == ["ok"]
        hashes = [str(r[0]) for r in conn.execute("SELECT sha256 FROM documents")]
    finally:
        conn.close()
    assert hashes, "the burst had PDFs, so there are documents"
    for digest in hashes:
        content = (state / "documents" / digest[:2] / digest).read_bytes()
        assert hashlib.sha256(content).hexdigest() == digest


def receipt_senders(captured: CaptureView) -> set[str]:
    return {
        str(mail["To"]) for mail in captured.messages() if str(mail["To"]).endswith(PARTNER_DOMAIN)
    }


async def test_a_backup_during_a_burst_restores_into_a_daemon_that_carries_on(
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
        config_text(dovecot, smtp_relay, mailbox_user, secrets_dir, meetings_from_now(30))
    )
    state, backup, restored = tmp_path / "state", tmp_path / "backup", tmp_path / "restored"
    log = tmp_path / "daemon.log"
    await asyncio.to_thread(append, dovecot, mailbox_user, mails(mailbox_user, "Burst", BURST))

    daemon = start_daemon(config, log, {})
    # Mail keeps arriving during the backup and until the daemon has filed more than the
    # backup holds: the intake may be quicker than the backup command's start-up, and the
    # test is about a backup taken while the daemon writes.
    streaming = threading.Event()
    feeder = asyncio.create_task(asyncio.to_thread(stream, dovecot, mailbox_user, streaming))
    try:
        await wait_for(lambda: times_started(log) == 1, timeout=60, step=0.1)
        await wait_for(lambda: len(item_titles(state)) >= 1, timeout=120, step=0.02)
        filed_before = Counter(item_titles(state))
        made = await asyncio.to_thread(wijkbode, "--config", str(config), "backup", str(backup))
        assert made.returncode == 0, made.stderr
        in_backup = Counter(item_titles(backup))
        await wait_for(lambda: len(item_titles(state)) > len(in_backup), timeout=120, step=0.05)
    finally:
        streaming.set()
        await feeder
        daemon.send_signal(signal.SIGTERM)
        await asyncio.to_thread(daemon.wait, 60)
    assert daemon.returncode == 0, log_tail(log)
    assert in_backup >= filed_before
    check_state(backup)

    # Mail that arrives while the machine is being restored.
    await asyncio.to_thread(append, dovecot, mailbox_user, mails(mailbox_user, "Na herstel", AFTER))
    restored.mkdir()  # as systemd's StateDirectory= leaves it: there and empty
    put = await asyncio.to_thread(
        wijkbode, "--config", str(config), "--state-dir", str(restored), "restore", str(backup)
    )
    assert put.returncode == 0, put.stderr
    check_state(restored)
    assert Counter(item_titles(restored)) == in_backup

    after = {f"naherstel{n}@{PARTNER_DOMAIN}" for n in range(AFTER)}
    daemon = start_daemon(config, log, {"WIJKBODE_STATE_DIR": str(restored)})
    try:
        await wait_for(lambda: times_started(log) == 2, timeout=60, step=0.1)
        await wait_for(
            lambda: (
                after <= receipt_senders(captured_mail)
                and folder_counts(dovecot, mailbox_user)["INBOX"] == 0
            ),
            timeout=240,
            step=0.5,
        )
    finally:
        daemon.send_signal(signal.SIGTERM)
        await asyncio.to_thread(daemon.wait, 60)
    assert daemon.returncode == 0, log_tail(log)

    final = Counter(item_titles(restored))
    assert max(final.values()) == 1, [t for t, n in final.items() if n > 1]
    assert set(final) >= set(filed_before)
    assert set(final) >= {f"Na herstel {n:04d}" for n in range(AFTER)}
    check_state(restored)
