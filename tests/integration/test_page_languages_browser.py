"""A third page language from a gettext catalog, right to left, in a real Chromium.

The catalog is made here, not shipped: a pseudo-translation of every Dutch message
into Hebrew letters (a right-to-left script), each half again as long plus one long
unbroken word, so the layout meets longer text than nl or en ever give it. The real
daemon serves it at ``/he`` with ``[http] languages = ["nl", "en", "he"]`` and
``locale_dir``; the subscribe form is on. Checked: ``dir="rtl"`` and ``lang="he"``,
the translated text, the other pages' language links, nothing sticking out sideways
at phone width, and axe-core's verdict; a screenshot is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po
from browser import PHONE, Browser, chromium, require_browser_tools, serious
from public_site import PublicSite, public_site
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
_FIELD = re.compile(r"(\{[a-z_]+\})")
_HEBREW = "אבגדהוזחטיכלמנסעפצקרשת"


def pseudo(text: str) -> str:
    """``text`` in Hebrew letters, half again as long, with its ``{fields}`` kept."""
    parts = _FIELD.split(text)
    letters = "".join(
        part if _FIELD.fullmatch(part) else "".join(
            _HEBREW[ord(c.lower()) % len(_HEBREW)] if c.isalpha() else c for c in part
        )
        for part in parts
    )  # fmt: skip
    padding = "ש" * max(4, len(text) // 2)
    return f"{letters} {padding}"


def pseudo_catalog(directory: Path) -> Path:
    """``directory/he/LC_MESSAGES/wijkbode.po``: every Dutch message, pseudo-translated."""
    source = REPO / "daemon" / "locale" / "nl" / "LC_MESSAGES" / "wijkbode.po"
    with source.open("rb") as handle:
        catalog = read_po(handle, locale="he", domain="wijkbode")
    for message in catalog:
        if message.id and isinstance(message.id, str):
            message.string = pseudo(message.id)
    target = directory / "he" / "LC_MESSAGES" / "wijkbode.po"
    target.parent.mkdir(parents=True)
    with target.open("wb") as handle:
        write_po(handle, catalog)
    return directory


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PublicSite]:
    require_browser_tools()
    locale = pseudo_catalog(tmp_path_factory.mktemp("locale"))
    extra = f'languages = ["nl", "en", "he"]\nlocale_dir = "{locale}"\nsubscriptions = true\n'
    with public_site(tmp_path_factory.mktemp("site"), extra) as running:
        yield running


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory, site: PublicSite) -> Iterator[Browser]:
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as opened:
        yield opened


def _direction(browser: Browser) -> str:
    return str(browser.driver.find_element("tag name", "html").get_attribute("dir"))


def test_the_pseudo_language_is_right_to_left_and_holds_at_phone_width(
    site: PublicSite, browser: Browser, tmp_path: Path
) -> None:
    browser.driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 1, "mobile": True},
    )
    try:
        browser.open(site.base_url + "/he")
        assert (browser.html_lang(), _direction(browser)) == ("he", "rtl")
        text = browser.text()
        assert pseudo("Meetings in the neighbourhood") in text
        assert pseudo("Subscribe by e-mail") in text
        assert browser.page_width() <= PHONE[0]
        for path in ("/", "/en"):
            browser.open(site.base_url + path)
            assert _direction(browser) == "ltr"
            assert browser.page_width() <= PHONE[0]
            languages = browser.driver.find_elements("css selector", "nav a[hreflang]")
            assert "he" in [a.get_attribute("hreflang") for a in languages]
    finally:
        browser.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    browser.open(site.base_url + "/he")
    shot = browser.screenshot(tmp_path / "page-he-375px.png", PHONE, mobile=True)
    print(f"screenshot he-375px: {shot}")


def test_axe_finds_no_serious_violation_in_the_right_to_left_page(
    site: PublicSite, browser: Browser
) -> None:
    browser.open(site.base_url + "/he")
    assert serious(browser.axe()) == []


def test_an_unknown_path_under_the_language_gets_its_404(site: PublicSite) -> None:
    status, _, body = site.get("/he/nope")
    assert status == 404
    assert b'dir="rtl"' in body


def test_the_form_signs_up_in_a_real_browser_and_answers_in_the_pages_language(
    site: PublicSite, browser: Browser
) -> None:
    browser.open(site.base_url + "/he", javascript=False)
    honeypot = browser.driver.find_element("id", "website")
    assert not honeypot.is_displayed()  # people never see it
    browser.driver.find_element("id", "email").send_keys("lezer@buiten.test")
    form_page = browser.driver.find_element("tag name", "html")
    browser.driver.find_element("css selector", "form.subscribe button").click()
    # The click starts a navigation: read the answer page, not the form page going away.
    WebDriverWait(browser.driver, 30).until(expected_conditions.staleness_of(form_page))
    assert (browser.html_lang(), _direction(browser)) == ("he", "rtl")
    assert pseudo("Check your mail") in browser.text()
    assert serious(browser.axe()) == []
