"""Secrets by reference: a file path or an environment variable, read only when needed.

A file name written ``credential:NAME`` is a systemd credential: the file ``NAME`` in
``$CREDENTIALS_DIRECTORY``, which systemd fills from ``LoadCredential=`` when the unit
starts. That directory is only known at run time, so it is looked up when the secret
is read, not when the configuration is loaded.

A configuration never holds a password itself. ``Secret`` remembers where
the value lives and which key named it, so a missing file is reported with
the key and line, at the moment someone needs the value (``run``), while
``check-config`` can merely warn.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from daemon.config.reader import bilingual
from daemon.errors import ConfigError

CREDENTIAL_PREFIX = "credential:"


@dataclass(frozen=True, slots=True)
class Secret:
    """Where a secret lives: exactly one of ``file``, ``env`` and ``credential`` is set."""

    where: str  # "file:line: key.path", for messages
    file: Path | None = None
    env: str | None = None
    credential: str | None = None  # a name in $CREDENTIALS_DIRECTORY (systemd)

    def reveal(self) -> str:
        """The secret, read now; ``ConfigError`` when it is not there."""
        if self.file is not None:
            return self._from_file(self.file)
        if self.credential is not None:
            return self._from_file(self._credential_path(self.credential))
        assert self.env is not None
        value = os.environ.get(self.env, "")
        if not value:
            raise ConfigError(
                f"{self.where}: "
                + bilingual(
                    f"de omgevingsvariabele {self.env} is niet gezet of leeg",
                    "the environment variable is not set or empty",
                )
            )
        return value

    def problem(self) -> str | None:
        """Why ``reveal()`` would fail, or ``None`` when the secret is there."""
        try:
            self.reveal()
        except ConfigError as error:
            return str(error)
        return None

    def _from_file(self, path: Path) -> str:
        try:
            value = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(
                f"{self.where}: "
                + bilingual(
                    f"het geheim in {path} kan niet gelezen worden",
                    f"cannot read the secret file: {_reason(error)}",
                )
            ) from None
        if not value:
            raise ConfigError(
                f"{self.where}: "
                + bilingual(f"het bestand {path} is leeg", "the secret file is empty")
            )
        return value

    def _credential_path(self, name: str) -> Path:
        directory = os.environ.get("CREDENTIALS_DIRECTORY", "")
        if not directory:
            raise ConfigError(
                f"{self.where}: "
                + bilingual(
                    f"{CREDENTIAL_PREFIX}{name} vraagt $CREDENTIALS_DIRECTORY, maar die is "
                    "niet gezet (start onder systemd met LoadCredential=)",
                    "$CREDENTIALS_DIRECTORY is not set (start under systemd with LoadCredential=)",
                )
            )
        return Path(directory) / name

    def __repr__(self) -> str:
        return f"Secret(file={self.file!r}, env={self.env!r}, credential={self.credential!r})"


def _reason(error: OSError | UnicodeDecodeError) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return "not UTF-8 text"
