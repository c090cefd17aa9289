"""What code costs: RSS and PSS after each library the daemon loads (and its first use).

    .venv/bin/python bench/memory_imports.py

The memory bench compares the whole daemon with a bare matrix-nio client. Much of
the difference is code: the libraries the daemon needs beside matrix-nio, and its
own modules, each a fixed cost paid once at import, whatever the data, and the
data some libraries load at their first use (dateparser's language data, lxml
under caldav). This prints that cost step by step (the floor's own
imports first), so the memory figures can be split into code and data. Each step
runs in its own fresh interpreter after the previous steps, so a library shared
with an earlier one is counted once, where it first came in.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (label, modules, then code to run): first what the floor (a bare nio client) imports,
# then the rest of what a daemon with every connector and [http] on has loaded after a
# year, and what the first use of some of them loads.
STEPS: list[tuple[str, list[str]] | tuple[str, list[str], str]] = [
    ("Python and asyncio", ["asyncio", "ssl", "json"]),
    ("matrix-nio (the floor's own library)", ["nio"]),
    ("SQLite (sqlite3, aiosqlite)", ["sqlite3", "aiosqlite"]),
    ("aiohttp (the HTTP service; nio needs it too)", ["aiohttp.web"]),
    ("imap-tools", ["imap_tools"]),
    ("icalendar, recurring-ical-events", ["icalendar", "recurring_ical_events"]),
    ("caldav (first calendar write)", ["caldav"]),
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
    (
        "first use: dateparser reads a Dutch date (afspraak)",
        [],
        "import dateparser; dateparser.parse('15 maart om 19:30', languages=['nl'])",
    ),
    # Babel is no longer among them: for nl and en the daemon reads the .mo files and
    # CLDR's date names that scripts/compile-catalogs wrote with it (Babel comes in only
    # for a further page language, [http] languages).
    (
        "first use: the nl and en catalogs (.mo) and CLDR date names read",
        [],
        "from datetime import datetime, UTC; from daemon.i18n import Translator;"
        " [Translator(lang).when(datetime.now(UTC)) for lang in ('nl', 'en')];"
        " Translator('nl')('late')",
    ),
    ("first use: lxml (caldav's XML, at the first calendar write)", ["lxml.etree"]),
]

_MEASURE = """
import importlib, sys
for name in sys.argv[1:]:
    if name.startswith("exec:"):
        exec(name[5:])
    else:
        importlib.import_module(name)
fields = {}
for line in open("/proc/self/smaps_rollup"):
    key, _, value = line.partition(":")
    if key in ("Rss", "Pss"):
        fields[key] = int(value.split()[0])
print(fields["Rss"], fields["Pss"])
"""


def measure(modules: list[str]) -> tuple[float, float]:
    """RSS and PSS (MB) of a fresh interpreter after importing ``modules`` (or running
    ``exec:<code>`` entries)."""
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
    print(f"{'an empty interpreter':<66} RSS {previous[0]:6.1f} MB  PSS {previous[1]:6.1f} MB")
    floor_at: tuple[float, float] | None = None
    for label, modules, *code in STEPS:
        loaded += modules + [f"exec:{snippet}" for snippet in code]
        now = measure(loaded)
        print(
            f"{'+ ' + label:<66} RSS {now[0]:6.1f} MB  PSS {now[1]:6.1f} MB"
            f"  (+{now[0] - previous[0]:.1f} / +{now[1] - previous[1]:.1f})"
        )
        previous = now
        if "matrix-nio" in label:
            floor_at = now
    assert floor_at is not None
    print(
        "code and first-use data beyond the floor's imports:"
        f" RSS +{previous[0] - floor_at[0]:.1f} MB, PSS +{previous[1] - floor_at[1]:.1f} MB"
    )


if __name__ == "__main__":
    main()
