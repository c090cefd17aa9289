"""SQL for the chat concern (filled in by its issue)."""

from __future__ import annotations

from daemon.store.base import QueriesBase


class ChatQueries(QueriesBase):
    pass
