"""Secrets are references (file or environment), read only when needed; ``run`` needs them all."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config import Config, parse_config
from daemon.config.runnable import check_runnable, runtime_problems
from daemon.errors import ConfigError

MINIMAL = """\
[series.wijkalliantie]
[series.wijkalliantie.plan]
dates = [2027-04-06T19:30:00]
"""

MAIL = """\
[mail]
address = "wijkbode@wijk.test"
[mail.imap]
host = "imap.wijk.test"
username = "wijkbode"
password_file = "imap-password"
[mail.smtp]
host = "smtp.wijk.test"
username = "wijkbode"
password_env = "WIJKBODE_TEST_SMTP"
"""  # lines 4-13 after MINIMAL


def config_in(directory: Path) -> Config:
    return parse_config(MINIMAL + MAIL, directory / "wijkbode.toml")


def test_secret_file_is_relative_to_the_config_and_read_lazily(tmp_path: Path) -> None:
    config = config_in(tmp_path)  # the file does not exist yet: loading still works
    assert config.mail is not None
    assert config.mail.imap.password is not None
    (tmp_path / "imap-password").write_text("geheim\n", encoding="utf-8")
    assert config.mail.imap.password.reveal() == "geheim"


def test_secret_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIJKBODE_TEST_SMTP", "s3cret")
    config = config_in(tmp_path)
    assert config.mail is not None
    assert config.mail.smtp.password is not None
    assert config.mail.smtp.password.reveal() == "s3cret"


def test_missing_secret_file_names_key_line_and_file(tmp_path: Path) -> None:
    config = config_in(tmp_path)
    assert config.mail is not None
    assert config.mail.imap.password is not None
    with pytest.raises(ConfigError) as caught:
        config.mail.imap.password.reveal()
    assert str(caught.value) == (
        f"{tmp_path / 'wijkbode.toml'}:9: mail.imap.password_file: het geheim in "
        f"{tmp_path / 'imap-password'} kan niet gelezen worden (cannot read the secret "
        "file: No such file or directory)"
    )


def test_runtime_problems_list_every_missing_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WIJKBODE_TEST_SMTP", raising=False)
    problems = runtime_problems(config_in(tmp_path))
    assert [problem.split(": ")[1] for problem in problems] == [
        "mail.imap.password_file",
        "mail.smtp.password_env",
    ]
    assert "de omgevingsvariabele WIJKBODE_TEST_SMTP is niet gezet of leeg" in problems[1]


def test_check_runnable_passes_when_every_secret_is_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "imap-password").write_text("geheim", encoding="utf-8")
    monkeypatch.setenv("WIJKBODE_TEST_SMTP", "s3cret")
    config = config_in(tmp_path)
    assert runtime_problems(config) == []
    check_runnable(config)


def test_empty_secret_file_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "imap-password").write_text("\n", encoding="utf-8")
    config = config_in(tmp_path)
    assert config.mail is not None
    assert config.mail.imap.password is not None
    assert config.mail.imap.password.problem() == (
        f"{tmp_path / 'wijkbode.toml'}:9: mail.imap.password_file: het bestand "
        f"{tmp_path / 'imap-password'} is leeg (the secret file is empty)"
    )


def test_secret_repr_never_shows_the_value(tmp_path: Path) -> None:
    (tmp_path / "imap-password").write_text("geheim", encoding="utf-8")
    config = config_in(tmp_path)
    assert "geheim" not in repr(config)


def test_credential_secret_is_read_from_the_credentials_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``credential:NAME`` is systemd's LoadCredential=: looked up in
    $CREDENTIALS_DIRECTORY when read, never relative to the config's directory."""
    text = MINIMAL + MAIL.replace('"imap-password"', '"credential:imap-password"')
    config = parse_config(text, tmp_path / "wijkbode.toml")
    assert config.mail is not None
    assert config.mail.imap.password is not None
    (tmp_path / "imap-password").write_text("naast-de-config\n", encoding="utf-8")
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "imap-password").write_text("uit-systemd\n", encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    assert config.mail.imap.password.reveal() == "uit-systemd"


def test_credential_secret_without_credentials_directory_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    text = MINIMAL + MAIL.replace('"imap-password"', '"credential:imap-password"')
    config = parse_config(text, tmp_path / "wijkbode.toml")
    assert config.mail is not None
    assert config.mail.imap.password is not None
    assert config.mail.imap.password.problem() == (
        f"{tmp_path / 'wijkbode.toml'}:9: mail.imap.password_file: "
        "credential:imap-password vraagt $CREDENTIALS_DIRECTORY, maar die is niet gezet "
        "(start onder systemd met LoadCredential=) ($CREDENTIALS_DIRECTORY is not set "
        "(start under systemd with LoadCredential=))"
    )


def test_credential_name_with_a_path_is_refused(tmp_path: Path) -> None:
    text = MINIMAL + MAIL.replace('"imap-password"', '"credential:../etc/passwd"')
    with pytest.raises(ConfigError) as caught:
        parse_config(text, tmp_path / "wijkbode.toml")
    assert "mail.imap.password_file" in str(caught.value)
    assert "not a valid systemd credential name" in str(caught.value)
