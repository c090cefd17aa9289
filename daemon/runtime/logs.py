"""Operator logging: one line per event on stderr, which systemd's journal keeps.

Under journald (``$JOURNAL_STREAM`` names our stderr) a line carries no timestamp of
its own, the journal adds one, but a ``<N>`` syslog priority prefix, so
``journalctl -u wijkbode -p warning`` works. A line is always one line: a message or
traceback with newlines has them shown as ``⏎``, so one event is one journal entry.
Mail addresses are masked in every line above DEBUG: the call sites log ids (mail,
item, job, quarantine), and an address inside an error text from a server is
caught here. ``--verbose`` (DEBUG) shows everything, for an operator looking at a
problem.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import TextIO

from daemon.errors import ConfigError

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
MASK = "<adres/address>"
# A mail address: a local part, "@", a domain with a dot. A Matrix id (@naam:server)
# has nothing before its "@" and is not matched.
_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# journald's reading of a "<N>" prefix (sd-daemon.h): err, warning, info, debug.
_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3}


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


def mask_addresses(text: str) -> str:
    return _ADDRESS.sub(MASK, text)


class EventFormatter(logging.Formatter):
    """One line per record; a priority prefix instead of a timestamp under journald."""

    def __init__(self, *, journal: bool) -> None:
        stamp = "" if journal else "%(asctime)s "
        super().__init__(f"{stamp}%(levelname)s %(name)s: %(message)s")
        self._journal = journal

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if record.levelno > logging.DEBUG:
            text = mask_addresses(text)
        text = " ⏎ ".join(line for line in text.splitlines() if line.strip())
        if self._journal:
            priority = next(
                (
                    p
                    for level, p in sorted(_PRIORITY.items(), reverse=True)
                    if record.levelno >= level
                ),
                7,
            )
            text = f"<{priority}>{text}"
        return text


def to_journal(stream: TextIO, environ: dict[str, str] | None = None) -> bool:
    """Whether ``stream`` is the journal: ``$JOURNAL_STREAM`` is its ``device:inode``
    (set by systemd; a redirected stderr under systemd is not the journal)."""
    value = (os.environ if environ is None else environ).get("JOURNAL_STREAM", "")
    device, _, inode = value.partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    try:
        status = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return (status.st_dev, status.st_ino) == (int(device), int(inode))


def configure(level: str | None = None) -> None:
    chosen = (level or os.environ.get("WIJKBODE_LOG_LEVEL") or "INFO").upper()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(EventFormatter(journal=to_journal(sys.stderr)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(chosen)
    # Library chatter below WARNING drowns the operator's view.
    for noisy in ("nio", "aiosmtplib", "caldav", "urllib3", "aiohttp"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
