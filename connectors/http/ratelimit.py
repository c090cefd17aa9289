"""Sign-up rate limits: so many per client address per window, and so many in all. Pure.

A sliding window of the times of the accepted sign-ups, per client and for
everyone together; a sign-up counts only when both allow it. Kept in memory: a
restart forgets it, which costs a bot one more window at most. The number of
clients remembered is bounded (the oldest are dropped first), so a flood from
many addresses cannot grow it without end; the global limit still holds then.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field


@dataclass
class RateLimit:
    per_client: int
    total: int
    window: float = 3600.0  # seconds
    max_clients: int = 10_000
    _clients: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict)
    _all: deque[float] = field(default_factory=deque)

    def allow(self, client: str, now: float) -> bool:
        """Whether ``client`` may sign up at ``now`` (seconds, monotonic); counts it if so."""
        since = now - self.window
        _forget_before(self._all, since)
        mine = self._clients.get(client)
        if mine is not None:
            _forget_before(mine, since)
        if len(self._all) >= self.total or (mine is not None and len(mine) >= self.per_client):
            return False
        if mine is None:
            mine = self._clients[client] = deque()
            while len(self._clients) > self.max_clients:
                self._clients.popitem(last=False)
        self._clients.move_to_end(client)
        mine.append(now)
        self._all.append(now)
        return True


def _forget_before(times: deque[float], since: float) -> None:
    while times and times[0] <= since:
        times.popleft()
