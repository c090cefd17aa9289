"""Every scheduled moment's message, rendered from Jinja2 templates. Pure.

One template pair per kind of message in ``templates/``: ``<name>.txt`` (plain
text: the Matrix ``body``, the mail's text part, the calendar description) and
``<name>.html`` (the Matrix ``formatted_body`` and the mail's HTML part, with
autoescape on, so every title a submitter chose is text, never markup). Each
template is rendered once per language with that language's ``Translator`` as
``_`` (dates in words by Babel), Dutch first, English below.

The facts come in language-free (:class:`MeetingFacts`, :class:`AgreementFacts`):
times as aware datetimes, kinds as :class:`~daemon.model.Kind`; the wording is
the templates' and the catalogs'. Channel limits are kept here: a list longer
than ``max_listed`` ends in "… en nog N", and a Matrix event that would not fit
in one event is rendered again with shorter lists until it does.

Jinja2 is imported on the first render, not when the daemon starts (idle memory).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import cache
from html import escape
from typing import TYPE_CHECKING, Any, Final, Literal
from zoneinfo import ZoneInfo

from daemon.i18n import Translator, mark, native_name, text_direction
from daemon.model import Kind
from daemon.ports.chat_limit import MATRIX_CONTENT_LIMIT, matrix_content_size
from daemon.ports.public import PublicDecision
from daemon.publish.decisions import public_decision_lines
from daemon.safe_text import untrusted

if TYPE_CHECKING:
    import jinja2

Channel = Literal["matrix", "mail", "calendar"]
CHANNELS: Final[tuple[Channel, ...]] = ("matrix", "mail", "calendar")

# A subject people can read on a phone; RFC 5322 allows more, mail clients show less.
SUBJECT_LIMIT: Final = 160
MAX_LISTED: Final = 40
_MIN_LISTED: Final = 3
ENGLISH_RULE: Final = "\n\n— English —\n"
_BLANK_LINES: Final = re.compile(r"\n\s*\n\s*\n+")

KIND_NAMES: Final = {
    Kind.AGENDAPUNT: mark("agenda point"),
    Kind.STUK: mark("document"),
    Kind.TER_KENNISGEVING: mark("for information"),
    Kind.ACTUALITEIT: mark("current affair"),
}
# What a deadline lets people still send, in words (deadline reminders, concept agenda).
KIND_OFFERS: Final = {
    Kind.AGENDAPUNT: mark("new agenda points"),
    Kind.STUK: mark("stukken for discussion or decision"),
    Kind.TER_KENNISGEVING: mark("stukken for information (ter kennisgeving)"),
    Kind.ACTUALITEIT: mark("current affairs (actualiteiten)"),
}


@dataclass(frozen=True, slots=True)
class ItemLine:
    """One agenda item as a message lists it."""

    number: str  # "WB-12"
    kind: Kind
    title: str
    received_at: datetime
    late: bool = False
    not_ready: bool = False  # "niet besluitrijp"
    for_discussion: bool = False  # kept on the agenda "ter bespreking, geen besluit"


@dataclass(frozen=True, slots=True)
class DocumentLine:
    """One file of the stukken package, as the definitive agenda lists it.

    The hook for the package (attachments and download links): whoever builds the
    package fills ``MeetingFacts.documents``; ``url`` is a download link, ``None``
    when the file is attached to the mail or posted in the room.
    """

    item: str  # "WB-12"
    name: str
    size: int
    url: str | None = None


@dataclass(frozen=True, slots=True)
class AgreementLine:
    number: str  # "AF-3"
    what: str
    owner: str
    due: date
    motivation: str | None = None


@dataclass(frozen=True, slots=True)
class DecisionLine:
    """A decision waiting: an open poll (its question, until it closes), or a partner's
    motivated answer to a non-binding advice (``partner``, due on ``until``'s day)."""

    question: str
    until: datetime | date  # a poll's close; an advice's due day
    partner: str | None = None


@dataclass(frozen=True, slots=True)
class Sender:
    """Who speaks and where to answer: the collective's mail address, the page."""

    reply_address: str | None = None
    page_url: str | None = None
    # Languages the announcements add below Dutch and English ([http] languages beyond nl
    # and en), read from the catalogs in ``catalogs`` ([http] locale_dir).
    languages: tuple[str, ...] = ()
    catalogs: str | None = None


@dataclass(frozen=True, slots=True)
class MeetingFacts:
    """Everything a meeting moment's message says, language-free.

    ``template`` names the message (see :func:`template_for`); ``deadline`` is the
    one a deadline reminder is about; ``open_deadlines`` the deadlines still ahead
    (concept agenda); ``stuk_deadline`` explains why a stuk is niet besluitrijp.
    """

    template: str
    title: str
    start: datetime
    end: datetime
    location: str
    short_notice: bool = False
    items: tuple[ItemLine, ...] = ()
    deadline: tuple[Kind, datetime] | None = None
    open_deadlines: tuple[tuple[Kind, datetime], ...] = ()
    stuk_deadline: datetime | None = None
    documents: tuple[DocumentLine, ...] = ()
    agreements: tuple[AgreementLine, ...] = ()  # kerngroep: the afspraken due
    cannot: tuple[AgreementLine, ...] = ()  # kerngroep: closed as "kan niet", with motivation
    decisions: tuple[DecisionLine, ...] = ()  # kerngroep: the decisions waiting
    previous_start: datetime | None = None  # a moved meeting: when it was planned before
    # Concept and definitive agenda of a public-agenda series: the besluitenlijst of the
    # series' previous meeting (its title and start), as the public page shows it.
    previous: tuple[str, datetime] | None = None
    decided: tuple[PublicDecision, ...] = ()


@dataclass(frozen=True, slots=True)
class AgreementFacts:
    template: str  # "agreement_reminder" or "agreement_overdue"
    agreement: AgreementLine
    to_owner: bool  # the owner reads it themself (mail, DM), not the core room


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str


# The residents' messages: these add the page's further languages (``Sender.languages``).
ANNOUNCEMENTS: Final = frozenset({"announce", "reminder", "cancelled", "moved", "reinstated"})

# Subject headlines by template name.
HEADLINES: Final = {
    "announce": mark("Announcement"),
    "reminder": mark("Reminder"),
    "kerngroep": mark("Core group overview"),
    "folder": mark("Paper folder"),
    "concept_agenda": mark("Concept agenda"),
    "agenda_closed": mark("Agenda closed"),
    "definitive_agenda": mark("Definitive agenda"),
    "addendum_ter_kennisgeving": mark("Addendum"),
    "addendum_actualiteit": mark("Addendum"),
    "deadline_reminder": mark("Deadline reminder"),
    "cancelled": mark("Cancelled"),
    "moved": mark("Moved"),
    "reinstated": mark("Goes ahead"),
    "agreement_reminder": mark("Agreement reminder"),
    "agreement_overdue": mark("Agreement overdue"),
}


def render_meeting(
    facts: MeetingFacts,
    channel: Channel,
    sender: Sender,
    tz: ZoneInfo,
    *,
    max_listed: int = MAX_LISTED,
) -> Rendered:
    """The bilingual message of one meeting moment on one channel, within its limits."""
    safe = _safe_meeting(facts)
    subject = subject_line(HEADLINES[facts.template], safe.title, facts.start, tz)

    extra = sender.languages if facts.template in ANNOUNCEMENTS else ()

    def render(listed: int) -> Rendered:
        values = {"m": safe, "listed": listed, "sender": sender, "channel": channel}
        return _bilingual(facts.template, subject, tz, values, extra, sender.catalogs)

    return _within_limits(render, channel, max_listed)


def render_agreement(
    facts: AgreementFacts, channel: Channel, sender: Sender, tz: ZoneInfo
) -> Rendered:
    """The bilingual reminder or overdue report of one afspraak."""
    line = facts.agreement
    safe = replace(
        facts,
        agreement=replace(
            line,
            what=untrusted(line.what),
            owner=untrusted(line.owner, 120),
            motivation=None if line.motivation is None else untrusted(line.motivation, 1000),
        ),
    )
    subject = subject_line(HEADLINES[facts.template], safe.agreement.what, None, tz)
    values = {"a": safe, "sender": sender, "channel": channel, "listed": MAX_LISTED}
    return _bilingual(facts.template, subject, tz, values)


def subject_line(headline: str, title: str, when: datetime | None, tz: ZoneInfo) -> str:
    """'Aankondiging: Bewonersbijeenkomst, dinsdag 6 april 2027, 19:30 / Announcement',
    the title shortened when the whole would not fit ``SUBJECT_LIMIT``."""
    dutch, english = Translator("nl", tz), Translator("en", tz)
    on = f", {dutch.when(when)}" if when is not None else ""
    frame = f"{dutch(headline)}: {{}}{on} / {english(headline)}"
    room = SUBJECT_LIMIT - len(frame) + 2
    short = title if len(title) <= room else title[: max(room - 1, 8)].rstrip() + "…"
    return frame.format(short)


def _within_limits(
    render: Callable[[int], Rendered], channel: Channel, max_listed: int
) -> Rendered:
    listed = max_listed
    rendered = render(listed)
    while channel == "matrix" and matrix_content_size(rendered.text, rendered.html) > (
        MATRIX_CONTENT_LIMIT
    ):
        if listed <= _MIN_LISTED:
            # Titles are capped, so only an absurd list gets here: drop the formatting.
            return replace(rendered, html="")
        listed = max(_MIN_LISTED, listed // 2)
        rendered = render(listed)
    return rendered


def _bilingual(
    template: str,
    subject: str,
    tz: ZoneInfo,
    values: dict[str, Any],
    extra: tuple[str, ...] = (),
    catalogs: str | None = None,
) -> Rendered:
    """Dutch, English below it, then each ``extra`` language (an announcement's)."""
    texts, htmls = [], []
    for language in ("nl", "en", *extra):
        _ = Translator(language, tz, catalogs)
        common = {
            "_": _,
            "lang": language,
            "kind_name": _kind_name(_),
            "offer": _offer(_),
            "decision_lines": _decision_lines(_),
        }
        texts.append(_environment().get_template(f"{template}.txt").render(**common, **values))
        htmls.append(_environment().get_template(f"{template}.html").render(**common, **values))
    text = _tidy(texts[0]) + ENGLISH_RULE + _tidy(texts[1])
    html = f"{htmls[0].strip()}<hr/><p><em>English</em></p>{htmls[1].strip()}"
    for language, more, more_html in zip(extra, texts[2:], htmls[2:], strict=True):
        name, direction = native_name(language), text_direction(language)
        text += f"\n\n— {name} —\n" + _tidy(more)
        html += (
            f'<hr/><div lang="{escape(language)}" dir="{direction}"><p><em>{escape(name)}</em>'
            f"</p>{more_html.strip()}</div>"
        )
    return Rendered(subject, text, html)


def _tidy(text: str) -> str:
    """At most one empty line between paragraphs, none at either end (templates leave more)."""
    return _BLANK_LINES.sub("\n\n", text).strip()


def _kind_name(_: Translator) -> Callable[[Kind], str]:
    return lambda kind: _(KIND_NAMES[kind])


def _offer(_: Translator) -> Callable[[Kind], str]:
    return lambda kind: _(KIND_OFFERS[kind])


def _decision_lines(_: Translator) -> Callable[[PublicDecision], list[str]]:
    """A decision's result, counts, weights, rule and advice, worded as on the page."""
    return lambda decision: public_decision_lines(decision, _)


def _safe_meeting(facts: MeetingFacts) -> MeetingFacts:
    """Sender-chosen text made safe to quote (no controls, no pings, capped)."""
    return replace(
        facts,
        title=untrusted(facts.title, 200),
        location=untrusted(facts.location, 200),
        items=tuple(replace(i, title=untrusted(i.title)) for i in facts.items),
        documents=tuple(replace(d, name=untrusted(d.name, 200)) for d in facts.documents),
        agreements=tuple(_safe_agreement(a) for a in facts.agreements),
        cannot=tuple(_safe_agreement(a) for a in facts.cannot),
        # The decisions' titles, partners and motivations are made safe where they are
        # chosen (public_decisions), like the page's.
        previous=None
        if facts.previous is None
        else (untrusted(facts.previous[0], 200), facts.previous[1]),
        decisions=tuple(
            replace(
                d,
                question=untrusted(d.question),
                partner=None if d.partner is None else untrusted(d.partner, 120),
            )
            for d in facts.decisions
        ),
    )


def _safe_agreement(line: AgreementLine) -> AgreementLine:
    motivation = None if line.motivation is None else untrusted(line.motivation, 1000)
    return replace(
        line, what=untrusted(line.what), owner=untrusted(line.owner, 120), motivation=motivation
    )


@cache
def _environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("daemon.publish.messages", "templates"),
        # HTML templates escape every value (titles are the senders'); plain text is text.
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["size"] = _size
    return env


def _size(size: int) -> str:
    """'1,2 MB' style sizes for the package list (the unit is the same in both languages)."""
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    return f"{max(1, round(size / 1000))} kB"


__all__ = [
    "CHANNELS",
    "MATRIX_CONTENT_LIMIT",
    "AgreementFacts",
    "AgreementLine",
    "Channel",
    "DecisionLine",
    "DocumentLine",
    "ItemLine",
    "MeetingFacts",
    "Rendered",
    "Sender",
    "matrix_content_size",
    "render_agreement",
    "render_meeting",
    "subject_line",
]
