"""Radicale (CalDAV) on loopback with htpasswd users, kept away from ``/etc``."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from harness.ports import LOOPBACK, free_port
from harness.probes import http_probe
from harness.process import ServerProcess


@dataclass(frozen=True)
class CaldavAccount:
    """A Radicale user and the URL of their principal collection."""

    name: str
    password: str
    url: str


class RadicaleServer:
    """``python -m radicale`` on a free port; data and users under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.host = LOOPBACK
        self.port = free_port()
        self.htpasswd = root / "htpasswd"
        self.collections = root / "collections"
        self._process = ServerProcess(
            "radicale",
            self._argv(),
            log_path=root / "radicale.log",
            # Any HTTP answer means it serves; "/" redirects to the web UI.
            ready=http_probe(f"{self.base_url}/", ok_statuses=range(200, 500)),
        )

    @property
    def base_url(self) -> str:
        """Root URL of the CalDAV server (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    def user_url(self, name: str) -> str:
        """URL of a user's principal collection (home of their calendars)."""
        return f"{self.base_url}/{name}/"

    def _argv(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "radicale",
            "--config",
            "",  # read no config file, least of all /etc/radicale/config
            "--server-hosts",
            f"{self.host}:{self.port}",
            "--storage-filesystem-folder",
            str(self.collections),
            "--auth-type",
            "htpasswd",
            "--auth-htpasswd-filename",
            str(self.htpasswd),
            "--auth-htpasswd-encryption",
            "plain",
            "--auth-delay",
            "0",  # no 1 s pause after a failed login
        ]

    def add_user(self, name: str, password: str) -> CaldavAccount:
        """Add or replace a user; Radicale rereads the htpasswd file at each login."""
        if not name or any(c in name for c in ":/\n"):
            raise ValueError(f"unusable Radicale user name {name!r}")
        lines = [line for line in self._read_users() if line.split(":", 1)[0] != name]
        lines.append(f"{name}:{password}")
        tmp = self.htpasswd.with_suffix(".tmp")
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        tmp.replace(self.htpasswd)
        return CaldavAccount(name, password, self.user_url(name))

    def _read_users(self) -> list[str]:
        if not self.htpasswd.exists():
            return []
        return [line for line in self.htpasswd.read_text("utf-8").splitlines() if line]

    async def start(self) -> None:
        """Start Radicale; ready when it answers HTTP."""
        self.collections.mkdir(parents=True, exist_ok=True)
        self.htpasswd.touch(exist_ok=True)
        await self._process.start()

    async def stop(self) -> None:
        """Stop Radicale; calendars and users stay."""
        await self._process.stop()

    async def restart(self) -> None:
        """Stop and start on the same port."""
        await self._process.restart()

    @property
    def running(self) -> bool:
        """Whether the Radicale process is alive."""
        return self._process.running
