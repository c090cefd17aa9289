"""Bring the configured yearly plan into the store, and with it the schedule.

Runs at daemon start (and on SIGHUP) and before any CLI command that reads
meetings. A meeting added, moved or cancelled in the configuration is found
here by its stable id, and the scheduler's jobs are recomputed in the same
transaction, so a plan change and its consequences never drift apart.
"""

from __future__ import annotations

from datetime import datetime

from daemon.config import Config
from daemon.engine.scheduler import EngineSettings, Replanned, materialise
from daemon.store import Store
from daemon.store.core import MeetingChanges


async def sync_plan(
    store: Store, config: Config, now: datetime
) -> tuple[MeetingChanges, Replanned]:
    """Store the plan's meetings and materialise their jobs, in one transaction."""
    planned = config.meetings()
    async with store.transaction() as tx:
        changes = await tx.sync_meetings(planned, at=now)
        replanned = await materialise(
            tx,
            await tx.meetings(),
            await tx.open_agreements(),
            EngineSettings.from_config(config),
            now,
        )
    return changes, replanned
