"""Every deadline moment as an event in the core group's calendar (``[caldav] deadline_calendar``).

Each submission deadline of each coming meeting is one short event, kept up to
date through the CalDAV outbox channel: written when the meeting is planned,
rewritten under the same UID when it moves, cancelled when the meeting is
cancelled or taken out of the plan. A write is queued only when what the
calendar should show differs from the last write queued for that event, so
syncing the same plan again queues nothing (nothing twice).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from daemon.i18n import Translator
from daemon.model import Meeting, Series, SeriesId
from daemon.ports.outbox import CalendarWrite, ChannelName, NewEffect
from daemon.rules.moments import deadline
from daemon.store import Tx

__all__ = ["deadline_writes", "enqueue_deadline_events"]

# Wijkbode's own events start so; the planning calendar's reader skips them.
UID_PREFIX = "wijkbode-deadline-"
EVENT_LENGTH = timedelta(minutes=15)


def deadline_writes(
    meeting: Meeting, series: Series, tz: ZoneInfo, domain: str, *, cancel: bool = False
) -> list[CalendarWrite]:
    """The events of ``meeting``'s deadlines (cancelled with the meeting, or ``cancel``)."""
    languages = (Translator("nl", tz), Translator("en", tz))
    off = cancel or meeting.cancelled
    writes = []
    for kind in series.rules.deadlines:
        at = deadline(meeting, kind, series.rules, tz)
        summary = " / ".join(
            _("Deadline {kind}: {meeting}", kind=kind.value, meeting=series.title)
            for _ in languages
        )
        description = "\n\n".join(
            _(
                "Until this moment a {kind} can be submitted for the meeting of {when}.",
                kind=kind.value,
                when=_.when(meeting.start),
            )
            for _ in languages
        )
        writes.append(
            CalendarWrite(
                uid=f"{UID_PREFIX}{meeting.id}-{kind.value}@{domain}",
                action="cancel" if off else "upsert",
                summary=summary,
                start=at,
                end=at + EVENT_LENGTH,
                location="",
                description=description,
                sequence=0,
            )
        )
    return writes


async def enqueue_deadline_events(
    tx: Tx,
    meetings: Iterable[Meeting],
    removed: Iterable[Meeting],
    series: Mapping[SeriesId, Series],
    *,
    calendar: str,
    domain: str,
    tz: ZoneInfo,
    now: datetime,
) -> int:
    """Queue the deadline events that changed; return how many writes were queued."""
    wanted: list[CalendarWrite] = []
    for meeting, cancel in [*((m, False) for m in meetings), *((m, True) for m in removed)]:
        entry = series.get(meeting.series)
        if entry is None or meeting.start <= now:
            continue
        wanted += deadline_writes(meeting, entry, tz, domain, cancel=cancel)
    queued = 0
    for write in wanted:
        prefix = f"deadline-event/{write.uid}/"
        last = await tx.last_payload(prefix)
        if last is None and write.action == "cancel":
            continue  # never written: nothing to cancel
        if isinstance(last, CalendarWrite) and replace(last, sequence=0) == write:
            continue
        n = await tx.count_effects(prefix, ChannelName.CALDAV)
        effect = NewEffect(ChannelName.CALDAV, calendar, f"{prefix}{n}", replace(write, sequence=n))
        queued += await tx.enqueue(effect, now=now)
    return queued
