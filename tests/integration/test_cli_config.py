"""``wijkbode check-config`` through the real entry point, as an operator runs it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from clitools import EXAMPLE, ROOT, wijkbode

BROKEN = sorted((ROOT / "tests" / "fixtures" / "configs").glob("*.toml"))
_EXPECT = re.compile(r"^# expect: (?P<line>\d+): (?P<key>\S+): (?P<reason>.+)$")


def test_example_config_passes_with_a_summary() -> None:
    result = wijkbode("check-config", "--config", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    assert f"Configuratie in orde / configuration OK: {EXAMPLE}" in result.stdout
    assert "tijdzone / time zone: Europe/Amsterdam" in result.stdout
    assert "wijkalliantie (Wijkalliantie): 8 vergaderingen / meetings" in result.stdout
    assert "kerngroep (Kerngroep): 11 vergaderingen / meetings, 1 afgelast / cancelled" in (
        result.stdout
    )
    assert "partners (4): Gemeente Amsterdam, Ymere, Eigenwijks, !Woon" in result.stdout
    assert "koppelingen / connectors: matrix aan/on, mail aan/on, caldav aan/on, http aan/on" in (
        result.stdout
    )
    # The example's secrets do not exist here: warned about, not fatal.
    assert "waarschuwing / warning" in result.stderr
    assert "matrix.password_file" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("broken", BROKEN, ids=[path.stem for path in BROKEN])
def test_broken_config_gives_its_clear_message_and_exit_2(broken: Path) -> None:
    expect = _EXPECT.match(broken.read_text(encoding="utf-8").splitlines()[0])
    assert expect is not None, f"{broken.name} must start with '# expect: LINE: KEY: REASON'"
    result = wijkbode("--config", str(broken), "check-config")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"wijkbode: {broken}:{expect['line']}: {expect['key']}: ")
    assert expect["reason"] in result.stderr
    assert result.stderr.count("\n") == 1  # one message, one line
    assert "Traceback" not in result.stderr


def test_config_from_environment_and_state_dir_from_option(tmp_path: Path) -> None:
    result = wijkbode(
        "--state-dir",
        str(tmp_path / "elders"),
        "check-config",
        env={"WIJKBODE_CONFIG": str(EXAMPLE)},
    )
    assert result.returncode == 0, result.stderr
    assert f"toestand / state: {tmp_path / 'elders'}" in result.stdout


def test_state_dir_from_environment(tmp_path: Path) -> None:
    result = wijkbode(
        "check-config",
        "--config",
        str(EXAMPLE),
        env={"WIJKBODE_STATE_DIR": str(tmp_path / "via-env")},
    )
    assert result.returncode == 0, result.stderr
    assert f"toestand / state: {tmp_path / 'via-env'}" in result.stdout


def test_example_state_dir_is_the_systemd_units_state_directory() -> None:
    """Config and unit agree, so an admin's command without WIJKBODE_STATE_DIR reads
    the daemon's state instead of making an empty database next to the config."""
    result = wijkbode("check-config", "--config", str(EXAMPLE))
    assert "toestand / state: /var/lib/wijkbode\n" in result.stdout
    unit = (ROOT / "systemd" / "wijkbode.service").read_text(encoding="utf-8")
    assert "StateDirectory=wijkbode\n" in unit
    assert "Environment=WIJKBODE_STATE_DIR=/var/lib/wijkbode\n" in unit


def test_a_relative_state_dir_is_next_to_the_config_file(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        'state_dir = "/var/lib/wijkbode"', 'state_dir = "./state"'
    )
    (tmp_path / "wijkbode.toml").write_text(text, encoding="utf-8")
    result = wijkbode("check-config", "--config", str(tmp_path / "wijkbode.toml"))
    assert f"toestand / state: {tmp_path / 'state'}\n" in result.stdout


def test_default_config_is_wijkbode_toml_in_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "wijkbode.toml").write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    result = wijkbode("check-config", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"configuration OK: {tmp_path / 'wijkbode.toml'}" in result.stdout


def test_missing_config_file_is_exit_2(tmp_path: Path) -> None:
    result = wijkbode("check-config", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "wijkbode: wijkbode.toml: configuratiebestand niet gevonden; geef --config PAD of zet "
        "WIJKBODE_CONFIG (configuration file not found; pass --config PATH or set "
        "WIJKBODE_CONFIG)\n"
    )
