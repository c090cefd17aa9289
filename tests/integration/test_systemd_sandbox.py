"""The daemon works under the unit's MemoryDenyWriteExecute=yes (systemd/wijkbode.service).

systemd refuses a service every mapping that is writable and executable at once; the
kernel's own form of that rule, ``prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN)``, is set
here on the daemon before it starts (inherited by its parse workers across fork and
exec), and the real daemon files mail with PDFs (parse workers, SQLite in WAL mode,
TLS to IMAP and SMTP, malloc_trim through ctypes) and stops cleanly.

Outside CI a kernel without PR_SET_MDWE (before Linux 6.3) skips this with the reason;
in CI it fails, because a CI run must not pass by running less.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from mailintake import PARTNER_DOMAIN, config_text, folder_counts, meetings_from_now, wait_until
from test_backup_restore import append, item_titles, mails, receipt_senders
from test_mail_intake_backlog import log_tail, times_started

from harness.dovecot import DovecotServer, MailAccount
from harness.smtp import CaptureView, SmtpRelay

PR_SET_MDWE, PR_GET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 66, 1
# Set the rule, check it holds, then run `wijkbode` exactly as its console script does.
SANDBOXED = f"""
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl({PR_SET_MDWE}, {PR_MDWE_REFUSE_EXEC_GAIN}, 0, 0, 0) != 0:
    sys.exit("PR_SET_MDWE failed: errno %d" % ctypes.get_errno())
from daemon.cli import main
sys.exit(main(sys.argv[1:]))
"""


def mdwe_available() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_GET_MDWE, 0, 0, 0, 0) < 0:
        reason = "this kernel has no PR_SET_MDWE (Linux 6.3 or newer)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def start_sandboxed(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-c", SANDBOXED, "--config", str(config), "run"],
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )


async def test_the_daemon_files_mail_with_no_writable_executable_memory(
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_relay: SmtpRelay,
    mailbox_user: MailAccount,
    captured_mail: CaptureView,
) -> None:
    mdwe_available()
    count = 10
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    config = tmp_path / "wijkbode.toml"
    config.write_text(
        config_text(dovecot, smtp_relay, mailbox_user, secrets_dir, meetings_from_now(30))
    )
    await asyncio.to_thread(append, dovecot, mailbox_user, mails(mailbox_user, "Sandbox", count))
    log = tmp_path / "daemon.log"
    daemon = start_sandboxed(config, log)
    senders = {f"sandbox{n}@{PARTNER_DOMAIN}" for n in range(count)}
    try:
        await wait_until(lambda: times_started(log) == 1 or daemon.poll() is not None, 60, 0.1)
        assert daemon.poll() is None, log_tail(log)
        await wait_until(
            lambda: (
                senders <= receipt_senders(captured_mail)
                and folder_counts(dovecot, mailbox_user)["INBOX"] == 0
            ),
            timeout=120,
            step=0.5,
        )
    finally:
        daemon.send_signal(signal.SIGTERM)
        await asyncio.to_thread(daemon.wait, 60)
    assert daemon.returncode == 0, log_tail(log)
    assert sorted(item_titles(tmp_path / "state")) == [f"Sandbox {n:04d}" for n in range(count)]
