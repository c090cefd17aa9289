"""The daemon starts without the libraries it may never need (idle memory).

Only the parse workers import the mail parsing libraries, only the SMTP sender
process aiosmtplib; dateparser waits for the
first afspraak, Jinja2 for the first template, caldav for the first calendar write,
and Babel for a page language beyond nl and en (test_i18n_shipped.py: nl and en never
load it).
"""

from __future__ import annotations

import subprocess
import sys

DAEMON_MODULES = [
    "daemon.cli",
    "daemon.runtime.app",
    "daemon.runtime.wiring",
    "daemon.chat.intake",
    "daemon.mail.intake",
    "daemon.engine.scheduler",
    "daemon.publish.scheduled",
    "connectors.mail.worker",
    "connectors.smtp",
    "connectors.imap",
    "connectors.calendar.on_demand",
]
NOT_AT_START = [
    "lxml",
    "inscriptis",
    "nh3",
    "charset_normalizer",
    "tnefparse",
    "dateparser",
    "babel",
    "jinja2",
    "multiprocessing",
    "caldav",  # loaded by the CalDAV channel's first write
    "aiosmtplib",  # only the SMTP sender process (connectors.smtp_child) sends
    "weasyprint",  # never: the paper folder renders in a child (daemon.publish.folder_render)
]


def test_the_daemon_imports_no_heavy_library_at_start() -> None:
    code = (
        "import sys, importlib\n"
        f"for name in {DAEMON_MODULES!r}: importlib.import_module(name)\n"
        f"print(sorted(m for m in {NOT_AT_START!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
