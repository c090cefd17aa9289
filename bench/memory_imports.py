"""What importing costs: RSS and PSS after each library the daemon loads, in a fresh process.

    .venv/bin/python bench/memory_imports.py

The memory bench compares the whole daemon with a bare matrix-nio client. Much of
the difference is code: the libraries the daemon needs beside matrix-nio, and its
own modules, each a fixed cost paid once at import, whatever the data. This prints
that cost library by library (the floor's own imports first), so the memory
figures can be split into code and data. Each step runs in its own fresh
interpreter after the previous steps' imports, so a library shared with an earlier
one is counted once, where it first came in.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (label, modules): first what the floor (a bare nio client) imports, then the rest of
# what a daemon with every connector and [http] on has loaded after a year.
STEPS: list[tuple[str, list[str]]] = [
    ("Python and asyncio", ["asyncio", "ssl", "json"]),
    ("matrix-nio (the floor's own library)", ["nio"]),
    ("SQLite (sqlite3, aiosqlite)", ["sqlite3", "aiosqlite"]),
    ("aiohttp (the HTTP service; nio needs it too)", ["aiohttp.web"]),
    ("imap-tools", ["imap_tools"]),
    ("icalendar, recurring-ical-events", ["icalendar", "recurring_ical_events"]),
    ("caldav (first calendar write)", ["caldav"]),
    ("Babel dates, gettext catalogs", ["babel.dates", "babel.messages.pofile"]),
    ("Jinja2 (first template)", ["jinja2"]),
    ("dateparser (first afspraak)", ["dateparser"]),
    ("QR codes (segno)", ["segno"]),
    (
        "Wijkbode's own modules",
        [
            "daemon.cli",
            "daemon.runtime.app",
            "daemon.runtime.wiring",
            "connectors.matrix.client",
            "connectors.imap",
            "connectors.smtp",
            "connectors.http.server",
            "connectors.calendar.on_demand",
        ],
    ),
]

_MEASURE = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
fields = {}
for line in open("/proc/self/smaps_rollup"):
    key, _, value = line.partition(":")
    if key in ("Rss", "Pss"):
        fields[key] = int(value.split()[0])
print(fields["Rss"], fields["Pss"])
"""


def measure(modules: list[str]) -> tuple[float, float]:
    """RSS and PSS (MB) of a fresh interpreter after importing ``modules``."""
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, *modules],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return int(out[0]) / 1024, int(out[1]) / 1024


def main() -> None:
    loaded: list[str] = []
    previous = measure([])
    print(f"{'an empty interpreter':<48} RSS {previous[0]:6.1f} MB  PSS {previous[1]:6.1f} MB")
    floor_at: tuple[float, float] | None = None
    for label, modules in STEPS:
        loaded += modules
        now = measure(loaded)
        print(
            f"{'+ ' + label:<48} RSS {now[0]:6.1f} MB  PSS {now[1]:6.1f} MB"
            f"  (+{now[0] - previous[0]:.1f} / +{now[1] - previous[1]:.1f})"
        )
        previous = now
        if "matrix-nio" in label:
            floor_at = now
    assert floor_at is not None
    print(
        f"code beyond the floor's imports: RSS +{previous[0] - floor_at[0]:.1f} MB,"
        f" PSS +{previous[1] - floor_at[1]:.1f} MB"
    )


if __name__ == "__main__":
    main()
