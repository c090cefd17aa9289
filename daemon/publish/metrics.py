"""``/metrics`` in the Prometheus text format (version 0.0.4), composed from figures. Pure.

The store's figures (``daemon.store.metrics``) are read when the data changes,
not per scrape; the counters kept in memory (``daemon.health``) and the age of
the oldest waiting outbox row are added when the text is made. Every known
label value is written, zero included, so a series never appears out of nowhere.

The format is a few lines of text; a client library (prometheus_client) would
bring a process-wide registry and render on each scrape, which is what the
cache here avoids.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from daemon.health import HealthReport, Labels
from daemon.ports.outbox import ChannelName
from daemon.store.metrics import StoreFigures

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MAIL_OUTCOMES = ("filed", "version", "repeat", "quarantined", "ignored")
ITEM_SOURCES = ("mail", "chat", "cli")
JOB_OUTCOMES = ("fired", "skipped")
# In-memory counters of daemon.health, by their name there: (metric, help).
_COUNTERS = {
    "connector_reconnects": (
        "wijkbode_connector_reconnects_total",
        "Connections made again after a loss, per connector (since start).",
    ),
    "feed_requests": (
        "wijkbode_feed_requests_total",
        "Requests for a calendar feed (since start).",
    ),
    "feed_not_modified": (
        "wijkbode_feed_not_modified_total",
        "Feed requests answered 304 Not Modified (since start).",
    ),
}


def metrics_text(
    figures: StoreFigures,
    counters: Mapping[tuple[str, Labels], int],
    health: HealthReport,
    now: datetime,
) -> str:
    lines: list[str] = []
    _family(
        lines,
        "wijkbode_mails_handled_total",
        "counter",
        "Mails handled from the mailbox, by outcome.",
        [
            ((("outcome", o),), figures.mails_by_outcome.get(o, 0))
            for o in _all(MAIL_OUTCOMES, figures.mails_by_outcome)
        ],
    )
    _family(
        lines,
        "wijkbode_items_filed_total",
        "counter",
        "Items filed, by source.",
        [
            ((("source", s),), figures.items_by_source.get(s, 0))
            for s in _all(ITEM_SOURCES, figures.items_by_source)
        ],
    )
    _family(
        lines,
        "wijkbode_jobs_total",
        "counter",
        "Scheduled moments fired or skipped (catch-up), by outcome.",
        [((("outcome", o),), figures.jobs_by_status.get(o, 0)) for o in JOB_OUTCOMES],
    )
    depth = {d.channel: d for d in figures.outbox}
    channels = _all([c.value for c in ChannelName], depth)
    _family(
        lines,
        "wijkbode_outbox_pending",
        "gauge",
        "Outbox rows waiting to be delivered, per channel.",
        [((("channel", c),), depth[c].pending if c in depth else 0) for c in channels],
    )
    _family(
        lines,
        "wijkbode_outbox_oldest_pending_age_seconds",
        "gauge",
        "Age of the oldest waiting outbox row, per channel (0 when none waits).",
        [((("channel", c),), _age(depth[c].oldest if c in depth else None, now)) for c in channels],
    )
    for name, (metric, help_text) in _COUNTERS.items():
        samples = [(labels, value) for (n, labels), value in sorted(counters.items()) if n == name]
        _family(lines, metric, "counter", help_text, samples or [((), 0)])
    _family(
        lines,
        "wijkbode_part_healthy",
        "gauge",
        "1 when a watched part (connector, channel) had a recent success, else 0.",
        [((("part", p.name),), int(p.ok)) for p in health.parts],
    )
    return "\n".join(lines) + "\n"


def _all(known: Iterable[str], seen: Iterable[str]) -> list[str]:
    return sorted({*known, *seen})


def _age(oldest: datetime | None, now: datetime) -> float:
    return 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())


def _family(
    lines: list[str],
    name: str,
    kind: str,
    help_text: str,
    samples: Iterable[tuple[Labels, float]],
) -> None:
    lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        shown = ",".join(f'{key}="{_escape(val)}"' for key, val in labels)
        number = str(round(value, 3)) if isinstance(value, float) else str(value)
        lines.append(f"{name}{{{shown}}} {number}" if shown else f"{name} {number}")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
