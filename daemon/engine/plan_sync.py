"""Bring the configured yearly plan into the store, and with it the schedule.

Runs at daemon start (and on SIGHUP), after each read of the planning
calendar, and before any CLI command that reads meetings. The configured
meetings are laid under the stored plan overrides (what the planning calendar
says, see :mod:`daemon.rules.planning`), so a calendar's move survives a
restart and a reload. A meeting added, moved or cancelled is found here by its
stable id, and the scheduler's jobs are recomputed in the same transaction, so
a plan change and its consequences (moments, and a notice on every channel
that carried the meeting) never drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from daemon.config import Config
from daemon.engine.scheduler import EngineSettings, Replanned, materialise
from daemon.publish.deadline_events import enqueue_deadline_events
from daemon.publish.plan_conflicts import enqueue_conflicts
from daemon.publish.scheduled import Targets
from daemon.rules.planning import Conflict, EffectivePlan, apply_overrides
from daemon.store import Store, Tx
from daemon.store.core import MeetingChanges


@dataclass(frozen=True, slots=True)
class PlanSynced:
    """What one plan sync did, beyond the meetings and jobs: conflicts found and reported."""

    conflicts: list[Conflict]
    reported: int  # conflict reports newly queued for the core room


async def sync_plan(
    store: Store, config: Config, now: datetime, *, daemon_effects: bool = False
) -> tuple[MeetingChanges, Replanned]:
    """Store the plan's meetings and materialise their jobs, in one transaction."""
    async with store.transaction() as tx:
        changes, replanned, _ = await sync_plan_in(tx, config, now, daemon_effects=daemon_effects)
    return changes, replanned


async def sync_plan_in(
    tx: Tx, config: Config, now: datetime, *, daemon_effects: bool = False
) -> tuple[MeetingChanges, Replanned, PlanSynced]:
    """``sync_plan`` inside the caller's transaction (with what a calendar read recorded).

    With ``daemon_effects`` (the daemon, not a CLI command) each conflict
    between the configuration and a plan override is queued once for the core room,
    and the deadline events of ``[caldav] deadline_calendar`` are kept up to date.
    """
    plan = await effective_plan(tx, config)
    changes = await tx.sync_meetings(plan.meetings, at=now)
    if plan.agreed:
        await tx.agree_plan_overrides(plan.agreed)
    await tx.mark_plan_overrides_applied(plan.sources)
    replanned = await materialise(
        tx,
        await tx.meetings(),
        await tx.open_agreements(),
        EngineSettings.from_config(config),
        now,
    )
    reported = 0
    if daemon_effects:
        core_room = None if config.matrix is None else config.matrix.core_room
        reported = await enqueue_conflicts(tx, plan.conflicts, core_room, config.timezone, now)
        calendar = None if config.caldav is None else config.caldav.deadline_calendar
        if calendar is not None:
            await enqueue_deadline_events(
                tx,
                await tx.meetings(),
                changes.removed,
                {sid: entry.series for sid, entry in config.series.items()},
                calendar=calendar,
                domain=Targets.from_config(config).mail_domain,
                tz=config.timezone,
                now=now,
            )
    return changes, replanned, PlanSynced(plan.conflicts, reported)


async def effective_plan(tx: Tx, config: Config) -> EffectivePlan:
    """The configured meetings with the stored plan overrides laid over them."""
    series = {sid: entry.series for sid, entry in config.series.items()}
    overrides = await tx.plan_overrides()
    return apply_overrides(config.meetings(), overrides, series, config.timezone)
