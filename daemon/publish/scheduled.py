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
from datetime import datetime, timedelta
from html import escape
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from daemon.model import Agreement, AgreementStatus, Item, ItemStatus, Kind, Meeting, Series
from daemon.ports.outbox import (
    CalendarWrite,
    ChannelName,
    ChatPost,
    MailOut,
    NewEffect,
    message_id_for,
)
from daemon.ports.public import FEED_NAME
from daemon.publish.decisions import DecisionRow
from daemon.publish.messages import (
    AgreementFacts,
    AgreementLine,
    Channel,
    DecisionLine,
    ItemLine,
    MeetingFacts,
    Sender,
    render_agreement,
    render_meeting,
)
from daemon.publish.public_view import public_decisions
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
    deadline,
)
from daemon.rules.names import Names, has_phone_number
from daemon.rules.visibility import (
    ItemState,
    MeetingState,
    Part,
    SeriesVisibility,
    Surface,
    may_show,
)
from daemon.store.decisions import StoredAdvice, StoredPoll
from daemon.store.engine import Job

if TYPE_CHECKING:
    from daemon.config.schema import Config

# The note the scheduler puts on an announcement planned later than its moment.
SHORT_NOTICE = "short_notice"

_PUBLIC_MOMENTS = frozenset({ANNOUNCE, MEETING_REMINDER, *NOTICES})
_PACKAGES = frozenset({CONCEPT_AGENDA, *(kind.value for kind in Kind)})
# The moments whose message carries the besluitenlijst of the series' previous meeting
# (for a series whose agenda is public: what the page shows, issue 12): the concept
# agenda (T-21d) and the definitive agenda (T-14d), the partners' two mails.
DECIDED_MOMENTS: Final = frozenset({CONCEPT_AGENDA, Kind.STUK.value})
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
    reply_address: str | None = None  # our own mail address: where people answer and send
    page_url: str | None = None  # the public page, when ``[http] public_url`` is set
    subscribers: bool = False  # residents subscribe by mail on the page ([http] subscriptions)
    # The page's languages beyond nl and en ([http] languages), added to the residents'
    # messages, and the directory of their catalogs ([http] locale_dir).
    languages: tuple[str, ...] = ()
    catalogs: str | None = None

    @property
    def sender(self) -> Sender:
        return Sender(self.reply_address, self.page_url, self.languages, self.catalogs)

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
            reply_address=None if mail is None else mail.address,
            page_url=_page_url(config),
            subscribers=mail is not None and config.http is not None and config.http.subscriptions,
            languages=_further_languages(config),
            catalogs=_catalogs(config),
        )


def _further_languages(config: Config) -> tuple[str, ...]:
    """The page's languages beyond nl and en: the announcements add them too."""
    if config.http is None:
        return ()
    return tuple(code for code in config.http.languages if code not in ("nl", "en"))


def _catalogs(config: Config) -> str | None:
    http = config.http
    return None if http is None or http.locale_dir is None else str(http.locale_dir)


def _page_url(config: Config) -> str | None:
    http = config.http
    if http is None or not http.public_url:
        return None
    return http.public_url.rstrip("/") + "/"


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
    # The core room's display names: an afspraak's owner is named by one, never by an
    # id that may be a phone number (daemon/rules/names.py).
    names: Names = field(default_factory=Names)
    # Every afspraak: the core group's overview before a kerngroep meeting lists those due
    # and those closed as "kan niet" with their motivation.
    agreements: tuple[Agreement, ...] = ()
    # The decisions waiting, for the same overview: open polls, advice owed an answer.
    polls: tuple[StoredPoll, ...] = ()
    advice: tuple[StoredAdvice, ...] = ()
    # A moved meeting's notice: when the channel was last told it takes place.
    previous_start: datetime | None = None
    # DECIDED_MOMENTS: the series' previous meeting and its decisions (all of them: what
    # may be shown is asked of the visibility rule when the message is composed).
    previous: Meeting | None = None
    decided: tuple[DecisionRow, ...] = ()


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    text: str
    html: str = ""


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


def owner_address(owner: str) -> str | None:
    """An afspraak owner known by mail address (``jan@example.org``), else ``None``
    (a Matrix id ``@jan:example.org`` or a plain name)."""
    name, at, domain = owner.strip().partition("@")
    if not (name and at and "." in domain) or any(c.isspace() for c in owner.strip()):
        return None
    return owner.strip().lower()


def agreement_destinations(
    targets: Targets, moment: str = AGREEMENT_OVERDUE, owner: str = ""
) -> dict[ChannelName, tuple[str, ...]]:
    """A reminder goes to its owner: a member (a Matrix id) in a direct chat, an owner
    known by address by mail (when mail is configured); any other owner is named in
    the core group's room. The overdue report goes to the room."""
    address = owner_address(owner)
    if moment == AGREEMENT_REMINDER and address and targets.reply_address:
        return {ChannelName.MAIL: (address,)}
    if moment == AGREEMENT_REMINDER and targets.core_room and owner_member(owner):
        return {ChannelName.MATRIX: (owner,)}
    return {ChannelName.MATRIX: (targets.core_room,)} if targets.core_room else {}


def owner_member(owner: str) -> bool:
    """An owner Wijkbode can write to directly: a Matrix id, not a bridged phone number
    (a WhatsApp puppet's direct chat would start a chat on their phone)."""
    return owner.startswith("@") and ":" in owner and not has_phone_number(owner)


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
    channel = _CHANNEL_KIND[job.channel]
    # One wording per kind of surface: a public one hears only what the visibility rule
    # lets out (e.g. no confidential item in the announce room).
    by_surface: dict[Surface | None, Message] = {}
    effects = []
    for d in destinations:
        surface = surface_of(job.channel, d, context.targets)
        if surface not in by_surface:
            by_surface[surface] = meeting_message(job, meeting, series, context, channel, surface)
        effects.append(_effect(job, d, by_surface[surface], context, meeting))
    return effects


def agreement_effects(job: Job, agreement: Agreement, context: FireContext) -> list[NewEffect]:
    """The outbox rows of a fired afspraak job: mail to its owner, or the core group's room."""
    wanted = agreement_destinations(context.targets, job.moment, agreement.owner)
    destinations = wanted.get(job.channel, ())
    message = agreement_message(
        job.moment,
        agreement,
        context.tz,
        context.names,
        channel=_CHANNEL_KIND[job.channel],
        to_owner=destinations != (context.targets.core_room,),
        sender=context.targets.sender,
    )
    return [_effect(job, d, message, context, None) for d in destinations]


_CHANNEL_KIND: Final[dict[ChannelName, Channel]] = {
    ChannelName.MATRIX: "matrix",
    ChannelName.MAIL: "mail",
    ChannelName.CALDAV: "calendar",
    ChannelName.FEED: "calendar",
}


def _effect(
    job: Job, destination: str, message: Message, context: FireContext, meeting: Meeting | None
) -> NewEffect:
    key = effect_key(job.key, destination)
    channel = job.channel
    if channel is ChannelName.MATRIX:
        payload: ChatPost | MailOut | CalendarWrite = ChatPost(body=message.text, html=message.html)
    elif channel is ChannelName.MAIL:
        payload = MailOut(
            to=(destination,),
            subject=message.subject,
            text=message.text,
            html=_mail_html(message),
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


def _mail_html(message: Message) -> str | None:
    """The formatted part of a mail: the message's HTML as a small document, Dutch first."""
    if not message.html:
        return None
    return (
        '<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8"/>'
        f"<title>{escape(message.subject)}</title></head><body>{message.html}</body></html>"
    )


# --- wording: the facts each template gets (daemon/publish/messages) --------------

_ON_AGENDA = frozenset({ItemStatus.FILED, ItemStatus.TER_BESPREKING})
_ADDENDA = frozenset({Kind.TER_KENNISGEVING.value, Kind.ACTUALITEIT.value})
_NOTICE_TEMPLATES = {
    CANCELLED_NOTICE: "cancelled",
    MOVED_NOTICE: "moved",
    REINSTATED_NOTICE: "reinstated",
}
_TEMPLATES = {
    ANNOUNCE: "announce",
    FOLDER: "folder",
    CONCEPT_AGENDA: "concept_agenda",
    Kind.AGENDAPUNT.value: "agenda_closed",
    Kind.STUK.value: "definitive_agenda",
    Kind.TER_KENNISGEVING.value: "addendum_ter_kennisgeving",
    Kind.ACTUALITEIT.value: "addendum_actualiteit",
    **_NOTICE_TEMPLATES,
}
# Which moments list the agenda, and with which items.
_LISTS_AGENDA = frozenset({ANNOUNCE, MEETING_REMINDER, CONCEPT_AGENDA, Kind.STUK.value, *_ADDENDA})
# A "kan niet" closed this long before a core-group meeting's overview is shown in it.
CANNOT_SHOWN_FOR = timedelta(days=35)
EMPTY_ADDENDUM = "leeg addendum, niets te versturen (empty addendum, nothing to send)"


def template_for(moment: str, series: Series) -> str:
    """The message template of a meeting moment (daemon/publish/messages/templates)."""
    if is_deadline_reminder(moment):
        return "deadline_reminder"
    if moment == MEETING_REMINDER:
        # A private series' reminder is the core group's own overview (RULES.md, kerngroep).
        return "reminder" if series.public else "kerngroep"
    return _TEMPLATES[moment]


def addendum_items(
    moment: str, meeting: Meeting, series: Series, agenda: tuple[Item, ...], tz: ZoneInfo
) -> tuple[Item, ...]:
    """What an addendum sends: the items of its kind that came after the package went out
    (the stuk deadline); everything before was on the definitive agenda."""
    kind = Kind(moment)
    package = series.rules.deadlines.get(Kind.STUK)
    after = None if package is None else deadline(meeting, Kind.STUK, series.rules, tz)
    return tuple(
        i
        for i in agenda
        if i.status in _ON_AGENDA and i.kind is kind and (after is None or i.received_at > after)
    )


def skip_reason(
    job: Job, meeting: Meeting, series: Series, agenda: tuple[Item, ...], tz: ZoneInfo
) -> str | None:
    """Why a due meeting job sends nothing although its meeting is ahead: an addendum with
    no items (RULES.md: an empty one is skipped and recorded); ``None``: it sends."""
    if job.moment in _ADDENDA and not addendum_items(job.moment, meeting, series, agenda, tz):
        return EMPTY_ADDENDUM
    return None


def meeting_facts(
    job: Job,
    meeting: Meeting,
    series: Series,
    context: FireContext,
    surface: Surface | None,
) -> MeetingFacts:
    """What the message of ``job`` says to a destination that is ``surface``."""
    tz, rules = context.tz, series.rules
    moment = job.moment
    if moment in _ADDENDA:
        listed = addendum_items(moment, meeting, series, context.agenda, tz)
    elif moment in _LISTS_AGENDA or template_for(moment, series) == "kerngroep":
        listed = tuple(i for i in context.agenda if i.status in _ON_AGENDA)
    else:
        listed = ()
    if surface not in (None, Surface.CORE_ROOM):
        # Only what the one visibility rule lets out reaches a public surface.
        seen = SeriesVisibility.of(series)
        listed = tuple(
            i
            for i in listed
            if may_show(
                seen, surface, part=Part.AGENDA, meeting=MeetingState(), item=ItemState.of(i)
            )
        )
    open_deadlines = tuple(
        (kind, until)
        for kind in rules.deadlines
        if (until := deadline(meeting, kind, rules, tz)) > job.due_at
    )
    stuk = rules.deadlines.get(Kind.STUK)
    kerngroep = template_for(moment, series) == "kerngroep"
    previous = context.previous if moment in DECIDED_MOMENTS else None
    # Asked as the public page asks: only decisions on items whose titles the rule lets
    # out (a public-agenda series, never a confidential item), on every surface alike.
    decided = (
        ()
        if previous is None
        else public_decisions(
            previous, context.decided, series, tz, job.due_at, Surface.PUBLIC_PAGE
        )
    )
    return MeetingFacts(
        template=template_for(moment, series),
        title=meeting.title,
        start=meeting.start,
        end=meeting.end,
        location=meeting.location,
        short_notice=moment == ANNOUNCE and job.note == SHORT_NOTICE,
        items=tuple(_item_line(i) for i in listed),
        deadline=_reminded_deadline(job),
        open_deadlines=open_deadlines,
        stuk_deadline=None if stuk is None else deadline(meeting, Kind.STUK, rules, tz),
        agreements=_due_agreements(meeting, context, tz) if kerngroep else (),
        cannot=_cannot_agreements(job, context) if kerngroep else (),
        decisions=_waiting_decisions(context) if kerngroep else (),
        previous=None if previous is None or not decided else (previous.title, previous.start),
        decided=decided,
        previous_start=(
            context.previous_start
            if moment == MOVED_NOTICE and context.previous_start != meeting.start
            else None
        ),
    )


def _reminded_deadline(job: Job) -> tuple[Kind, datetime] | None:
    if not is_deadline_reminder(job.moment):
        return None
    return Kind(job.moment.removeprefix(DEADLINE_REMINDER_PREFIX)), job.target_at


def _item_line(item: Item) -> ItemLine:
    return ItemLine(
        number=f"WB-{item.id}",
        kind=item.kind,
        title=item.title,
        received_at=item.received_at,
        late=item.late,
        not_ready=not item.decision_ready and item.kind is not Kind.TER_KENNISGEVING,
        for_discussion=item.status is ItemStatus.TER_BESPREKING,
    )


def agreement_line(agreement: Agreement, names: Names | None = None) -> AgreementLine:
    """An afspraak as a message lists it; its owner by the name the room knows (never an
    id that may be a phone number)."""
    return AgreementLine(
        number=f"A-{agreement.id}",
        what=agreement.what,
        owner=(names or Names()).of(agreement.owner),
        due=agreement.due,
        motivation=agreement.motivation,
    )


def _due_agreements(
    meeting: Meeting, context: FireContext, tz: ZoneInfo
) -> tuple[AgreementLine, ...]:
    """The open afspraken due by the day of the meeting, oldest due first."""
    day = meeting.start.astimezone(tz).date()
    due = [a for a in context.agreements if a.status is AgreementStatus.OPEN and a.due <= day]
    ordered = sorted(due, key=lambda a: (a.due, a.id))
    return tuple(agreement_line(a, context.names) for a in ordered)


def _cannot_agreements(job: Job, context: FireContext) -> tuple[AgreementLine, ...]:
    """Afspraken closed as "kan niet" lately: the core group sees their motivation."""
    since = job.due_at - CANNOT_SHOWN_FOR
    closed = [
        a
        for a in context.agreements
        if a.status is AgreementStatus.CANNOT and a.closed_at is not None and a.closed_at >= since
    ]
    ordered = sorted(closed, key=lambda a: (a.closed_at or since, a.id))
    return tuple(agreement_line(a, context.names) for a in ordered)


def _waiting_decisions(context: FireContext) -> tuple[DecisionLine, ...]:
    """Open polls by closing time, then the partners' answers owed, by due date."""
    polls = sorted((p for p in context.polls if p.open), key=lambda p: (p.closes_at, p.id))
    owed = [a for a in context.advice if a.answered_at is None]
    return (
        *(DecisionLine(p.question, p.closes_at) for p in polls),
        *(DecisionLine("", a.due, a.partner) for a in sorted(owed, key=lambda a: (a.due, a.id))),
    )


def meeting_message(
    job: Job,
    meeting: Meeting,
    series: Series,
    context: FireContext,
    channel: Channel,
    surface: Surface | None = Surface.CORE_ROOM,
) -> Message:
    """The bilingual subject, text and HTML of a meeting moment on ``channel``."""
    facts = meeting_facts(job, meeting, series, context, surface)
    rendered = render_meeting(facts, channel, context.targets.sender, context.tz)
    return Message(rendered.subject, rendered.text, rendered.html)


def agreement_message(
    moment: str,
    agreement: Agreement,
    tz: ZoneInfo,
    names: Names | None = None,
    *,
    channel: Channel = "matrix",
    to_owner: bool = False,
    sender: Sender | None = None,
) -> Message:
    """The bilingual reminder or overdue report of an afspraak."""
    facts = AgreementFacts(moment, agreement_line(agreement, names), to_owner)
    rendered = render_agreement(facts, channel, sender or Sender(), tz)
    return Message(rendered.subject, rendered.text, rendered.html)
