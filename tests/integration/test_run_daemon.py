"""``wijkbode run``: starts, tells systemd it is ready, feeds the watchdog, stops cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

CONFIG = """\
timezone = "Europe/Amsterdam"
state_dir = "state"

[series.wijkalliantie]
title = "Wijkalliantie"
duration = "2h"

[series.wijkalliantie.plan]
dates = [2027-04-06T19:30:00, 2027-05-18T19:30:00]
"""


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[socket.socket]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(tmp_path / "notify.sock"))
        sock.settimeout(30)
        yield sock


def _start(tmp_path: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    (tmp_path / "wijkbode.toml").write_text(CONFIG)
    return subprocess.Popen(
        [sys.executable, "-m", "daemon", "--config", str(tmp_path / "wijkbode.toml"), "run"],
        env={**os.environ, **env},
        stderr=subprocess.PIPE,
        text=True,
    )


def test_run_notifies_systemd_and_stops_cleanly_on_sigterm(
    tmp_path: Path, notify_socket: socket.socket
) -> None:
    daemon = _start(
        tmp_path, {"NOTIFY_SOCKET": notify_socket.getsockname(), "WATCHDOG_USEC": "200000"}
    )
    try:
        messages = [notify_socket.recv(4096).decode() for _ in range(3)]
        assert messages[0].startswith("READY=1")
        assert "WATCHDOG=1" in messages[1:]
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=30)
    finally:
        daemon.kill()
        daemon.wait()
        if daemon.stderr:
            daemon.stderr.close()
    assert daemon.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "stopping intake" in stderr
    assert "Wijkbode is gestopt / stopped" in stderr
    assert (tmp_path / "state" / "wijkbode.sqlite3").exists()


def test_run_stops_cleanly_on_sigint(tmp_path: Path, notify_socket: socket.socket) -> None:
    daemon = _start(tmp_path, {"NOTIFY_SOCKET": notify_socket.getsockname()})
    try:
        assert notify_socket.recv(4096).decode().startswith("READY=1")
        daemon.send_signal(signal.SIGINT)
        _, stderr = daemon.communicate(timeout=30)
    finally:
        daemon.kill()
        daemon.wait()
        if daemon.stderr:
            daemon.stderr.close()
    assert (daemon.returncode, "Traceback" in stderr) == (0, False)


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "daemon", "--config", str(tmp_path / "wijkbode.toml"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_second_daemon_on_the_same_state_is_refused_and_cli_writes_stay_safe(
    tmp_path: Path, notify_socket: socket.socket
) -> None:
    first = _start(tmp_path, {"NOTIFY_SOCKET": notify_socket.getsockname()})
    try:
        assert notify_socket.recv(4096).decode().startswith("READY=1")

        second = _cli(tmp_path, "run")
        filed = _cli(tmp_path, "file", "--kind", "stuk", "--title", "Naast de daemon", "--json")
        retried = _cli(tmp_path, "outbox", "retry", "999")

        first.send_signal(signal.SIGTERM)
        _, stderr = first.communicate(timeout=30)
    finally:
        first.kill()
        first.wait()
        if first.stderr:
            first.stderr.close()

    assert second.returncode == 2
    assert second.stderr.count("\n") == 1, second.stderr
    assert f"er draait al een Wijkbode op {tmp_path / 'state'} (pid {first.pid})" in second.stderr
    assert f"(another Wijkbode is already running on {tmp_path / 'state'}, pid {first.pid}" in (
        second.stderr
    )
    assert "Traceback" not in second.stderr
    # CLI writes take no daemon lock: short SQLite transactions beside the daemon.
    assert filed.returncode == 0, filed.stderr
    assert '"status": "filed"' in filed.stdout
    assert (retried.returncode, "bestaat niet" in retried.stderr) == (2, True)
    assert (first.returncode, "Traceback" in stderr) == (0, False)


def test_the_lock_goes_with_the_daemon_even_after_kill_9(
    tmp_path: Path, notify_socket: socket.socket
) -> None:
    killed = _start(tmp_path, {"NOTIFY_SOCKET": notify_socket.getsockname()})
    try:
        assert notify_socket.recv(4096).decode().startswith("READY=1")
    finally:
        killed.kill()  # SIGKILL: no clean-up ran, the kernel dropped the lock
        killed.wait()
        if killed.stderr:
            killed.stderr.close()

    again = _start(tmp_path, {"NOTIFY_SOCKET": notify_socket.getsockname()})
    try:
        assert notify_socket.recv(4096).decode().startswith("READY=1")
        again.send_signal(signal.SIGTERM)
        _, stderr = again.communicate(timeout=30)
    finally:
        again.kill()
        again.wait()
        if again.stderr:
            again.stderr.close()
    assert (again.returncode, "Traceback" in stderr) == (0, False)


def test_run_refuses_a_broken_config_with_exit_2(tmp_path: Path) -> None:
    (tmp_path / "wijkbode.toml").write_text(CONFIG.replace('duration = "2h"', 'duration = "2x"'))
    result = subprocess.run(
        [sys.executable, "-m", "daemon", "--config", str(tmp_path / "wijkbode.toml"), "run"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "series.wijkalliantie.duration" in result.stderr
    assert "Traceback" not in result.stderr
