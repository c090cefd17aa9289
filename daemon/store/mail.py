"""SQL for the mail concern (filled in by its issue)."""

from __future__ import annotations

from daemon.store.base import QueriesBase


class MailQueries(QueriesBase):
    pass
