"""How the daemon's parts are doing: the last success of each, and a few counters.

One ``Health`` per daemon, made in ``daemon/runtime/wiring.py`` and handed to
what it watches: the connectors call ``succeeded`` after each round that worked
(a Matrix sync, an IMAP command or IDLE renewal, a delivery) and ``failed`` when
one did not; ``reconnected`` counts a connection made again after a loss. The
HTTP service reads it for ``/healthz`` and ``/metrics``. It is plain memory, no
port and no I/O: losing it at a restart loses nothing the store does not keep.

Two kinds of part:

- a *steady* part (``within`` seconds) works all the time (a sync loop, an IMAP
  IDLE): it is failing when it has had no success for longer than ``within``,
  counted from when the watch began, so a fresh start has that long to connect;
- an *on-demand* part (``within=None``, an outbox channel) only works when
  there is something to do: it is failing while its last attempt failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

Labels = tuple[tuple[str, str], ...]


@dataclass(slots=True)
class _Part:
    within: float | None
    since: float  # when the watch began
    last_success: float | None = None
    last_failure: float | None = None


@dataclass(frozen=True, slots=True)
class PartHealth:
    name: str
    ok: bool
    seconds_since_success: float | None  # None: no success yet


@dataclass(frozen=True, slots=True)
class HealthReport:
    parts: tuple[PartHealth, ...]

    @property
    def failing(self) -> tuple[str, ...]:
        return tuple(part.name for part in self.parts if not part.ok)


@dataclass
class Health:
    """The last success of every watched part, and the daemon's event counters."""

    now: Callable[[], float] = time.monotonic
    _parts: dict[str, _Part] = field(default_factory=dict)
    _counters: dict[tuple[str, Labels], int] = field(default_factory=dict)

    def watch(self, part: str, within: float | None) -> None:
        """Start watching ``part``; ``within``: seconds a steady part may go without success."""
        self._parts[part] = _Part(within=within, since=self.now())

    def succeeded(self, part: str) -> None:
        self._part(part).last_success = self.now()

    def failed(self, part: str) -> None:
        self._part(part).last_failure = self.now()

    def reconnected(self, part: str) -> None:
        """A connection made again after it was lost (counted for ``/metrics``)."""
        self.count("connector_reconnects", connector=part)

    def count(self, name: str, amount: int = 1, **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())))
        self._counters[key] = self._counters.get(key, 0) + amount

    def counters(self) -> Mapping[tuple[str, Labels], int]:
        return dict(self._counters)

    def report(self) -> HealthReport:
        now = self.now()
        return HealthReport(
            tuple(self._health(name, part, now) for name, part in sorted(self._parts.items()))
        )

    def _part(self, name: str) -> _Part:
        # A part that reports without being watched is watched as on-demand from now on.
        return self._parts.setdefault(name, _Part(within=None, since=self.now()))

    @staticmethod
    def _health(name: str, part: _Part, now: float) -> PartHealth:
        since_success = None if part.last_success is None else now - part.last_success
        if part.within is None:
            ok = part.last_failure is None or (
                part.last_success is not None and part.last_success >= part.last_failure
            )
        else:
            ok = now - (part.last_success or part.since) <= part.within
        return PartHealth(name, ok, since_success)
