"""What a fired job sends, and where: one job (moment × channel) becomes outbox rows.

A first version: plain bilingual messages (Dutch first), one row per
destination, each keyed ``job/<job key>/<destination>`` so a re-run of the same
job can never add a second row. Later issues make the messages richer (the
agenda package with its stukken, the folder, templates).

Where things go (RULES.md):

- every moment of a meeting: the core group's room;
- ``announce`` and ``reminder:meeting`` of a public series: also the announce
  rooms and the residents' mailing address; ``announce`` also the public calendar
  and the public feed (``[http]``: the feed channel records the event as published,
  see :mod:`daemon.publish.public_view`); a public series without an announcement
  moment (the wijkalliantie: "dates public from the moment they are in the plan")
  reaches the feed by an ``announce`` job on the feed alone, due when it is planned;
- the concept agenda, the packages and the deadline reminders: also every partner by mail;
- notices (cancelled, moved, goes ahead): every destination that carried the meeting;
- afspraken: the core group's room, naming the owner (as text, not a ping).

Whether an audience may hear of a series at all is not decided here but by
:func:`daemon.rules.visibility.may_show`, the one rule chat uses too: a
non-public series never reaches the announce rooms, the residents' mail or the
public calendar, not even with a notice to a destination that carried it
before it was made private. Partners' mail is not a public surface: what they
get follows the series' own moments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from daemon.i18n import Translator, bilingual, mark
from daemon.model import Agreement, Item, ItemStatus, Kind, Meeting, Series
from daemon.ports.outbox import (
    CalendarWrite,
    ChannelName,
    ChatPost,
    MailOut,
    NewEffect,
    message_id_for,
)
from daemon.ports.public import FEED_NAME
from daemon.publish.subscriptions import SUBSCRIBERS, with_subscribers
from daemon.rules.catchup import (
    CANCELLED_NOTICE,
    DEADLINE_REMINDER_PREFIX,
    MOVED_NOTICE,
    NOTICES,
    REINSTATED_NOTICE,
)
from daemon.rules.moments import (
    AGREEMENT_OVERDUE,
    AGREEMENT_REMINDER,
    ANNOUNCE,
    CONCEPT_AGENDA,
    FOLDER,
    MEETING_REMINDER,
)
from daemon.rules.visibility import SeriesVisibility, Surface, may_show
from daemon.store.engine import Job

if TYPE_CHECKING:
    from daemon.config.schema import Config

# The note the scheduler puts on an announcement planned later than its moment.
SHORT_NOTICE = "short_notice"

_PUBLIC_MOMENTS = frozenset({ANNOUNCE, MEETING_REMINDER, *NOTICES})
_PACKAGES = frozenset({CONCEPT_AGENDA, *(kind.value for kind in Kind)})
_NO_DOMAIN = "wijkbode.invalid"


@dataclass(frozen=True, slots=True)
class Targets:
    """The destinations the configuration names; an unconfigured system has none."""

    core_room: str | None = None
    announce_rooms: tuple[str, ...] = ()
    partner_addresses: tuple[str, ...] = ()
    residents_address: str | None = None
    calendar: str | None = None
    feed: str | None = None  # the public feed's name, when ``[http]`` serves it
    mail_domain: str = _NO_DOMAIN  # for Message-IDs and calendar UIDs
    core_address: str | None = None  # the core group's own mail ([mail] core_address): the folder
    subscribers: bool = False  # residents subscribe by mail on the page ([http] subscriptions)

    @classmethod
    def from_config(cls, config: Config) -> Targets:
        matrix, mail, caldav = config.matrix, config.mail, config.caldav
        partners = tuple(dict.fromkeys(a for p in config.partners for a in p.addresses))
        return cls(
            core_room=None if matrix is None else matrix.core_room,
            announce_rooms=() if matrix is None else matrix.announce_rooms,
            partner_addresses=() if mail is None else partners,
            residents_address=None if mail is None else mail.residents_address,
            calendar=None if caldav is None else caldav.calendar,
            feed=None if config.http is None else FEED_NAME,
            mail_domain=_NO_DOMAIN if mail is None else mail.address.rpartition("@")[2],
            core_address=None if mail is None else mail.core_address,
            subscribers=mail is not None and config.http is not None and config.http.subscriptions,
        )


@dataclass(frozen=True, slots=True)
class FireContext:
    """What the scheduler read from the store for one firing.

    ``carried`` are the destinations on the job's channel that earlier effects
    of this meeting went to (a notice goes to exactly those); ``sequence`` the
    number of calendar writes of this meeting so far; ``agenda`` its items.
    """

    tz: ZoneInfo
    targets: Targets
    carried: tuple[str, ...] = ()
    sequence: int = 0
    agenda: tuple[Item, ...] = field(default=())
    # The confirmed subscribers' ids (read in the firing's transaction): each gets the
    # residents' mail as its own row (daemon/publish/subscriptions.py).
    subscribers: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    text: str


def effect_key(job_key: str, destination: str) -> str:
    """The outbox key of one job's effect for one destination."""
    return f"job/{job_key}/{destination}"


def is_deadline_reminder(moment: str) -> bool:
    return moment.startswith(DEADLINE_REMINDER_PREFIX) and moment != MEETING_REMINDER


def meeting_destinations(
    moment: str, series: Series, targets: Targets
) -> dict[ChannelName, tuple[str, ...]]:
    """Where a regular moment of a meeting of ``series`` goes, per channel that has any."""
    seen = SeriesVisibility.of(series)
    rooms = [targets.core_room] if targets.core_room else []
    mail: list[str] = []
    calendars: list[str] = []
    feeds: list[str] = []
    if moment in _PUBLIC_MOMENTS:
        if may_show(seen, Surface.ANNOUNCE_ROOM):
            rooms += targets.announce_rooms
        if targets.residents_address and may_show(seen, Surface.RESIDENTS_MAIL):
            mail.append(targets.residents_address)
        if targets.subscribers and may_show(seen, Surface.RESIDENTS_MAIL):
            mail.append(SUBSCRIBERS)
        if moment == ANNOUNCE and targets.calendar and may_show(seen, Surface.PUBLIC_CALENDAR):
            calendars.append(targets.calendar)
        if moment == ANNOUNCE and targets.feed and may_show(seen, Surface.PUBLIC_FEED):
            feeds.append(targets.feed)
    if moment in _PACKAGES - {Kind.AGENDAPUNT.value} or is_deadline_reminder(moment):
        mail += targets.partner_addresses
    if moment == FOLDER and targets.core_address:  # RULES.md: the folder, to the core group
        mail.append(targets.core_address)
    found = {
        ChannelName.MATRIX: tuple(dict.fromkeys(rooms)),
        ChannelName.MAIL: tuple(dict.fromkeys(mail)),
        ChannelName.CALDAV: tuple(calendars),
        ChannelName.FEED: tuple(feeds),
    }
    return {channel: where for channel, where in found.items() if where}


def surface_of(channel: ChannelName, destination: str, targets: Targets) -> Surface | None:
    """The visibility surface a destination is; ``None`` for a partner's address (not a
    public surface: the series' moments decide what partners get). A destination the
    configuration no longer names counts as public (unknown means no)."""
    if channel is ChannelName.MATRIX:
        if destination == targets.core_room:
            return Surface.CORE_ROOM
        announce = destination in targets.announce_rooms
        return Surface.ANNOUNCE_ROOM if announce else Surface.OTHER_CHAT
    if channel is ChannelName.CALDAV:
        return Surface.PUBLIC_CALENDAR
    if channel is ChannelName.FEED:
        return Surface.PUBLIC_FEED
    if destination == targets.core_address:  # the core group's own mail: as its room
        return Surface.CORE_ROOM
    if destination in targets.partner_addresses and destination != targets.residents_address:
        return None
    return Surface.RESIDENTS_MAIL


def may_reach(series: Series, channel: ChannelName, destination: str, targets: Targets) -> bool:
    """Whether anything of ``series`` may go to ``destination`` (the visibility rule)."""
    surface = surface_of(channel, destination, targets)
    return surface is None or may_show(SeriesVisibility.of(series), surface)


def agreement_destinations(targets: Targets) -> dict[ChannelName, tuple[str, ...]]:
    return {ChannelName.MATRIX: (targets.core_room,)} if targets.core_room else {}


def meeting_effects(
    job: Job, meeting: Meeting, series: Series, context: FireContext
) -> list[NewEffect]:
    """The outbox rows of a fired meeting job: one per destination on the job's channel."""
    if job.moment in NOTICES:
        destinations = tuple(
            d for d in context.carried if may_reach(series, job.channel, d, context.targets)
        )
    else:
        wanted = meeting_destinations(job.moment, series, context.targets)
        destinations = wanted.get(job.channel, ())
    destinations = with_subscribers(destinations, context.subscribers, job.moment in NOTICES)
    message = meeting_message(job, meeting, context.agenda, context.tz)
    return [_effect(job, d, message, context, meeting) for d in destinations]


def agreement_effects(job: Job, agreement: Agreement, context: FireContext) -> list[NewEffect]:
    """The outbox rows of a fired afspraak job: a post in the core group's room."""
    destinations = agreement_destinations(context.targets).get(job.channel, ())
    message = agreement_message(job.moment, agreement, context.tz)
    return [_effect(job, d, message, context, None) for d in destinations]


def _effect(
    job: Job, destination: str, message: Message, context: FireContext, meeting: Meeting | None
) -> NewEffect:
    key = effect_key(job.key, destination)
    channel = job.channel
    if channel is ChannelName.MATRIX:
        payload: ChatPost | MailOut | CalendarWrite = ChatPost(
            body=message.text, html=_html(message.text)
        )
    elif channel is ChannelName.MAIL:
        payload = MailOut(
            to=(destination,),
            subject=message.subject,
            text=message.text,
            message_id=message_id_for(key, context.targets.mail_domain),
            auto_submitted="auto-generated",
        )
    elif channel in (ChannelName.CALDAV, ChannelName.FEED) and meeting is not None:
        # The feed carries the same event as the CalDAV calendar (same UID and text).
        payload = _calendar_write(job, meeting, message.text, context)
    else:
        raise ValueError(f"job {job.key} cannot send to channel {channel}")
    return NewEffect(channel, destination, key, payload)


def _calendar_write(job: Job, meeting: Meeting, text: str, context: FireContext) -> CalendarWrite:
    return CalendarWrite(
        uid=f"{meeting.id}@{context.targets.mail_domain}",
        action="cancel" if job.moment == CANCELLED_NOTICE else "upsert",
        summary=meeting.title,
        start=meeting.start,
        end=meeting.end,
        location=meeting.location,
        description=text,
        sequence=context.sequence,
    )


def _html(text: str) -> str:
    """Plain text as HTML paragraphs, escaped; a line break stays a line break."""
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    return "".join(f"<p>{escape(p).replace(chr(10), '<br/>')}</p>" for p in paragraphs)


# --- wording (a first version; templates replace it later) --------------------

_HEADLINES = {
    ANNOUNCE: mark("Announcement"),
    MEETING_REMINDER: mark("Reminder"),
    FOLDER: mark("Paper folder"),
    CONCEPT_AGENDA: mark("Concept agenda"),
    Kind.AGENDAPUNT.value: mark("Agenda closed"),
    Kind.STUK.value: mark("Definitive agenda"),
    Kind.TER_KENNISGEVING.value: mark("Addendum"),
    Kind.ACTUALITEIT.value: mark("Addendum"),
    CANCELLED_NOTICE: mark("Cancelled"),
    MOVED_NOTICE: mark("Moved"),
    REINSTATED_NOTICE: mark("Goes ahead"),
    AGREEMENT_REMINDER: mark("Agreement reminder"),
    AGREEMENT_OVERDUE: mark("Agreement overdue"),
}
_DEADLINE_REMINDER_HEADLINE = mark("Deadline reminder")

_LEADS = {
    ANNOUNCE: mark("{title} on {when}, at {location}."),
    MEETING_REMINDER: mark("Reminder: {title} is on {when}, at {location}."),
    FOLDER: mark("The folder for {title} on {when} can now be printed and delivered."),
    CONCEPT_AGENDA: mark("Concept agenda of {title} on {when}:"),
    Kind.AGENDAPUNT.value: mark("The agenda of {title} on {when} is closed for new points."),
    Kind.STUK.value: mark("Definitive agenda of {title} on {when}:"),
    Kind.TER_KENNISGEVING.value: mark("Addendum to {title} on {when}, for information:"),
    Kind.ACTUALITEIT.value: mark("Addendum to {title} on {when}, current affairs:"),
    CANCELLED_NOTICE: mark("Cancelled: {title} on {when} does not take place."),
    MOVED_NOTICE: mark("Moved: {title} now takes place on {when}, at {location}."),
    REINSTATED_NOTICE: mark("Goes ahead after all: {title} on {when}, at {location}."),
}
_SHORT_NOTICE_LEAD = mark("At short notice: {title} on {when}, at {location}.")
_DEADLINE_REMINDER_LEAD = mark(
    "Reminder: for {title} on {when}, the deadline for “{kind}” is {deadline}."
)
_KIND_NAMES = {
    Kind.AGENDAPUNT: mark("agenda point"),
    Kind.STUK: mark("document"),
    Kind.TER_KENNISGEVING: mark("for information"),
    Kind.ACTUALITEIT: mark("current affair"),
}
# Which items each package lists (None: the whole agenda).
_PACKAGE_KINDS: dict[str, Kind | None] = {
    CONCEPT_AGENDA: None,
    Kind.STUK.value: None,
    Kind.TER_KENNISGEVING.value: Kind.TER_KENNISGEVING,
    Kind.ACTUALITEIT.value: Kind.ACTUALITEIT,
}
_ON_AGENDA = frozenset({ItemStatus.FILED, ItemStatus.TER_BESPREKING})


def meeting_message(job: Job, meeting: Meeting, agenda: tuple[Item, ...], tz: ZoneInfo) -> Message:
    """The bilingual subject and text of a meeting moment."""
    headline = (
        _DEADLINE_REMINDER_HEADLINE if is_deadline_reminder(job.moment) else _HEADLINES[job.moment]
    )

    def render(_: Translator) -> str:
        fields = {
            "title": meeting.title,
            "when": _.when(meeting.start),
            "location": meeting.location,
        }
        lines = [_lead(_, job, fields)]
        if job.moment in _PACKAGE_KINDS:
            lines += _agenda_lines(_, agenda, _PACKAGE_KINDS[job.moment])
        return "\n".join(lines)

    return Message(_subject(headline, meeting.title, meeting.start, tz), bilingual(render, tz))


def _lead(_: Translator, job: Job, fields: dict[str, str]) -> str:
    if is_deadline_reminder(job.moment):
        kind = Kind(job.moment.removeprefix(DEADLINE_REMINDER_PREFIX))
        return _(
            _DEADLINE_REMINDER_LEAD,
            **fields,
            kind=_(_KIND_NAMES[kind]),
            deadline=_.when(job.target_at),
        )
    if job.moment == ANNOUNCE and job.note == SHORT_NOTICE:
        return _(_SHORT_NOTICE_LEAD, **fields)
    return _(_LEADS[job.moment], **fields)


def _agenda_lines(_: Translator, agenda: tuple[Item, ...], kind: Kind | None) -> list[str]:
    listed = [i for i in agenda if i.status in _ON_AGENDA and kind in (None, i.kind)]
    if not listed:
        return [_("No items yet.")]
    return [
        f"{n}. {item.title} ({_(_KIND_NAMES[item.kind])}{', ' + _('late') if item.late else ''})"
        for n, item in enumerate(listed, start=1)
    ]


def agreement_message(moment: str, agreement: Agreement, tz: ZoneInfo) -> Message:
    """The bilingual text of an afspraak reminder or overdue report."""

    def render(_: Translator) -> str:
        fields = {"owner": agreement.owner, "what": agreement.what, "due": _.day(agreement.due)}
        if moment == AGREEMENT_OVERDUE:
            return _("Overdue: the agreement “{what}” of {owner} was due on {due}.", **fields)
        return _("Reminder for {owner}: the agreement “{what}” is due on {due}.", **fields)

    return Message(_subject(_HEADLINES[moment], agreement.what, None, tz), bilingual(render, tz))


def _subject(headline: str, title: str, when: datetime | None, tz: ZoneInfo) -> str:
    """'Aankondiging: Bewonersbijeenkomst, dinsdag 6 april 2027, 19:30 / Announcement'."""
    dutch, english = Translator("nl", tz), Translator("en", tz)
    on = f", {dutch.when(when)}" if when is not None else ""
    return f"{dutch(headline)}: {title}{on} / {english(headline)}"
