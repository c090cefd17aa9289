"""Exponential backoff with full jitter, shared by the outbox and the connectors' reconnects.

The outbox stores the attempt count per row so that a restart keeps the pace;
a connector keeps it in memory for its own reconnect loop.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter: a random delay in [0, min(cap, base·2^(n-1))]."""

    base: float = 2.0  # seconds, the ceiling after the first failure
    cap: float = 15 * 60.0  # seconds, the highest ceiling

    def delay(self, attempt: int, rng: random.Random, hint: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1, 2, ...).

        A server's own hint (``Retry-After``) is a floor, within the cap.
        """
        ceiling = min(self.cap, self.base * 2.0 ** min(max(attempt - 1, 0), 62))
        delay = rng.uniform(0.0, ceiling)
        if hint is not None:
            delay = max(delay, min(hint, self.cap))
        return delay
