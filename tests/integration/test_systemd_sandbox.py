"""The daemon works inside the sandbox of systemd/wijkbode.service.

MemoryDenyWriteExecute=yes:
systemd refuses a service every mapping that is writable and executable at once; the
kernel's own form of that rule, ``prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN)``, is set
here on the daemon before it starts (inherited by its parse workers across fork and
exec), and the real daemon files mail with PDFs (parse workers, SQLite in WAL mode,
TLS to IMAP and SMTP, malloc_trim through ctypes) and stops cleanly.

SystemCallFilter=@system-service ~@privileged: the same run is traced with strace (the
daemon and its workers), and every system call it made is in what the unit allows, read
from `systemd-analyze syscall-filter` of this machine's systemd.

Outside CI a kernel without PR_SET_MDWE (before Linux 6.3) or a machine without strace
or systemd-analyze skips this with the reason; in CI it fails, because a CI run must not
pass by running less (scripts/bootstrap installs strace and systemd).
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import shutil
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


def skip_or_fail(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def mdwe_available() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_GET_MDWE, 0, 0, 0, 0) < 0:
        skip_or_fail("this kernel has no PR_SET_MDWE (Linux 6.3 or newer)")


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        skip_or_fail(f"{name} not found (scripts/bootstrap installs it)")
    assert found is not None
    return found


def allowed_syscalls() -> set[str]:
    """What the unit's SystemCallFilter= lets through, by this machine's systemd."""
    listing = subprocess.run(
        [tool("systemd-analyze"), "syscall-filter", "--no-pager"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    groups: dict[str, list[str]] = {}
    current: list[str] = []
    for line in listing.splitlines():
        entry = line.strip()
        if line.startswith("@"):
            current = groups.setdefault(entry, [])
        elif entry and not entry.startswith("#"):
            current.append(entry)

    def expand(group: str) -> set[str]:
        found: set[str] = set()
        for entry in groups[group]:
            found |= expand(entry) if entry.startswith("@") else {entry}
        return found

    return expand("@system-service") - expand("@privileged")


def traced_syscalls(summary: Path) -> set[str]:
    """The names in the last column of `strace -c`'s table."""
    names = set()
    for line in summary.read_text().splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[0][0].isdigit() and fields[-1] != "total":
            names.add(fields[-1])
    return names


def start_sandboxed(config: Path, log: Path, summary: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        return subprocess.Popen(
            [tool("strace"), "-f", "-c", "-o", str(summary), "--", sys.executable, "-c",
             SANDBOXED, "--config", str(config), "run"],
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )  # fmt: skip


def daemon_under(tracer: subprocess.Popen[bytes]) -> int:
    """The daemon's pid: strace's one child."""
    children = Path(f"/proc/{tracer.pid}/task/{tracer.pid}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


async def test_the_daemon_files_mail_inside_the_units_memory_and_syscall_rules(
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_relay: SmtpRelay,
    mailbox_user: MailAccount,
    captured_mail: CaptureView,
) -> None:
    mdwe_available()
    allowed = allowed_syscalls()
    count = 10
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    config = tmp_path / "wijkbode.toml"
    config.write_text(
        config_text(dovecot, smtp_relay, mailbox_user, secrets_dir, meetings_from_now(30))
    )
    await asyncio.to_thread(append, dovecot, mailbox_user, mails(mailbox_user, "Sandbox", count))
    log = tmp_path / "daemon.log"
    summary = tmp_path / "syscalls.txt"
    daemon = start_sandboxed(config, log, summary)
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
        if daemon.poll() is None:
            os.kill(daemon_under(daemon), signal.SIGTERM)
        await asyncio.to_thread(daemon.wait, 60)
    assert daemon.returncode == 0, log_tail(log)  # strace exits with the daemon's code
    assert sorted(item_titles(tmp_path / "state")) == [f"Sandbox {n:04d}" for n in range(count)]
    used = traced_syscalls(summary)
    if os.geteuid() == 0:
        # SQLite run by root gives its -wal and -shm files the database's owner
        # (unixOpen's fchown); the unit runs as User=wijkbode, where it never does.
        used.discard("fchown")
    assert "openat" in used, summary.read_text()  # the summary was read
    assert used - allowed == set(), summary.read_text()
