"""SQL for the core concern (filled in by its issue)."""

from __future__ import annotations

from daemon.store.base import QueriesBase


class CoreQueries(QueriesBase):
    pass
