"""Tell systemd how we are doing (``Type=notify`` with ``WatchdogSec``).

The protocol is one datagram to ``$NOTIFY_SOCKET``; written here in a few lines
because the PyPI ``sdnotify`` package is unmaintained and ``systemd-python``
needs libsystemd headers to build. Outside systemd every call is a no-op.
"""

from __future__ import annotations

import asyncio
import os
import socket
from datetime import timedelta


class SystemdNotifier:
    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        # An abstract socket is written with a leading '@' and addressed with a NUL.
        self._address = "\0" + address[1:] if address.startswith("@") else address
        watchdog_usec = env.get("WATCHDOG_USEC", "")
        self.watchdog_interval: timedelta | None = (
            timedelta(microseconds=int(watchdog_usec) / 2) if watchdog_usec.isdigit() else None
        )

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def notify(self, state: str) -> None:
        if not self._address:
            return
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(self._address)
            sock.sendall(state.encode())

    def ready(self) -> None:
        self.notify("READY=1\nSTATUS=Wijkbode draait / running")

    def stopping(self) -> None:
        self.notify("STOPPING=1\nSTATUS=Wijkbode stopt / stopping")

    async def keep_watchdog_fed(self) -> None:
        """Ping the watchdog at half its interval for as long as the loop is alive."""
        if self.watchdog_interval is None:
            return
        while True:
            self.notify("WATCHDOG=1")
            await asyncio.sleep(self.watchdog_interval.total_seconds())
