"""``wijkbode preview MOMENT MEETING-ID [--channel matrix|mail|calendar]``.

Prints the message a meeting's moment will send, composed exactly as the
scheduler composes it when the moment fires (daemon/publish/scheduled.py and
its templates), from the agenda and afspraken stored now. Nothing is sent and
nothing is recorded, so the core group can read a message before it goes out.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from daemon.cli.common import config_from, synced_store
from daemon.config import Config
from daemon.errors import ConfigError
from daemon.model import Agreement, Item, Kind, Meeting, MeetingId, Series
from daemon.ports.outbox import CalendarWrite, ChannelName, ChatPost, MailOut
from daemon.publish.decisions import DecisionRow, previous_decisions
from daemon.publish.scheduled import FireContext, Targets, meeting_effects, skip_reason
from daemon.rules.catchup import NOTICES
from daemon.rules.moments import MEETING_REMINDER, deadline, moments
from daemon.rules.names import Names
from daemon.store import has_state
from daemon.store.engine import Job, JobStatus, SubjectType

_CHANNELS = {"matrix": ChannelName.MATRIX, "mail": ChannelName.MAIL, "calendar": ChannelName.CALDAV}


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    preview = subparsers.add_parser(
        "preview",
        help=("Toon wat een moment zal sturen / Show what a moment will send"),
    )
    preview.add_argument(
        "moment",
        metavar="MOMENT",
        help=(
            "bijv. / e.g. concept_agenda, stuk, reminder:stuk, ter_kennisgeving, announce, "
            "reminder:meeting, moved_notice (zie / see `wijkbode deadlines`)"
        ),
    )
    preview.add_argument("meeting", metavar="MEETING-ID", help="zie / see `wijkbode meetings`")
    preview.add_argument(
        "--channel",
        choices=sorted(_CHANNELS),
        default="matrix",
        help="kanaal / channel (standaard / default: matrix)",
    )
    preview.add_argument(
        "--html",
        action="store_true",
        help="de opgemaakte versie (HTML) / the formatted version (HTML)",
    )
    preview.set_defaults(handler=show_preview)


@dataclass(frozen=True, slots=True)
class _Stored:
    meeting: Meeting
    agenda: tuple[Item, ...]
    agreements: tuple[Agreement, ...]
    names: Names
    # The series' previous meeting and its decisions (the concept and definitive agenda).
    previous: Meeting | None = None
    decided: tuple[DecisionRow, ...] = ()


def show_preview(args: argparse.Namespace) -> int:
    config = config_from(args)
    now = datetime.now(UTC)
    stored = asyncio.run(_stored(config, MeetingId(args.meeting), now))
    series = _series(config, stored.meeting)
    channel = _CHANNELS[args.channel]
    job = preview_job(stored.meeting, series, args.moment, channel, config, now)
    reason = skip_reason(job, stored.meeting, series, stored.agenda, config.timezone)
    if reason is not None:
        print(f"dit moment stuurt niets (this moment sends nothing): {reason}")
        return 0
    context = FireContext(
        config.timezone,
        Targets.from_config(config),
        carried=_carried(job, config),
        agenda=stored.agenda,
        names=stored.names,
        agreements=stored.agreements,
        previous=stored.previous,
        decided=stored.decided,
    )
    print(render_preview(job, stored.meeting, series, context, html=args.html))
    return 0


def render_preview(
    job: Job, meeting: Meeting, series: Series, context: FireContext, *, html: bool = False
) -> str:
    """Each distinct message of ``job``, headed by the destinations it goes to."""
    effects = meeting_effects(job, meeting, series, context)
    if not effects:
        # Nobody configured on this channel hears this moment yet: show the wording as the
        # configured series would send it, to stand-in destinations.
        stand_in = replace(
            context.targets,
            core_room="(kerngroep)",
            partner_addresses=("(partners)",),
            residents_address="(bewoners)",
            calendar="(agenda)",
        )
        carried = ("(kerngroep)", "(partners)", "(bewoners)", "(agenda)")
        effects = meeting_effects(
            job, meeting, series, replace(context, targets=stand_in, carried=carried)
        )
    by_text: dict[str, list[str]] = {}
    for effect in effects:
        by_text.setdefault(_shown(effect.payload, html), []).append(effect.destination)
    return "\n\n".join(
        f"== {', '.join(destinations)} ==\n{text}" for text, destinations in by_text.items()
    )


def _shown(payload: object, html: bool) -> str:
    if isinstance(payload, ChatPost):
        return payload.html if html else payload.body
    if isinstance(payload, MailOut):
        body = (payload.html or "") if html else payload.text
        return f"Subject: {payload.subject}\n\n{body}"
    if isinstance(payload, CalendarWrite):
        return f"SUMMARY: {payload.summary}\nDESCRIPTION:\n{payload.description}"
    raise TypeError(f"unexpected payload {type(payload).__name__}")


def preview_job(
    meeting: Meeting,
    series: Series,
    moment: str,
    channel: ChannelName,
    config: Config,
    now: datetime,
) -> Job:
    """The job the scheduler would fire for ``moment`` of ``meeting`` on ``channel``."""
    tz = config.timezone
    # "reminder:stuk" is its first reminder; "reminder:stuk/2d" names one by its offset.
    name, _, offset = moment.partition("/")
    planned = [
        m
        for m in moments(meeting, series.rules, tz)
        if m.name == name and offset in ("", str(m.offset))
    ]
    if not planned and name not in NOTICES:
        known = sorted({m.name for m in moments(meeting, series.rules, tz)} | set(NOTICES))
        raise ConfigError(
            f"{meeting.id} heeft geen moment {moment!r}; wel: {', '.join(known)} "
            f"({meeting.id} has no moment {moment!r})"
        )
    due = planned[0].at if planned else now
    target = meeting.start
    if name.startswith("reminder:") and name != MEETING_REMINDER:
        target = deadline(meeting, Kind(name.partition(":")[2]), series.rules, tz)
    return Job(
        id=0,
        key=f"{SubjectType.MEETING.value}/{meeting.id}/{name}/preview/{channel.value}",
        subject_type=SubjectType.MEETING,
        subject_id=meeting.id,
        moment=name,
        channel=channel,
        due_at=due,
        target_at=target,
        subject_at=meeting.start,
        status=JobStatus.PENDING,
        fired_at=None,
        note="",
        created_at=now,
        updated_at=now,
    )


def _carried(job: Job, config: Config) -> tuple[str, ...]:
    """A notice goes where the meeting was told before: shown for every such destination."""
    if job.moment not in NOTICES:
        return ()
    targets = Targets.from_config(config)
    everywhere = (
        *([targets.core_room] if targets.core_room else []),
        *targets.announce_rooms,
        *targets.partner_addresses,
        *([targets.residents_address] if targets.residents_address else []),
        *([targets.calendar] if targets.calendar else []),
    )
    return tuple(dict.fromkeys(everywhere))


def _series(config: Config, meeting: Meeting) -> Series:
    entry = config.series.get(meeting.series)
    if entry is None:
        raise ConfigError(
            f"reeks {meeting.series!r} staat niet in de configuratie "
            f"(series {meeting.series!r} is not configured)"
        )
    return entry.series


async def _stored(config: Config, meeting_id: MeetingId, now: datetime) -> _Stored:
    if not has_state(config.state_dir):
        # Before the first run the plan is all there is: no agenda, no afspraken yet.
        planned = {m.id: m for m in config.meetings()}
        if meeting_id not in planned:
            raise _unknown(meeting_id)
        return _Stored(planned[meeting_id], (), (), Names())
    async with synced_store(config, now) as store, store.reading() as tx:
        meeting = await tx.meeting(meeting_id)
        if meeting is None:
            raise _unknown(meeting_id)
        previous, decided = await previous_decisions(tx, meeting)
        return _Stored(
            meeting,
            tuple(await tx.items_for_meeting(meeting_id)),
            tuple(await tx.agreements()),
            Names(await tx.member_names()),
            previous,
            tuple(decided),
        )


def _unknown(meeting_id: str) -> ConfigError:
    return ConfigError(
        f"onbekende vergadering {meeting_id!r}, zie `wijkbode meetings` "
        f"(unknown meeting, see `wijkbode meetings`)"
    )
