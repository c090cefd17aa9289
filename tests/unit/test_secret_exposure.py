"""A secret file other users may read is a warning in ``check-config`` (docs/security.md)."""

from __future__ import annotations

from pathlib import Path

from daemon.config import parse_config
from daemon.config.runnable import exposed_secrets

CONFIG = """\
[series.wijkalliantie]
[series.wijkalliantie.plan]
dates = [2027-04-06T19:30:00]

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
"""


def test_a_secret_file_others_may_read_is_named_with_the_fix(tmp_path: Path) -> None:
    secret = tmp_path / "imap-password"
    secret.write_text("geheim\n", encoding="utf-8")
    secret.chmod(0o644)
    config = parse_config(CONFIG, tmp_path / "wijkbode.toml")
    [warning] = exposed_secrets(config)
    assert "mail.imap.password_file" in warning
    assert f"chmod 600 {secret}" in warning
    assert "other users may read the secret file" in warning
    assert "geheim" not in warning


def test_a_private_or_missing_secret_file_is_no_warning(tmp_path: Path) -> None:
    config = parse_config(CONFIG, tmp_path / "wijkbode.toml")
    assert exposed_secrets(config) == []  # missing: runtime_problems says so
    secret = tmp_path / "imap-password"
    secret.write_text("geheim\n", encoding="utf-8")
    secret.chmod(0o600)
    assert exposed_secrets(config) == []
