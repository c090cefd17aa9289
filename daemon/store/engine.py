"""SQL for the engine: the outbox and the scheduler's jobs.

Every method runs inside the caller's ``Store.transaction()`` (or ``reading()``),
so an effect commits together with the state change that causes it, and a job's
status change commits together with the effects it enqueued. Times come from the
caller's clock, never from the store.
"""

from __future__ import annotations

import enum
import logging
import sqlite3
from dataclasses import dataclass, replace
from datetime import datetime

from daemon.ports.chat_limit import within_matrix_limit
from daemon.ports.outbox import (
    ChannelName,
    ChatPost,
    Effect,
    EffectStatus,
    NewEffect,
    decode_payload,
)
from daemon.store.base import QueriesBase
from daemon.store.timefmt import instant_from_db, instant_to_db, optional_instant_from_db

__all__ = [
    "EngineQueries",
    "Job",
    "JobSpec",
    "JobStatus",
    "RetryOutcome",
    "SubjectType",
]

log = logging.getLogger(__name__)


class JobStatus(enum.StrEnum):
    PENDING = "pending"  # waits for its due time
    FIRED = "fired"  # its effects are in the outbox
    SKIPPED = "skipped"  # its time passed while it no longer made sense (rules/catchup.py)
    CANCELLED = "cancelled"  # no longer wanted (meeting cancelled or moved, afspraak closed)
    FAILED = "failed"  # building its effects raised; the note says why


class SubjectType(enum.StrEnum):
    MEETING = "meeting"
    AGREEMENT = "agreement"


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A job the scheduler wants to exist, before it is stored."""

    key: str
    subject_type: SubjectType
    subject_id: str
    moment: str
    channel: ChannelName
    due_at: datetime
    target_at: datetime  # the instant the moment points at: a deadline, the meeting start
    subject_at: datetime  # the meeting start (afspraak due instant) it was planned for
    note: str = ""


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    key: str
    subject_type: SubjectType
    subject_id: str
    moment: str
    channel: ChannelName
    due_at: datetime
    target_at: datetime
    subject_at: datetime
    status: JobStatus
    fired_at: datetime | None
    note: str
    created_at: datetime
    updated_at: datetime


class RetryOutcome(enum.StrEnum):
    RETRIED = "retried"
    UNKNOWN = "unknown"  # no row with that id
    NOT_PARKED = "not_parked"  # pending or delivered: nothing to retry


def _job_from_row(row: sqlite3.Row) -> Job:
    return Job(
        id=int(row["id"]),
        key=str(row["key"]),
        subject_type=SubjectType(row["subject_type"]),
        subject_id=str(row["subject_id"]),
        moment=str(row["moment"]),
        channel=ChannelName(row["channel"]),
        due_at=instant_from_db(row["due_at"]),
        target_at=instant_from_db(row["target_at"]),
        subject_at=instant_from_db(row["subject_at"]),
        status=JobStatus(row["status"]),
        fired_at=optional_instant_from_db(row["fired_at"]),
        note=str(row["note"]),
        created_at=instant_from_db(row["created_at"]),
        updated_at=instant_from_db(row["updated_at"]),
    )


def _effect_from_row(row: sqlite3.Row) -> Effect:
    last_error = row["last_error"]
    remote_id = row["remote_id"]
    return Effect(
        id=int(row["id"]),
        channel=ChannelName(row["channel"]),
        destination=str(row["destination"]),
        key=str(row["key"]),
        payload=decode_payload(str(row["payload"])),
        created_at=instant_from_db(row["created_at"]),
        status=EffectStatus(row["status"]),
        attempts=int(row["attempts"]),
        next_attempt_at=optional_instant_from_db(row["next_attempt_at"]),
        last_error=None if last_error is None else str(last_error),
        delivered_at=optional_instant_from_db(row["delivered_at"]),
        remote_id=None if remote_id is None else str(remote_id),
    )


# The oldest pending row of every destination of one channel: only a head may be
# delivered, so rows for one destination go out in id order.
_PENDING_HEADS = """
    SELECT o.* FROM outbox AS o
    JOIN (SELECT MIN(id) AS id FROM outbox
          WHERE channel = ? AND status = 'pending' GROUP BY destination) AS head
      ON o.id = head.id
    ORDER BY o.id
"""


class EngineQueries(QueriesBase):
    # --- outbox ---------------------------------------------------------------

    async def enqueue(self, effect: NewEffect, *, now: datetime) -> bool:
        """Add an effect; ``False`` when its key is already there (the first row stays).

        A chat post too large for one Matrix event is shortened here, the one place
        every effect passes: the homeserver would refuse it and the row be parked."""
        if isinstance(effect.payload, ChatPost):
            fitted = within_matrix_limit(effect.payload)
            if fitted != effect.payload:
                log.warning("chat post %s shortened to fit one Matrix event", effect.key)
                effect = replace(effect, payload=fitted)
        return await self._changes_one_row(
            "INSERT INTO outbox (channel, destination, key, payload, created_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
            (
                effect.channel.value,
                effect.destination,
                effect.key,
                effect.payload.to_json(),
                instant_to_db(now),
            ),
        )

    async def effect(self, effect_id: int) -> Effect | None:
        row = await self._fetch_one("SELECT * FROM outbox WHERE id = ?", (effect_id,))
        return None if row is None else _effect_from_row(row)

    async def effect_by_key(self, key: str) -> Effect | None:
        row = await self._fetch_one("SELECT * FROM outbox WHERE key = ?", (key,))
        return None if row is None else _effect_from_row(row)

    async def pending_heads(self, channel: ChannelName) -> list[Effect]:
        """For each destination of ``channel``, its oldest pending effect, in id order."""
        rows = await self._fetch_all(_PENDING_HEADS, (channel.value,))
        return [_effect_from_row(row) for row in rows]

    async def undelivered(self) -> list[Effect]:
        """Every pending or parked effect, oldest first."""
        rows = await self._fetch_all("SELECT * FROM outbox WHERE status != 'delivered' ORDER BY id")
        return [_effect_from_row(row) for row in rows]

    async def effects(self, channel: ChannelName | None = None) -> list[Effect]:
        """Every effect (of ``channel``), in id order; for tests and inspection."""
        rows = await self._fetch_all(
            "SELECT * FROM outbox WHERE ?1 IS NULL OR channel = ?1 ORDER BY id",
            (None if channel is None else channel.value,),
        )
        return [_effect_from_row(row) for row in rows]

    async def mark_delivered(self, effect_id: int, remote_id: str, *, at: datetime) -> None:
        """The channel confirmed the effect; it is never sent again."""
        await self._conn.execute(
            "UPDATE outbox SET status = 'delivered', delivered_at = ?, remote_id = ?,"
            " next_attempt_at = NULL WHERE id = ? AND status = 'pending'",
            (instant_to_db(at), remote_id, effect_id),
        )

    async def record_failed_attempt(
        self, effect_id: int, *, attempts: int, next_attempt_at: datetime, error: str
    ) -> None:
        """A transient failure: try again at ``next_attempt_at``."""
        await self._conn.execute(
            "UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ?"
            " WHERE id = ? AND status = 'pending'",
            (attempts, instant_to_db(next_attempt_at), error, effect_id),
        )

    async def count_unexpected_failure(self, effect_id: int) -> int:
        """One more attempt failed with an exception the channel did not foresee; how many now."""
        row = await self._fetch_one(
            "UPDATE outbox SET unexpected_failures = unexpected_failures + 1"
            " WHERE id = ? RETURNING unexpected_failures",
            (effect_id,),
        )
        return 0 if row is None else int(row[0])

    async def park(self, effect_id: int, *, attempts: int, reason: str) -> None:
        """A permanent failure: keep the row with its reason, out of the way of the rest."""
        await self._conn.execute(
            "UPDATE outbox SET status = 'parked', attempts = ?, last_error = ?,"
            " next_attempt_at = NULL WHERE id = ? AND status = 'pending'",
            (attempts, reason, effect_id),
        )

    async def retry_parked(self, effect_id: int) -> RetryOutcome:
        """Put a parked effect back in line, as if new (its last error stays for reference)."""
        if await self._changes_one_row(
            "UPDATE outbox SET status = 'pending', attempts = 0, unexpected_failures = 0,"
            " next_attempt_at = NULL WHERE id = ? AND status = 'parked'",
            (effect_id,),
        ):
            return RetryOutcome.RETRIED
        if await self.effect(effect_id) is None:
            return RetryOutcome.UNKNOWN
        return RetryOutcome.NOT_PARKED

    async def destinations_reached(self, key_prefix: str, channel: ChannelName) -> list[str]:
        """The destinations of ``channel`` that effects with keys under ``key_prefix`` went to.

        Parked rows count: their destination was meant to carry it. A prefix test
        rather than ``LIKE``, because ids may hold ``_`` and ``%``.
        """
        rows = await self._fetch_all(
            "SELECT destination, MIN(id) AS first FROM outbox"
            " WHERE channel = ?1 AND substr(key, 1, length(?2)) = ?2"
            " GROUP BY destination ORDER BY first",
            (channel.value, key_prefix),
        )
        return [str(row["destination"]) for row in rows]

    async def count_effects(self, key_prefix: str, channel: ChannelName) -> int:
        """How many effects of ``channel`` have keys under ``key_prefix``."""
        row = await self._fetch_one(
            "SELECT COUNT(*) FROM outbox WHERE channel = ?1 AND substr(key, 1, length(?2)) = ?2",
            (channel.value, key_prefix),
        )
        assert row is not None  # an aggregate always yields one row
        return int(row[0])

    # --- jobs -----------------------------------------------------------------

    async def insert_job(self, spec: JobSpec, *, now: datetime) -> Job:
        """Store a new pending job; ``ValueError`` if its key exists already."""
        stamp = instant_to_db(now)
        try:
            row = await self._fetch_one(
                "INSERT INTO jobs (key, subject_type, subject_id, moment, channel, due_at,"
                " target_at, subject_at, note, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
                (
                    spec.key,
                    spec.subject_type.value,
                    spec.subject_id,
                    spec.moment,
                    spec.channel.value,
                    instant_to_db(spec.due_at),
                    instant_to_db(spec.target_at),
                    instant_to_db(spec.subject_at),
                    spec.note,
                    stamp,
                    stamp,
                ),
            )
        except sqlite3.IntegrityError as error:
            raise ValueError(f"job {spec.key!r} exists already") from error
        assert row is not None  # INSERT ... RETURNING always yields the row
        return _job_from_row(row)

    async def replan_job(self, job_id: int, spec: JobSpec, *, now: datetime) -> None:
        """Give a pending or cancelled job new times and make it pending (a move, a revival)."""
        await self._conn.execute(
            "UPDATE jobs SET status = 'pending', due_at = ?, target_at = ?, subject_at = ?,"
            " note = ?, fired_at = NULL, updated_at = ?"
            " WHERE id = ? AND status IN ('pending', 'cancelled')",
            (
                instant_to_db(spec.due_at),
                instant_to_db(spec.target_at),
                instant_to_db(spec.subject_at),
                spec.note,
                instant_to_db(now),
                job_id,
            ),
        )

    async def settle_job(self, job_id: int, status: JobStatus, note: str, *, now: datetime) -> bool:
        """Move a pending job to ``status``; ``False`` if it was no longer pending.

        ``fired_at`` records when the scheduler fired, skipped or failed it.
        """
        if status is JobStatus.PENDING:
            raise ValueError("settle_job moves a job out of pending")
        stamp = instant_to_db(now)
        fired_at = None if status is JobStatus.CANCELLED else stamp
        return await self._changes_one_row(
            "UPDATE jobs SET status = ?, note = ?, fired_at = ?, updated_at = ?"
            " WHERE id = ? AND status = 'pending'",
            (status.value, note, fired_at, stamp, job_id),
        )

    async def job(self, job_id: int) -> Job | None:
        row = await self._fetch_one("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return None if row is None else _job_from_row(row)

    async def job_by_key(self, key: str) -> Job | None:
        row = await self._fetch_one("SELECT * FROM jobs WHERE key = ?", (key,))
        return None if row is None else _job_from_row(row)

    async def jobs_of(self, subject_type: SubjectType, subject_id: str) -> list[Job]:
        """Every job of one meeting or afspraak, in the order they were created."""
        rows = await self._fetch_all(
            "SELECT * FROM jobs WHERE subject_type = ? AND subject_id = ? ORDER BY id",
            (subject_type.value, subject_id),
        )
        return [_job_from_row(row) for row in rows]

    async def pending_jobs(self, subject_type: SubjectType | None = None) -> list[Job]:
        """Pending jobs (of one subject type), soonest due first."""
        rows = await self._fetch_all(
            "SELECT * FROM jobs WHERE status = 'pending' AND (?1 IS NULL OR subject_type = ?1)"
            " ORDER BY due_at, id",
            (None if subject_type is None else subject_type.value,),
        )
        return [_job_from_row(row) for row in rows]

    async def due_jobs(self, now: datetime, limit: int = 100) -> list[Job]:
        """Pending jobs whose time has come, oldest due first."""
        rows = await self._fetch_all(
            "SELECT * FROM jobs WHERE status = 'pending' AND due_at <= ? ORDER BY due_at, id"
            " LIMIT ?",
            (instant_to_db(now), limit),
        )
        return [_job_from_row(row) for row in rows]

    async def next_due_at(self) -> datetime | None:
        row = await self._fetch_one("SELECT MIN(due_at) FROM jobs WHERE status = 'pending'")
        return None if row is None else optional_instant_from_db(row[0])

    async def recent_jobs(self, since: datetime) -> list[Job]:
        """Pending jobs, and the others settled since ``since``, by due time."""
        rows = await self._fetch_all(
            "SELECT * FROM jobs WHERE status = 'pending' OR updated_at >= ? ORDER BY due_at, id",
            (instant_to_db(since),),
        )
        return [_job_from_row(row) for row in rows]

    async def _changes_one_row(self, sql: str, params: tuple[object, ...]) -> bool:
        """Run an INSERT/UPDATE; ``True`` when it touched exactly one row (the guard held)."""
        async with self._conn.execute(sql, params) as cursor:
            return cursor.rowcount == 1
