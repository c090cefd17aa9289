"""SQL for ``/metrics``: what the store knows how much of, read in one snapshot.

Counts of what was ever handled (mails by outcome, items by source, jobs fired or
skipped) are totals kept in the store, so they survive restarts the way a
Prometheus counter should; the outbox figures are what waits now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from daemon.store.base import QueriesBase
from daemon.store.timefmt import instant_from_db


@dataclass(frozen=True, slots=True)
class OutboxDepth:
    channel: str
    pending: int
    oldest: datetime | None  # when the oldest pending row was queued


@dataclass(frozen=True, slots=True)
class StoreFigures:
    mails_by_outcome: dict[str, int]
    items_by_source: dict[str, int]
    jobs_by_status: dict[str, int]  # fired and skipped
    outbox: tuple[OutboxDepth, ...]


async def store_figures(tx: QueriesBase) -> StoreFigures:
    """The figures, read inside the caller's ``store.reading()``."""
    mails = await tx._fetch_all("SELECT outcome, COUNT(*) FROM mail_handled GROUP BY outcome")
    items = await tx._fetch_all("SELECT source, COUNT(*) FROM items GROUP BY source")
    jobs = await tx._fetch_all(
        "SELECT status, COUNT(*) FROM jobs WHERE status IN ('fired', 'skipped') GROUP BY status"
    )
    outbox = await tx._fetch_all(
        "SELECT channel, COUNT(*), MIN(created_at) FROM outbox"
        " WHERE status = 'pending' GROUP BY channel"
    )
    return StoreFigures(
        mails_by_outcome={str(row[0]): int(row[1]) for row in mails},
        items_by_source={str(row[0]): int(row[1]) for row in items},
        jobs_by_status={str(row[0]): int(row[1]) for row in jobs},
        outbox=tuple(
            OutboxDepth(str(row[0]), int(row[1]), instant_from_db(str(row[2]))) for row in outbox
        ),
    )


async def store_answers(tx: QueriesBase) -> None:
    """A read that needs the database file, for ``/healthz``; raises when it cannot answer."""
    await tx._fetch_one("SELECT COUNT(*) FROM schema_migrations")
