"""Operator logging: one line per event on stderr, which systemd's journal keeps."""

from __future__ import annotations

import logging
import os
import sys


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
