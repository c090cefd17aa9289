"""Who a sender is to the collective: a partner, or someone whose submission waits."""

from __future__ import annotations

from collections.abc import Sequence

from daemon.config import Partner


def is_partner(address: str, partners: Sequence[Partner]) -> bool:
    """True when ``address`` (or its domain) is on the partner list."""
    return any(partner.matches(address) for partner in partners)
