"""``wijkbode init`` against the real loopback servers: through its prompts (a wrong
password is said plainly and asked again), from an answers file, and Ctrl-C halfway
leaving nothing behind. What it writes passes ``check-config --connect``."""

from __future__ import annotations

import json
import os
import select
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.clitools import wijkbode
from tests.integration.connect_helpers import Setup
from tests.integration.test_check_config_connect import setup  # noqa: F401 (fixture)

pytestmark = pytest.mark.asyncio(loop_scope="session")


def prompt_lines(s: Setup, *, first_imap_password: str) -> list[str]:
    """Every answer in the order ``init`` asks; "" takes the offered default."""
    general = ["", "", ""]  # language, time zone, state directory
    matrix = ["", s.homeserver, s.bot, s.bot_password, s.rooms[0], s.rooms[1], ""]
    mail = [
        "",  # set up mail: yes
        s.mail_address,
        s.imap_host,
        str(s.imap_port),
        "tls",
        s.imap_user,
        first_imap_password,
        s.imap_ca or "",
        "",  # INBOX
        s.smtp_host,
        str(s.smtp_port),
        "starttls",
        "wijkbode",
        s.smtp_password,
        s.smtp_ca,
    ]
    caldav = ["", s.caldav_url, "", s.caldav_user, s.caldav_password]
    http = ["", s.listen, ""]
    plan = ["", "", "", "Buurthuis", "2030-01-15T19:30, 2030-03-05T19:30", ""]
    return [*general, *matrix, *mail, *caldav, *http, *plan]


def answers(s: Setup) -> dict[str, object]:
    return {
        "use_matrix": True,
        "homeserver": s.homeserver,
        "matrix_user": s.bot,
        "matrix_password": s.bot_password,
        "core_room": s.rooms[0],
        "announce_rooms": s.rooms[1:],
        "use_mail": True,
        "mail_address": s.mail_address,
        "imap_host": s.imap_host,
        "imap_port": s.imap_port,
        "imap_username": s.imap_user,
        "imap_password": s.imap_password,
        "imap_ca_file": s.imap_ca,
        "smtp_host": s.smtp_host,
        "smtp_port": s.smtp_port,
        "smtp_username": "wijkbode",
        "smtp_password": s.smtp_password,
        "smtp_ca_file": s.smtp_ca,
        "use_caldav": True,
        "caldav_url": s.caldav_url,
        "caldav_username": s.caldav_user,
        "caldav_password": s.caldav_password,
        "use_http": True,
        "http_listen": s.listen,
        "plan_dates": "2030-01-15T19:30",
        "plan_rrule": "FREQ=MONTHLY;BYDAY=3TU;COUNT=6",
    }


def assert_written(config: Path, secrets_dir: str = "secrets") -> None:
    """The config and its 0600 secrets, no staging left; ``check-config --connect`` is happy."""
    etc = config.parent
    assert sorted(p.name for p in etc.iterdir()) == [secrets_dir, "wijkbode.toml"]
    secrets = sorted((etc / secrets_dir).iterdir())
    assert secrets, "no secret files"
    for secret in secrets:
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600, secret
    text = config.read_text("utf-8")
    assert "# Taal van berichten" in text
    assert "password_file = " in text
    for secret in secrets:  # the secrets themselves are never in the configuration
        assert secret.read_text("utf-8").strip() not in text
    # As systemd would pass them (LoadCredential=) when they are credentials.
    env = {"CREDENTIALS_DIRECTORY": str(etc / secrets_dir)}
    result = wijkbode("check-config", "--connect", "--config", str(config), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Alle verbindingen in orde" in result.stdout


async def test_init_through_its_prompts_asks_again_after_a_wrong_password(
    tmp_path: Path,
    setup: Setup,  # noqa: F811
) -> None:
    config = tmp_path / "etc" / "wijkbode.toml"
    lines = prompt_lines(setup, first_imap_password="verkeerd")
    mail_start = 3 + 7
    # The mail check fails; "a" answers the mail questions again: all kept but the password.
    retry = ["a", "", "", "", "", "", "", setup.imap_password, "", "", "", "", "", "", "", ""]
    lines[mail_start + 15 : mail_start + 15] = retry
    result = wijkbode("init", "--config", str(config), stdin="\n".join(lines) + "\n")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output
    assert f"inloggen geweigerd voor {setup.imap_user}" in output
    assert "Opnieuw antwoorden (a)" in output
    assert "Configuratie geschreven naar" in output
    assert_written(config)


async def test_init_from_an_answers_file(tmp_path: Path, setup: Setup) -> None:  # noqa: F811
    answers_file = tmp_path / "answers.json"
    answers_file.write_text(json.dumps(answers(setup)), encoding="utf-8")
    config = tmp_path / "etc" / "wijkbode.toml"
    result = wijkbode("init", "--config", str(config), "--answers", str(answers_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert_written(config)
    assert 'rrule = "FREQ=MONTHLY;BYDAY=3TU;COUNT=6"' in config.read_text("utf-8")


async def test_init_from_flags_with_systemd_credentials(
    tmp_path: Path,
    setup: Setup,  # noqa: F811
) -> None:
    given = answers(setup)
    secrets = {k: v for k, v in given.items() if k.endswith("_password")}
    flags = []
    for key, value in given.items():
        if key in secrets:
            path = tmp_path / f"{key}.txt"
            path.write_text(str(value), encoding="utf-8")
            flags.append(f"--{key.replace('_', '-')}-file={path}")
        elif isinstance(value, list):
            flags.append(f"--{key.replace('_', '-')}={', '.join(value)}")
        else:
            flags.append(f"--{key.replace('_', '-')}={'yes' if value is True else value}")
    config = tmp_path / "etc" / "wijkbode.toml"
    result = wijkbode(
        "init", "--systemd", "--non-interactive", "--config", str(config),
        f"--state-dir={tmp_path / 'state'}", *flags,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    text = config.read_text("utf-8")
    assert 'password_file = "credential:imap-password"' in text
    assert 'password_file = "credential:smtp-password"' in text
    assert_written(config, "credentials")


async def test_init_without_prompts_writes_nothing_when_a_connection_fails(
    tmp_path: Path,
    setup: Setup,  # noqa: F811
) -> None:
    wrong = {**answers(setup), "matrix_password": "verkeerd"}
    answers_file = tmp_path / "answers.toml"
    answers_file.write_text(
        "\n".join(f"{k} = {json.dumps(v)}" for k, v in wrong.items()) + "\n", encoding="utf-8"
    )
    config = tmp_path / "etc" / "wijkbode.toml"
    result = wijkbode("init", "--config", str(config), "--answers", str(answers_file))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"inloggen geweigerd voor {setup.bot}" in result.stdout
    assert not config.parent.exists()


def _read_until(process: subprocess.Popen[bytes], marker: bytes) -> bytes:
    """Output until ``marker`` appears (or the process ends: the test then fails)."""
    assert process.stdout is not None
    seen = b""
    give_up = time.monotonic() + 120
    while marker not in seen:
        assert time.monotonic() < give_up, seen.decode(errors="replace")
        ready, _, _ = select.select([process.stdout], [], [], 1.0)
        if ready:
            chunk = os.read(process.stdout.fileno(), 65536)
            assert chunk, seen.decode(errors="replace")
            seen += chunk
    return seen


async def test_ctrl_c_halfway_leaves_nothing(tmp_path: Path, setup: Setup) -> None:  # noqa: F811
    interrupt_init_at_the_mail_question(tmp_path, setup)


def interrupt_init_at_the_mail_question(tmp_path: Path, setup: Setup) -> None:  # noqa: F811
    config = tmp_path / "etc" / "wijkbode.toml"
    before = sorted(tmp_path.iterdir())
    process = subprocess.Popen(
        [sys.executable, "-m", "daemon", "init", "--config", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdin is not None
    general_and_matrix = prompt_lines(setup, first_imap_password="-")[:10]
    process.stdin.write(("\n".join(general_and_matrix) + "\n").encode())
    process.stdin.flush()
    # The Matrix answers were checked and staged; now it waits at the mail question.
    _read_until(process, b"E-mail instellen?")
    staged = [p for p in config.parent.iterdir() if p.name.startswith(".wijkbode.toml.init-")]
    assert len(staged) == 1
    assert (staged[0] / "secrets" / "matrix-password").exists()
    process.send_signal(signal.SIGINT)
    rest = process.communicate(timeout=60)[0].decode(errors="replace")
    assert process.returncode == 130, rest
    assert "Gestopt: er is niets geschreven" in rest
    assert "Traceback" not in rest
    assert sorted(tmp_path.iterdir()) == before
