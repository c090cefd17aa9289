"""The public page for residents, composed as HTML from the public view. Pure.

Dutch at ``/`` and English at ``/en`` (``PAGE_PATHS``), one Jinja2 template
(``templates/page.html``) with autoescape on, so every title that came from a
submitter is shown as text, never as markup. The page needs no JavaScript and
loads nothing else: its style is inline (allowed by ``STYLE_CSP_SOURCE``, the
hash of that style) and the QR code of the feed address is an inline SVG made
by segno. The HTTP connector serves what this module renders from a cache and
renders again only when the data changes.

What may be on the page is decided before it gets here: ``public_view`` gives
only published meetings of public series, and only the agenda lines the
visibility rule lets out; this module only lays them out.

Jinja2 and segno are imported on the first render, not when the daemon starts
(idle memory, see tests/unit/test_lean_imports.py).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

from daemon.i18n import DEFAULT_LANGUAGE, Translator
from daemon.model import Kind
from daemon.ports.page import page_path
from daemon.publish.decisions import public_decision_lines
from daemon.publish.receipts import KIND_NAMES

if TYPE_CHECKING:
    import jinja2

    from daemon.ports.public import PublicMeeting

_LANGUAGE_NAMES: Final = {"nl": "Nederlands", "en": "English"}
_ANCHOR_UNSAFE = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True, slots=True)
class SiteLinks:
    """Where the page and the feed are, as people reach them (``[http] public_url``)."""

    base_url: str  # "https://wijkbode.example.org", no trailing slash

    @property
    def feed_url(self) -> str:
        return f"{self.base_url}/agenda.ics"

    @property
    def webcal_url(self) -> str:
        """The feed as ``webcal://``: one tap opens the calendar app's subscribe dialog."""
        return "webcal://" + self.feed_url.split("://", 1)[1]

    def page_url(self, language: str) -> str:
        return self.base_url + page_path(language)


@dataclass(frozen=True, slots=True)
class AgendaLine:
    number: str  # "WB-12"
    kind: str  # "agendapunt"
    title: str


@dataclass(frozen=True, slots=True)
class DecisionLine:
    number: str  # "WB-12"
    title: str
    lines: tuple[str, ...]  # the result with counts, weights and rule; the advice


@dataclass(frozen=True, slots=True)
class DecidedCard:
    """A meeting's decisions (its besluitenlijst) as the page words them (issue 12)."""

    name: str
    date: str
    decisions: tuple[DecisionLine, ...]


def decided_cards(meetings: Sequence[PublicMeeting], t: Translator) -> list[DecidedCard]:
    """The meetings with decisions on their public agenda, the latest first."""
    return [
        DecidedCard(
            name=meeting.title or meeting.series_title,
            date=t.day(meeting.start.astimezone(t.tz).date()),
            decisions=tuple(
                DecisionLine(d.number, d.title, tuple(public_decision_lines(d, t)))
                for d in meeting.decisions
            ),
        )
        for meeting in sorted(meetings, key=lambda m: (m.start, m.id), reverse=True)
        if meeting.decisions
    ]


@dataclass(frozen=True, slots=True)
class DeadlineLine:
    kind: str
    until: str  # "dinsdag 23 maart 2027, 19:30"


@dataclass(frozen=True, slots=True)
class MeetingCard:
    """One meeting as the page shows it: every field already worded in the page's language."""

    anchor: str  # the HTML id of its heading
    name: str
    date: str  # "dinsdag 6 april 2027"
    time: str  # "19:30–21:30"
    place: str
    cancelled: bool
    moved_from: str | None  # when it was planned before it moved
    agenda: tuple[AgendaLine, ...] | None  # None: this series' agenda is not public
    stukken_at: str | None
    deadlines: tuple[DeadlineLine, ...]
    address: str | None


def meeting_cards(
    meetings: Sequence[PublicMeeting], t: Translator, now: datetime
) -> list[MeetingCard]:
    """The coming meetings (not yet ended) as the page words them, by start."""
    return [
        _card(meeting, t, now)
        for meeting in sorted(meetings, key=lambda m: (m.start, m.id))
        if meeting.end > now
    ]


def _card(meeting: PublicMeeting, _: Translator, now: datetime) -> MeetingCard:
    t = _  # ``_`` where a message id is written, so the translation check finds it
    start, end = meeting.start.astimezone(t.tz), meeting.end.astimezone(t.tz)
    agenda = (
        None
        if meeting.agenda is None
        else tuple(AgendaLine(i.number, t(KIND_NAMES[i.kind]), i.title) for i in meeting.agenda)
    )
    return MeetingCard(
        anchor="meeting-" + _ANCHOR_UNSAFE.sub("-", str(meeting.id).lower()),
        name=meeting.title or meeting.series_title,
        date=t.day(start.date()),
        time=f"{start:%H:%M}–{end:%H:%M}",
        place=meeting.location or _("to be announced"),
        cancelled=meeting.cancelled,
        moved_from=None if meeting.moved_from is None else t.when(meeting.moved_from),
        agenda=agenda,
        stukken_at=(
            t.when(meeting.stukken_at)
            if meeting.stukken_at is not None and meeting.stukken_at > now
            else None
        ),
        deadlines=tuple(
            DeadlineLine(t(KIND_NAMES[kind]), t.when(due))
            for kind, due in _in_kind_order(meeting.deadlines)
            if due > now
        ),
        address=meeting.submission_address,
    )


def _in_kind_order(deadlines: Sequence[tuple[Kind, datetime]]) -> list[tuple[Kind, datetime]]:
    order = list(Kind)
    return sorted(deadlines, key=lambda pair: (order.index(pair[0]), pair[1]))


@dataclass(frozen=True, slots=True)
class Languages:
    """The page's languages (``[http] languages``, Dutch first) and where the catalogs of
    those beyond nl and en are (``[http] locale_dir``)."""

    codes: tuple[str, ...] = ("nl", "en")
    catalogs: str | None = None

    def translator(self, language: str, tz: ZoneInfo) -> Translator:
        return Translator(language, tz, self.catalogs)


def render_page(
    meetings: Sequence[PublicMeeting],
    language: str,
    links: SiteLinks,
    now: datetime,
    tz: ZoneInfo,
    languages: Languages = Languages(),
    *,
    subscribe: bool = False,
) -> str:
    """The whole page in ``language`` (one of ``languages``); ``subscribe``: with the form
    to get the announcements by mail."""
    t = languages.translator(language, tz)
    return _render(
        "page.html",
        t,
        languages,
        meetings=meeting_cards(meetings, t, now),
        decided=decided_cards(meetings, t),
        feed_url=links.feed_url,
        webcal_url=links.webcal_url,
        qr=_qr_svg(links.feed_url),
        subscribe=subscribe,
    )


def render_not_found(
    language: str, links: SiteLinks, tz: ZoneInfo, languages: Languages = Languages()
) -> str:
    """The 404 page, in the same style as the page."""
    return _render("not_found.html", languages.translator(language, tz), languages)


@dataclass(frozen=True, slots=True)
class PageComposer:
    """``daemon.ports.page.PublicPages``: the pages for one site and time zone."""

    links: SiteLinks
    tz: ZoneInfo
    languages: Languages = Languages()
    subscribe: bool = False  # the form to get the announcements by mail

    @property
    def style_source(self) -> str:
        return STYLE_CSP_SOURCE

    @property
    def codes(self) -> tuple[str, ...]:
        return self.languages.codes

    def page(self, meetings: Sequence[PublicMeeting], language: str, now: datetime) -> str:
        return render_page(
            meetings, language, self.links, now, self.tz, self.languages, subscribe=self.subscribe
        )

    def not_found(self, language: str) -> str:
        return render_not_found(language, self.links, self.tz, self.languages)

    def message(
        self,
        language: str,
        title: str,
        paragraphs: Sequence[str],
        *,
        action: str | None = None,
        button: str | None = None,
    ) -> str:
        """A short page in the page's style: a heading, a few paragraphs, and optionally
        one button that posts to ``action`` (the subscription pages)."""
        t = self.languages.translator(language, self.tz)
        return _render(
            "message.html",
            t,
            self.languages,
            title=title,
            paragraphs=tuple(paragraphs),
            action=action,
            button=button,
        )


def language_of_path(path: str, languages: Sequence[str] = ("nl", "en")) -> str:
    """The page language a request path asks for: ``/en`` and below English, else Dutch."""
    for language in languages:
        prefix = page_path(language)
        if language != DEFAULT_LANGUAGE and (path == prefix or path.startswith(prefix + "/")):
            return language
    return DEFAULT_LANGUAGE


def language_name(language: str) -> str:
    """A language's name in that language ("Nederlands", "English", "العربية")."""
    if language in _LANGUAGE_NAMES:
        return _LANGUAGE_NAMES[language]
    from babel import Locale, UnknownLocaleError

    try:
        return str(Locale.parse(language).get_display_name(language) or language)
    except (UnknownLocaleError, ValueError):
        return language


def _render(template: str, t: Translator, languages: Languages, **values: Any) -> str:
    from markupsafe import Markup

    others = [
        {"lang": code, "href": page_path(code), "name": language_name(code)}
        for code in languages.codes
        if code != t.language
    ]
    return (
        _environment()
        .get_template(template)
        .render(
            _=t,
            lang=t.language,
            dir=t.direction,
            home=page_path(t.language),
            others=others,
            style=Markup(STYLE),  # noqa: S704 (our own stylesheet, shipped with the code)
            **values,
        )
    )


@cache
def _environment() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("daemon.publish", "templates"),
        autoescape=True,  # every template here is HTML
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _qr_svg(url: str) -> Any:
    """The QR code of ``url`` as inline SVG markup, named for screen readers."""
    import segno
    from markupsafe import Markup, escape

    svg = segno.make(url, error="m").svg_inline(
        scale=5, border=2, dark="#000", light="#fff", svgclass="qr-code", lineclass=None
    )
    # segno draws the markup from the code's modules only; the one text in it, the
    # label, is our own address, escaped.
    label = f' role="img" aria-label="QR: {escape(url)}"'
    return Markup(svg.replace("<svg", "<svg" + label, 1))  # noqa: S704


def _read_style() -> str:
    return (
        resources.files("daemon.publish")
        .joinpath("templates")
        .joinpath("page.css")
        .read_text("utf-8")
    )


STYLE: Final = _read_style()
# For the Content-Security-Policy: the inline style is allowed by its hash, nothing else is.
STYLE_CSP_SOURCE: Final = (
    "'sha256-" + base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode() + "'"
)
