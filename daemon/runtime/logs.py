"""Operator logging: one line per event on stderr, which systemd's journal keeps."""

from __future__ import annotations

import logging
import os
import sys

from daemon.errors import ConfigError

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def checked_level(level: str | None) -> str:
    """``--log-level``, else ``$WIJKBODE_LOG_LEVEL``, else INFO; an unknown level is a
    ``ConfigError`` (one line, exit 2), not the ``ValueError`` logging would raise."""
    chosen = (level or os.environ.get("WIJKBODE_LOG_LEVEL") or "INFO").upper()
    if chosen not in LEVELS:
        source = "--log-level" if level else "WIJKBODE_LOG_LEVEL"
        raise ConfigError(
            f"{source}: onbekend logniveau {chosen!r}, kies uit {', '.join(LEVELS)} "
            f"(unknown log level, choose from {', '.join(LEVELS)})"
        )
    return chosen


def configure(level: str | None = None) -> None:
    chosen = (level or os.environ.get("WIJKBODE_LOG_LEVEL") or "INFO").upper()
    handler = logging.StreamHandler(sys.stderr)
    # Under systemd the journal adds its own timestamp.
    stamp = "" if os.environ.get("INVOCATION_ID") else "%(asctime)s "
    handler.setFormatter(logging.Formatter(f"{stamp}%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(chosen)
    # Library chatter below WARNING drowns the operator's view.
    for noisy in ("nio", "aiosmtplib", "caldav", "urllib3", "aiohttp"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
