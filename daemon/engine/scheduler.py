"""The durable scheduler: jobs from the moments of meetings and afspraken, fired once.

``materialise`` turns the meetings and open afspraken into jobs keyed by
(subject, moment, channel), inside the caller's transaction: new moments are
added, a moved meeting's pending jobs move, fired and skipped jobs stay as they
are, jobs no longer wanted are cancelled, and every channel that already
carried a meeting hears of its cancellation, move or reinstatement by a notice.

``Scheduler.run`` sleeps until the earliest pending job (or a ``wake()``) and
fires each due job in ONE transaction: the catch-up decision
(:mod:`daemon.rules.catchup`), its outbox rows (:mod:`daemon.publish.scheduled`) and its new
status commit together, and the rows' keys derive from the job's key, so a crash
and a re-run can neither lose nor double an effect.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from daemon.clock import Clock
from daemon.engine.outbox import wait_for_any
from daemon.model import (
    Agreement,
    AgreementId,
    Kind,
    Meeting,
    MeetingId,
    Offset,
    Series,
    SeriesId,
)
from daemon.ports.outbox import ChannelName, NewEffect
from daemon.publish.decisions import previous_decisions
from daemon.publish.folder import FOLDER_MOMENT, folder_effects
from daemon.publish.package import PACKAGE_MOMENT, PackageSettings, stukken_package, with_package
from daemon.publish.scheduled import (
    DECIDED_MOMENTS,
    SHORT_NOTICE,
    FireContext,
    Targets,
    agreement_destinations,
    agreement_effects,
    is_deadline_reminder,
    meeting_destinations,
    meeting_effects,
    skip_reason,
)
from daemon.rules import catchup
from daemon.rules.catchup import CANCELLED_NOTICE, MOVED_NOTICE, NOTICES, REINSTATED_NOTICE, Skip
from daemon.rules.moments import (
    ANNOUNCE,
    MEETING_REMINDER,
    agreement_due_at,
    agreement_moments,
    deadline,
    moments,
)
from daemon.rules.names import Names
from daemon.store import Store, Tx
from daemon.store.engine import Job, JobSpec, JobStatus, SubjectType

if TYPE_CHECKING:
    from daemon.config.schema import Config

log = logging.getLogger("wijkbode.scheduler")

# A job fired more than this after its time gets a note saying how late it was.
LATE_AFTER = timedelta(minutes=1)
# The moments whose message lists the meeting's agenda (packages, announcements, reminders).
_PACKAGE_MOMENTS = frozenset(
    {"concept_agenda", "announce", "reminder:meeting", *(kind.value for kind in Kind)}
)


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """What the scheduler needs from the configuration."""

    tz: ZoneInfo
    series: Mapping[SeriesId, Series]
    agreement_reminders: tuple[Offset, ...]
    targets: Targets
    # The stukken package's attach-or-link limit and link address; the folder's config.
    package: PackageSettings = field(default_factory=PackageSettings)
    folder: Config | None = None

    @classmethod
    def from_config(cls, config: Config) -> EngineSettings:
        return cls(
            tz=config.timezone,
            series={sid: entry.series for sid, entry in config.series.items()},
            agreement_reminders=config.agreements.reminders,
            targets=Targets.from_config(config),
            package=PackageSettings.from_config(config),
            folder=config,
        )


@dataclass(slots=True)
class Replanned:
    """What one ``materialise`` changed, for logs and tests."""

    added: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.moved or self.cancelled)


def meeting_prefix(meeting_id: str) -> str:
    """The common start of the outbox keys of every effect of one meeting's jobs."""
    return f"job/{SubjectType.MEETING.value}/{meeting_id}/"


# --- materialise -----------------------------------------------------------------


async def materialise(
    tx: Tx,
    meetings: Sequence[Meeting],
    agreements: Sequence[Agreement],
    settings: EngineSettings,
    now: datetime,
) -> Replanned:
    """Bring the jobs in line with ``meetings`` (all stored) and the open ``agreements``.

    Meetings that already started are left alone (their pending jobs are for the
    catch-up policy to fire or skip); pending jobs of meetings no longer stored or
    of a series no longer configured, and of afspraken no longer open, are cancelled.
    """
    report = Replanned()
    for meeting in meetings:
        if meeting.start <= now:
            continue
        existing = await tx.jobs_of(SubjectType.MEETING, meeting.id)
        series = settings.series.get(meeting.series)
        # A series taken out of the configuration wants nothing any more.
        wanted = (
            []
            if series is None
            else meeting_specs(meeting, series, settings)
            + notice_specs(meeting, existing, now)
            + plan_publication_specs(meeting, series, settings, existing, now)
        )
        await _reconcile(tx, existing, wanted, now, report)
    for agreement in agreements:
        existing = await tx.jobs_of(SubjectType.AGREEMENT, str(agreement.id))
        await _reconcile(tx, existing, agreement_specs(agreement, settings), now, report)
    known: dict[SubjectType, set[str]] = {
        SubjectType.MEETING: {str(m.id) for m in meetings},
        SubjectType.AGREEMENT: {str(a.id) for a in agreements},
    }
    for job in await tx.pending_jobs():
        if job.subject_id not in known[job.subject_type]:
            await _cancel(tx, job, now, report)
    return report


def planned_specs(
    meetings: Sequence[Meeting], settings: EngineSettings, now: datetime
) -> list[JobSpec]:
    """The jobs ``materialise`` would store for ``meetings`` in an empty store, by due time.

    ``wijkbode schedule`` shows them before the daemon's first run, when nothing
    is stored yet, so a new installation can see what its plan will do.
    """
    specs = [
        _with_short_notice(spec, now)
        for meeting in meetings
        if meeting.start > now and (series := settings.series.get(meeting.series)) is not None
        for spec in [
            *meeting_specs(meeting, series, settings),
            *plan_publication_specs(meeting, series, settings, (), now),
        ]
    ]
    return sorted(specs, key=lambda spec: (spec.due_at, spec.key))


def meeting_specs(meeting: Meeting, series: Series, settings: EngineSettings) -> list[JobSpec]:
    """One job per moment of ``meeting`` and channel that moment goes to."""
    specs: list[JobSpec] = []
    for moment in moments(meeting, series.rules, settings.tz):
        target = meeting.start
        if is_deadline_reminder(moment.name):
            kind = Kind(moment.name.partition(":")[2])
            target = deadline(meeting, kind, series.rules, settings.tz)
        for channel in meeting_destinations(moment.name, series, settings.targets):
            specs.append(
                JobSpec(
                    key=f"{SubjectType.MEETING.value}/{moment.key}/{channel.value}",
                    subject_type=SubjectType.MEETING,
                    subject_id=meeting.id,
                    moment=moment.name,
                    channel=channel,
                    due_at=moment.at,
                    target_at=target,
                    subject_at=meeting.start,
                )
            )
    return specs


def plan_publication_specs(
    meeting: Meeting, series: Series, settings: EngineSettings, jobs: Iterable[Job], now: datetime
) -> list[JobSpec]:
    """The feed's ``announce`` of a public series that has no announcement moment.

    RULES.md: a wijkalliantie's dates are public from the moment they are in the
    plan, with no announcement in the rooms. So the feed alone gets an
    ``announce`` job, due when the meeting is first planned (its stored due time
    is kept, so a later ``materialise`` sees no change).
    """
    if series.rules.announce is not None or meeting.cancelled:
        return []
    if not meeting_destinations(ANNOUNCE, series, settings.targets).get(ChannelName.FEED):
        return []
    key = f"{SubjectType.MEETING.value}/{meeting.id}/{ANNOUNCE}/plan/{ChannelName.FEED.value}"
    planned = next((job.due_at for job in jobs if job.key == key), now)
    return [
        JobSpec(
            key=key,
            subject_type=SubjectType.MEETING,
            subject_id=meeting.id,
            moment=ANNOUNCE,
            channel=ChannelName.FEED,
            due_at=planned,
            target_at=meeting.start,
            subject_at=meeting.start,
        )
    ]


def notice_specs(meeting: Meeting, jobs: Iterable[Job], now: datetime) -> list[JobSpec]:
    """A notice on each channel whose last word on ``meeting`` no longer holds.

    What a channel was last told is the newest job fired on it: a cancellation
    notice told "cancelled", anything else "it is on, at ``subject_at``". The
    key counts the notices fired before, so a second move gets a second notice.
    """
    specs: list[JobSpec] = []
    for channel, fired in _fired_by_channel(jobs).items():
        last = fired[-1]
        told_cancelled = last.moment == CANCELLED_NOTICE
        if meeting.cancelled:
            kind = None if told_cancelled else CANCELLED_NOTICE
        elif told_cancelled:
            kind = REINSTATED_NOTICE
        else:
            kind = MOVED_NOTICE if last.subject_at != meeting.start else None
        if kind is None:
            continue
        generation = sum(1 for job in fired if job.moment in NOTICES)
        specs.append(
            JobSpec(
                key=f"{SubjectType.MEETING.value}/{meeting.id}/{kind}/{generation}/{channel.value}",
                subject_type=SubjectType.MEETING,
                subject_id=meeting.id,
                moment=kind,
                channel=channel,
                due_at=now,
                target_at=meeting.start,
                subject_at=meeting.start,
            )
        )
    return specs


def _fired_by_channel(jobs: Iterable[Job]) -> dict[ChannelName, list[Job]]:
    """Fired jobs per channel, oldest fired first."""
    by_channel: dict[ChannelName, list[Job]] = {}
    fired = [job for job in jobs if job.status is JobStatus.FIRED and job.fired_at is not None]
    for job in sorted(fired, key=lambda j: (j.fired_at, j.id)):
        by_channel.setdefault(job.channel, []).append(job)
    return by_channel


def agreement_specs(agreement: Agreement, settings: EngineSettings) -> list[JobSpec]:
    """The reminders and the overdue report of an open afspraak, per channel."""
    due = agreement_due_at(agreement.due, settings.tz)
    return [
        JobSpec(
            key=f"{moment.key}/{channel.value}",
            subject_type=SubjectType.AGREEMENT,
            subject_id=str(agreement.id),
            moment=moment.name,
            channel=channel,
            due_at=moment.at,
            target_at=due,
            subject_at=due,
        )
        for moment in agreement_moments(agreement, settings.agreement_reminders, settings.tz)
        for channel in agreement_destinations(settings.targets, moment.name, agreement.owner)
    ]


async def _reconcile(
    tx: Tx, existing: Sequence[Job], wanted: Sequence[JobSpec], now: datetime, report: Replanned
) -> None:
    by_key = {job.key: job for job in existing}
    for spec in wanted:
        job = by_key.get(spec.key)
        if job is None:
            await tx.insert_job(_with_short_notice(spec, now), now=now)
            report.added.append(spec.key)
        elif job.status is JobStatus.CANCELLED or (
            job.status is JobStatus.PENDING and _replanned(job, spec)
        ):
            await tx.replan_job(job.id, _with_short_notice(spec, now), now=now)
            report.moved.append(spec.key)
    wanted_keys = {spec.key for spec in wanted}
    for job in existing:
        if job.status is JobStatus.PENDING and job.key not in wanted_keys:
            await _cancel(tx, job, now, report)


def _replanned(job: Job, spec: JobSpec) -> bool:
    """Whether the times of a pending job changed; a notice is due whenever it was made."""
    same_subject = (job.subject_at, job.target_at) == (spec.subject_at, spec.target_at)
    return (
        not same_subject
        if spec.moment in NOTICES
        else not same_subject or job.due_at != spec.due_at
    )


def _with_short_notice(spec: JobSpec, now: datetime) -> JobSpec:
    """An announcement planned after its moment goes out at once and says it is short notice."""
    if spec.moment == ANNOUNCE and spec.due_at < now:
        return replace(spec, note=SHORT_NOTICE)
    return spec


async def _cancel(tx: Tx, job: Job, now: datetime, report: Replanned) -> None:
    note = "niet meer nodig (no longer wanted)"
    if await tx.settle_job(job.id, JobStatus.CANCELLED, note, now=now):
        report.cancelled.append(job.key)


# --- firing ------------------------------------------------------------------------


class Scheduler:
    """Fires due jobs once, at their time or (if still sensible) late after downtime."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        settings: EngineSettings,
        *,
        on_enqueued: Callable[[], None] = lambda: None,
        poll_seconds: float = 60.0,
    ) -> None:
        self._store = store
        self._clock = clock
        self._settings = settings
        self._on_enqueued = on_enqueued
        self._poll_seconds = poll_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look at the schedule now (call after a commit that changed jobs)."""
        self._wake.set()

    def reconfigure(self, settings: EngineSettings) -> None:
        """Fire with ``settings`` from now on: the plan was reloaded (SIGHUP)."""
        self._settings = settings

    async def refresh(self) -> Replanned:
        """Materialise the jobs of every stored meeting and open afspraak, then wake."""
        async with self._store.transaction() as tx:
            report = await materialise(
                tx,
                await tx.meetings(),
                await tx.open_agreements(),
                self._settings,
                self._clock.now(),
            )
        self.wake()
        return report

    async def run(self) -> None:
        """Fire due jobs until cancelled; sleep until the next one or a ``wake()``."""
        log.info("scheduler started")
        while True:
            self._wake.clear()
            next_due: datetime | None = None
            try:
                await self.fire_due()
                async with self._store.reading() as tx:
                    next_due = await tx.next_due_at()
            except sqlite3.OperationalError:
                # A busy database (another process holding a write) is worth another
                # try after the poll interval, not the end of the daemon.
                log.exception("the schedule could not be read or written; trying again")
            await wait_for_any(self._clock, self._wake, next_due, self._poll_seconds)

    async def fire_due(self) -> int:
        """Fire, skip or fail every job due now; return how many were handled."""
        now = self._clock.now()
        handled = 0
        while True:
            async with self._store.reading() as tx:
                due = await tx.due_jobs(now)
            if not due:
                return handled
            for job in due:
                handled += await self._fire(job.id, now)

    async def _fire(self, job_id: int, now: datetime) -> int:
        try:
            async with self._store.transaction() as tx:
                enqueued = await self._fire_in(tx, job_id, now)
        except sqlite3.Error:
            raise
        except Exception as error:
            log.exception("job %d failed", job_id)
            async with self._store.transaction() as tx:
                note = f"{type(error).__name__}: {error}"[:500]
                await tx.settle_job(job_id, JobStatus.FAILED, note, now=now)
            return 1
        if enqueued:
            self._on_enqueued()
        return 1

    async def _fire_in(self, tx: Tx, job_id: int, now: datetime) -> int:
        """Decide, enqueue and settle one job in ``tx``; return the number of rows enqueued."""
        job = await tx.job(job_id)
        if job is None or job.status is not JobStatus.PENDING:
            return 0
        subject = await _subject(tx, job)
        decision = catchup.decide(job, subject, now)
        if isinstance(decision, Skip):
            await tx.settle_job(job.id, JobStatus.SKIPPED, decision.reason, now=now)
            log.info("skipped %s: %s", job.key, decision.reason)
            return 0
        empty = await self._nothing_to_send(tx, job, subject)
        if empty is not None:
            await tx.settle_job(job.id, JobStatus.SKIPPED, empty, now=now)
            log.info("skipped %s: %s", job.key, empty)
            return 0
        effects = await self._effects(tx, job, subject)
        added = [await tx.enqueue(effect, now=now) for effect in effects]
        await tx.settle_job(job.id, JobStatus.FIRED, _fired_note(job, now, len(effects)), now=now)
        log.info("fired %s (%d effects)", job.key, len(effects))
        return sum(added)

    async def _nothing_to_send(self, tx: Tx, job: Job, subject: catchup.Subject) -> str | None:
        """Why a job that may fire has nothing to say (an empty addendum), else ``None``."""
        if not isinstance(subject, Meeting) or job.moment not in _PACKAGE_MOMENTS:
            return None
        series = self._settings.series.get(subject.series)
        if series is None:
            return None
        agenda = tuple(await tx.items_for_meeting(subject.id))
        return skip_reason(job, subject, series, agenda, self._settings.tz)

    async def _effects(self, tx: Tx, job: Job, subject: catchup.Subject) -> list[NewEffect]:
        tz, targets = self._settings.tz, self._settings.targets
        if isinstance(subject, Agreement):
            names = Names(await tx.member_names())
            return agreement_effects(job, subject, FireContext(tz, targets, names=names))
        if not isinstance(subject, Meeting):
            raise LookupError(f"job {job.key} has no subject")
        series = self._settings.series.get(subject.series)
        if series is None:
            raise LookupError(f"series {subject.series} is not configured")
        prefix = meeting_prefix(subject.id)
        # A private series' meeting reminder is the core group's overview: with the afspraken.
        overview = job.moment == MEETING_REMINDER and not series.public
        # The concept and definitive agenda carry the previous meeting's besluitenlijst.
        previous, decided = (
            await previous_decisions(tx, subject)
            if job.moment in DECIDED_MOMENTS and series.public_agenda
            else (None, [])
        )
        context = FireContext(
            tz,
            targets,
            carried=tuple(await tx.destinations_reached(prefix, job.channel)),
            sequence=await tx.count_effects(prefix, job.channel),
            agenda=(
                tuple(await tx.items_for_meeting(subject.id))
                if job.moment in _PACKAGE_MOMENTS
                else ()
            ),
            subscribers=(
                tuple(await tx.confirmed_subscriber_ids())
                if job.channel is ChannelName.MAIL and targets.subscribers
                else ()
            ),
            agreements=tuple(await tx.agreements()) if overview else (),
            names=Names(await tx.member_names()) if overview else Names(),
            polls=tuple(await tx.open_polls()) if overview else (),
            advice=tuple(await tx.all_advice(open_only=True)) if overview else (),
            previous_start=(
                await _last_told_start(tx, job) if job.moment == MOVED_NOTICE else None
            ),
            previous=previous,
            decided=tuple(decided),
        )
        effects = meeting_effects(job, subject, series, context)
        return await self._with_files(tx, job, subject, series, context, effects)

    async def _with_files(
        self,
        tx: Tx,
        job: Job,
        meeting: Meeting,
        series: Series,
        context: FireContext,
        effects: list[NewEffect],
    ) -> list[NewEffect]:
        """The stukken package (T-14d) and the folder's PDF join their moment's rows; the
        package's download tokens are stored here, in the transaction of those rows."""
        if job.moment == PACKAGE_MOMENT:
            package = stukken_package(meeting, series, context.agenda)
            settings = self._settings.package
            effects, tokens = with_package(effects, package, settings, context.tz, _mint)
            await tx.add_download_tokens(tokens, now=self._clock.now())
        elif job.moment == FOLDER_MOMENT and self._settings.folder is not None:
            folder = self._settings.folder
            now = self._clock.now()
            effects = await folder_effects(tx, self._store.documents, meeting, effects, folder, now)
        return effects


def _mint() -> str:
    """A download token: 256 random bits, URL-safe, unguessable."""
    return secrets.token_urlsafe(32)


async def _last_told_start(tx: Tx, job: Job) -> datetime | None:
    """When the job's channel last heard the meeting takes place (its newest fired job)."""
    fired = _fired_by_channel(
        j for j in await tx.jobs_of(job.subject_type, job.subject_id) if j.id != job.id
    ).get(job.channel)
    return fired[-1].subject_at if fired else None


async def _subject(tx: Tx, job: Job) -> catchup.Subject:
    if job.subject_type is SubjectType.MEETING:
        return await tx.meeting(MeetingId(job.subject_id))
    return await tx.agreement(AgreementId(int(job.subject_id)))


def _fired_note(job: Job, now: datetime, effects: int) -> str:
    notes = [job.note] if job.note else []
    late = now - job.due_at
    if late > LATE_AFTER:
        notes.append(_lateness(late))
    if effects == 0:
        notes.append("geen bestemmingen (no destinations)")
    return "; ".join(notes)


def _lateness(late: timedelta) -> str:
    """'laat: 2d 3u 5m (late: 2d 3h 5m)'."""
    minutes = int(late.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    dutch = f"{days}d {hours}u {minutes}m" if days else f"{hours}u {minutes}m"
    english = f"{days}d {hours}h {minutes}m" if days else f"{hours}h {minutes}m"
    return f"laat: {dutch} (late: {english})"
