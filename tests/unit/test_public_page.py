"""The public page as composed HTML (daemon/publish/public_page.py): pure, no server.

The page in a real browser (axe-core, JavaScript off, screenshots) is
tests/integration/test_public_page_browser.py.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2.ext import babel_extract

from daemon.i18n import translations
from daemon.model import Kind, MeetingId, SeriesId
from daemon.ports.page import PublicPages
from daemon.ports.public import PublicItem, PublicMeeting
from daemon.publish.public_page import (
    STYLE,
    STYLE_CSP_SOURCE,
    PageComposer,
    SiteLinks,
    language_of_path,
    render_not_found,
    render_page,
)

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
LINKS = SiteLinks("https://wijkbode.example.org")
TEMPLATES = Path(__file__).resolve().parents[2] / "daemon" / "publish" / "templates"
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def meeting(**changes: object) -> PublicMeeting:
    values: dict[str, object] = {
        "id": MeetingId("bewonersbijeenkomst-2027-04-06"),
        "series": SeriesId("bewonersbijeenkomst"),
        "series_title": "Bewonersbijeenkomst",
        "title": "Bewonersbijeenkomst",
        "start": datetime(2027, 4, 6, 17, 30, tzinfo=UTC),
        "end": datetime(2027, 4, 6, 19, 30, tzinfo=UTC),
        "location": "Buurthuis De Linde",
        "cancelled": False,
        "moved_from": None,
        "sequence": 0,
        "agenda": (PublicItem("WB-7", Kind.AGENDAPUNT, "Speeltuin Lindenplein"),),
        "stukken_at": datetime(2027, 3, 30, 17, 30, tzinfo=UTC),
        "deadlines": (
            (Kind.AGENDAPUNT, datetime(2027, 3, 16, 18, 30, tzinfo=UTC)),
            (Kind.STUK, datetime(2027, 2, 1, 18, 30, tzinfo=UTC)),  # already passed
        ),
        "submission_address": "wijkbode@example.org",
    }
    values.update(changes)
    return PublicMeeting(**values)  # type: ignore[arg-type]


def page(meetings: list[PublicMeeting], language: str = "nl") -> str:
    return render_page(meetings, language, LINKS, NOW, AMS)


class _Text(HTMLParser):
    """The page's visible text, and its elements with their attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("style", "script")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


def parsed(html: str) -> _Text:
    parser = _Text()
    parser.feed(html)
    return parser


def visible(html: str) -> str:
    return " ".join(" ".join(parsed(html).text).split())


def test_the_dutch_page_shows_date_time_place_agenda_and_how_to_send_in() -> None:
    html = page([meeting()])
    text = visible(html)
    assert '<html lang="nl" dir="ltr">' in html
    assert "Bewonersbijeenkomst: dinsdag 6 april 2027" in text
    assert "Tijd 19:30–21:30" in text
    assert "Plaats Buurthuis De Linde" in text
    assert "WB-7 · agendapunt: Speeltuin Lindenplein" in text
    assert "De vergaderstukken worden verstuurd op dinsdag 30 maart 2027, 19:30" in text
    assert "agendapunt: dinsdag 16 maart 2027, 19:30" in text
    assert "1 februari" not in text  # a deadline already passed is not offered
    assert 'href="mailto:wijkbode@example.org"' in html


def test_the_english_page_says_the_same_in_english_and_links_back() -> None:
    html = page([meeting()], "en")
    text = visible(html)
    assert '<html lang="en" dir="ltr">' in html
    assert "Bewonersbijeenkomst: Tuesday 6 April 2027" in text
    assert "The meeting papers go out on Tuesday 30 March 2027, 19:30" in text
    links = [a for tag, a in parsed(html).elements if tag == "a"]
    assert {"href": "/", "lang": "nl", "hreflang": "nl"}.items() <= links[2].items()
    dutch_links = [a for tag, a in parsed(page([meeting()])).elements if tag == "a"]
    assert {"href": "/en", "lang": "en", "hreflang": "en"}.items() <= dutch_links[2].items()


def test_a_hostile_title_is_text_never_markup() -> None:
    html = page([meeting(agenda=(PublicItem("WB-9", Kind.STUK, HOSTILE),), location=HOSTILE)])
    assert "<script>alert" not in html
    assert "<img" not in html
    assert HOSTILE in visible(html)


def test_a_cancelled_meeting_says_so_and_offers_no_submission() -> None:
    text = visible(page([meeting(cancelled=True)]))
    assert "Afgelast. Deze vergadering gaat niet door." in text
    assert "insturen" not in text
    assert "Cancelled. This meeting will not take place." in visible(
        page([meeting(cancelled=True)], "en")
    )


def test_a_moved_meeting_says_when_it_was_planned_before() -> None:
    moved = meeting(moved_from=datetime(2027, 3, 30, 17, 30, tzinfo=UTC))
    assert "Verplaatst. Deze vergadering stond eerst gepland op dinsdag 30 maart 2027, 19:30." in (
        visible(page([moved]))
    )


def test_an_agenda_that_is_not_public_is_said_to_be_not_published() -> None:
    text = visible(page([meeting(agenda=None)]))
    assert "De agenda van deze vergadering wordt hier niet gepubliceerd." in text
    assert "Er staat nog niets op de agenda." in visible(page([meeting(agenda=())]))


def test_a_meeting_that_has_ended_is_no_longer_coming() -> None:
    past = meeting(
        start=NOW - timedelta(days=2), end=NOW - timedelta(days=2, hours=-2), title="Voorbij"
    )
    text = visible(page([past]))
    assert "Voorbij" not in text
    assert "Er zijn op dit moment geen vergaderingen gepland." in text


def test_meetings_are_listed_by_start() -> None:
    later = meeting(
        id=MeetingId("b-2"),
        title="Later",
        start=NOW + timedelta(days=60),
        end=NOW + timedelta(days=61),
    )
    sooner = meeting(
        id=MeetingId("b-1"),
        title="Eerder",
        start=NOW + timedelta(days=5),
        end=NOW + timedelta(days=6),
    )
    text = visible(page([later, sooner]))
    assert text.index("Eerder") < text.index("Later")


def test_subscribing_is_one_webcal_link_a_copyable_address_steps_and_a_qr_code() -> None:
    html = page([])
    text = visible(html)
    assert 'href="webcal://wijkbode.example.org/agenda.ics"' in html
    assert "https://wijkbode.example.org/agenda.ics" in text
    for calendar in ("Google Agenda", "Outlook", "Apple"):
        assert calendar in text
    svg = [a for tag, a in parsed(html).elements if tag == "svg"]
    assert svg == [
        {
            "role": "img",
            "aria-label": "QR: https://wijkbode.example.org/agenda.ics",
            "width": "165",
            "height": "165",
            "class": "qr-code",
        }
    ]


def test_the_page_has_landmarks_one_h1_and_no_script() -> None:
    elements = [tag for tag, _ in parsed(page([meeting()])).elements]
    assert {"header", "nav", "main", "footer"} <= set(elements)
    assert elements.count("h1") == 1
    assert "script" not in elements


def test_the_inline_style_is_the_one_the_csp_hash_allows() -> None:
    html = page([])
    (style,) = re.findall(r"<style>(.*?)</style>", html, re.DOTALL)
    assert style == STYLE
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"'sha256-{digest}'" == STYLE_CSP_SOURCE


def test_the_not_found_page_is_in_the_same_style_in_both_languages() -> None:
    dutch = render_not_found("nl", LINKS, AMS)
    english = render_not_found("en", LINKS, AMS)
    assert "Pagina niet gevonden" in visible(dutch)
    assert "Page not found" in visible(english)
    assert f"<style>{STYLE}</style>" in dutch


def test_the_language_follows_the_path() -> None:
    assert language_of_path("/") == "nl"
    assert language_of_path("/en") == "en"
    assert language_of_path("/en/nope") == "en"
    assert language_of_path("/english") == "nl"


def test_every_text_of_the_templates_has_a_dutch_translation() -> None:
    dutch = translations("nl")
    found: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        with template.open("rb") as handle:
            for _line, _function, message, _comments in babel_extract(handle, ["_"], [], {}):
                found.add(message if isinstance(message, str) else message[0])
    assert len(found) > 30
    assert sorted(m for m in found if dutch.gettext(m) == m and m != "Agenda") == []


def test_the_composer_is_what_the_http_connector_asks_for() -> None:
    pages: PublicPages = PageComposer(LINKS, AMS)
    assert '<html lang="en" dir="ltr">' in pages.page([meeting()], "en", NOW)
    assert "Pagina niet gevonden" in pages.not_found("nl")
    assert pages.style_source == STYLE_CSP_SOURCE
