"""What the public surfaces (the calendar feed, the page) show: published meetings. Pure reads.

A meeting is public from its series' publication moment on, never before: the
scheduler fires that moment (a bewonersbijeenkomst's ``announce`` at T-28d) to
the feed channel like to every other channel, and the feed channel's delivery
records the event as published (``daemon.store.public``). So the feed and the
page show exactly what was published, and when: a move or a cancellation
reaches them as the scheduler's notice, with a higher ``SEQUENCE``, and a
cancelled meeting stays listed as cancelled.

Which series may be shown at all is asked of :func:`daemon.rules.visibility.may_show`
here, with the configuration as it is now, so a series made private leaves every
public surface at once. The UID of each event is the CalDAV event's
(``<meeting id>@<mail domain>``).

No aiohttp here: the HTTP connector renders what this module returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from daemon.config import Config
from daemon.model import (
    Item,
    ItemStatus,
    Kind,
    Meeting,
    MeetingId,
    Series,
    SeriesId,
    SeriesRules,
)
from daemon.ports.public import FEED_NAME, PublicDecision, PublicItem, PublicMeeting
from daemon.publish.decisions import DecisionRow, decision_rows
from daemon.rules.moments import ANNOUNCE, deadline, moments, utc
from daemon.rules.visibility import (
    ItemState,
    MeetingState,
    Part,
    SeriesVisibility,
    Surface,
    agenda_moment,
    may_show,
)
from daemon.safe_text import untrusted
from daemon.store import Store
from daemon.store.public import Publication

__all__ = [
    "FEED_NAME",
    "PublicItem",
    "PublicMeeting",
    "next_publication",
    "public_decisions",
    "public_meetings",
    "public_series",
    "public_view",
]

# Items that stand on a meeting's agenda (as the packages list them).
_ON_AGENDA = frozenset({ItemStatus.FILED, ItemStatus.TER_BESPREKING})


async def public_view(
    store: Store, config: Config, now: datetime, *, surface: Surface = Surface.PUBLIC_FEED
) -> list[PublicMeeting]:
    """Every published meeting of every series the rule lets on ``surface``, by start.

    A meeting is published from its series' publication moment on (see the
    module docstring); past meetings stay (a calendar keeps its history).
    """
    async with store.reading() as tx:
        published = await tx.publications(FEED_NAME)
        meetings = {m.id: m for m in await tx.meetings()}
        agendas = {p.meeting: await tx.items_for_meeting(p.meeting) for p in published}
        decided = {
            p.meeting: await decision_rows(tx, meetings[p.meeting])
            for p in published
            if p.meeting in meetings
        }
    return public_meetings(
        published, meetings, agendas, config, now, surface=surface, decisions=decided
    )


def public_meetings(
    published: Sequence[Publication],
    meetings: dict[MeetingId, Meeting],
    agendas: dict[MeetingId, list[Item]],
    config: Config,
    now: datetime,
    *,
    surface: Surface = Surface.PUBLIC_FEED,
    decisions: dict[MeetingId, list[DecisionRow]] | None = None,
) -> list[PublicMeeting]:
    """``public_view`` without the store: the same answer from rows already read."""
    shown: list[PublicMeeting] = []
    for publication in published:
        meeting = meetings.get(publication.meeting)
        entry = None if meeting is None else config.series.get(meeting.series)
        if meeting is None or entry is None:
            continue  # unknown means private
        series = entry.series
        if not may_show(SeriesVisibility.of(series), surface):
            continue
        event = publication.event
        tz = config.timezone
        # The agenda, deadlines and stukken moment follow the meeting as it stands;
        # its place in time is what was published.
        kinds = series.rules.deadlines
        shown.append(
            PublicMeeting(
                id=meeting.id,
                series=meeting.series,
                series_title=series.title,
                # As published (the CalDAV event's text); the page escapes it.
                title=event.summary,
                start=event.start.astimezone(tz),
                end=event.end.astimezone(tz),
                location=event.location,
                cancelled=event.action == "cancel",
                moved_from=None
                if publication.moved_from is None
                else publication.moved_from.astimezone(tz),
                sequence=event.sequence,
                agenda=_agenda(meeting, agendas.get(meeting.id, []), series, tz, now, surface),
                stukken_at=deadline(meeting, Kind.STUK, series.rules, tz)
                if Kind.STUK in kinds and not meeting.cancelled
                else None,
                deadlines=() if meeting.cancelled else _ahead(meeting, series.rules, tz, now),
                submission_address=None if config.mail is None else config.mail.address,
                uid=event.uid,
                description=event.description,
                changed_at=publication.changed_at,
                decisions=public_decisions(
                    meeting, (decisions or {}).get(meeting.id, []), series, tz, now, surface
                ),
            )
        )
    return sorted(shown, key=lambda m: (utc(m.start), m.id))


def _ahead(
    meeting: Meeting, rules: SeriesRules, tz: ZoneInfo, now: datetime
) -> tuple[tuple[Kind, datetime], ...]:
    """The submission deadlines of ``meeting`` still ahead, in the kinds' agenda order."""
    found = [(kind, deadline(meeting, kind, rules, tz)) for kind in Kind if kind in rules.deadlines]
    return tuple((kind, at) for kind, at in found if utc(at) > utc(now))


def _agenda(
    meeting: Meeting,
    items: Sequence[Item],
    series: Series,
    tz: ZoneInfo,
    now: datetime,
    surface: Surface,
) -> tuple[PublicItem, ...] | None:
    """The agenda titles the one rule lets on ``surface``; ``None`` where the series'
    agenda is not public (``public_agenda``), or not yet (a wijkalliantie's before its
    concept agenda). Never a confidential item or one awaiting acceptance."""
    seen = SeriesVisibility.of(series)
    out = agenda_moment(meeting, series.rules, tz)
    # Published: the feed delivery recorded it. Its agenda goes out by time.
    state = MeetingState(published=True, agenda_out=out is None or utc(now) >= utc(out))
    if not may_show(seen, surface, None, Part.AGENDA, meeting=state):
        return None
    return tuple(
        PublicItem(number=f"WB-{item.id}", kind=item.kind, title=untrusted(item.title))
        for item in items
        if item.status in _ON_AGENDA
        and may_show(seen, surface, None, Part.AGENDA, meeting=state, item=ItemState.of(item))
    )


def public_decisions(
    meeting: Meeting,
    rows: Sequence[DecisionRow],
    series: Series,
    tz: ZoneInfo,
    now: datetime,
    surface: Surface,
) -> tuple[PublicDecision, ...]:
    """The decisions on the items whose titles the one rule lets out (never a confidential
    item's), with their counts, weights and the advice's answer (issue 12). The page and
    the partner mails of a public-agenda series (concept and definitive agenda) both ask
    here, so what one shows the other may show, and nothing more."""
    seen = SeriesVisibility.of(series)
    out = agenda_moment(meeting, series.rules, tz)
    state = MeetingState(published=True, agenda_out=out is None or utc(now) >= utc(out))
    shown: list[PublicDecision] = []
    for row in rows:
        item = ItemState.of(row.item)
        if not may_show(seen, surface, None, Part.AGENDA, meeting=state, item=item):
            continue
        decision, advice = row.decision, row.advice
        shown.append(
            PublicDecision(
                number=f"WB-{row.item.id}",
                title=untrusted(row.item.title),
                outcome=decision.outcome,
                counts=tuple(
                    (party, c.get("voor", 0), c.get("tegen", 0), c.get("onthouding", 0))
                    for party, c in decision.counts.items()
                ),
                weights=tuple(decision.weights.items()),
                advice_partner=None if advice is None else untrusted(advice.partner, 80),
                advice_due=None if advice is None else advice.due,
                motivation=None
                if advice is None or advice.motivation is None
                else untrusted(advice.motivation, 2000),
            )
        )
    return tuple(shown)


def next_publication(config: Config, meetings: Sequence[Meeting], now: datetime) -> datetime | None:
    """When the public view changes next by time alone (a cache is invalidated then).

    The next publication moment of a meeting of a public series (its feed
    delivery invalidates too; this is the time-based backstop), or a deadline,
    start or end passing (the page lists deadlines still ahead and coming meetings).
    """
    tz = config.timezone
    ahead: list[datetime] = []
    for meeting in meetings:
        entry = config.series.get(meeting.series)
        if entry is None or meeting.cancelled:
            continue
        if not may_show(SeriesVisibility.of(entry.series), Surface.PUBLIC_FEED):
            continue
        rules = entry.series.rules
        ahead += [m.at for m in moments(meeting, rules, tz) if m.name == ANNOUNCE]
        agenda_out = agenda_moment(meeting, rules, tz)  # its titles go public then
        ahead += [] if agenda_out is None else [agenda_out]
        ahead += [deadline(meeting, kind, rules, tz) for kind in rules.deadlines]
        ahead += [meeting.start, meeting.end]
    later = [when for when in ahead if utc(when) > utc(now)]
    return min(later, key=utc, default=None)


def public_series(config: Config, surface: Surface = Surface.PUBLIC_FEED) -> dict[SeriesId, str]:
    """The series whose meetings may be shown on ``surface``: id -> title, in config order."""
    return {
        sid: entry.series.title
        for sid, entry in config.series.items()
        if may_show(SeriesVisibility.of(entry.series), surface)
    }
