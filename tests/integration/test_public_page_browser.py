"""The public page in a real browser: headless Chromium (Debian's), driven by selenium.

The real daemon serves it (tests/integration/public_site.py: a moved and a
cancelled meeting, a hostile agenda title, private things that must not show).
Checked: the Dutch and English content and the language switch, the page with
JavaScript off, axe-core's verdict (no serious or critical violation), the
hostile title shown as text, and screenshots at desktop width and at 375 px,
kept as artefacts in the test's tmp dir (their paths are printed).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import DESKTOP, PHONE, Browser, chromium, require_browser_tools, serious
from public_site import HOSTILE, PUBLIC_ITEM, PublicSite, public_site

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PublicSite]:
    require_browser_tools()
    with public_site(tmp_path_factory.mktemp("site")) as running:
        yield running


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory, site: PublicSite) -> Iterator[Browser]:
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as opened:
        yield opened


def test_the_dutch_page_shows_the_meetings_and_switches_to_english(
    site: PublicSite, browser: Browser
) -> None:
    browser.open(site.base_url + "/")
    text = browser.text()
    assert browser.html_lang() == "nl"
    assert "Vergaderingen in de wijk" in text
    assert "Bewonersbijeenkomst: woensdag 7 april 2027" in text
    assert "Verplaatst. Deze vergadering stond eerst gepland op dinsdag 6 april 2027, 19:30." in (
        text
    )
    assert "Afgelast. Deze vergadering gaat niet door." in text
    assert PUBLIC_ITEM in text
    assert "De vergaderstukken worden verstuurd op woensdag 31 maart 2027, 19:30." in text
    assert "agendapunt: zondag 28 maart 2027, 19:30" in text
    assert "Stuur het per e-mail naar wijkbode@wijk.test." in text
    mail = browser.driver.find_element("link text", "wijkbode@wijk.test")
    assert mail.get_attribute("href") == "mailto:wijkbode@wijk.test"
    assert "Abonneren op de agenda" in text
    subscribe = browser.driver.find_element("link text", "Abonneren op de agenda")
    assert subscribe.get_attribute("href") == site.base_url.replace("http", "webcal", 1) + (
        "/agenda.ics"
    )
    for calendar in ("Google Agenda", "Outlook", "Apple (iPhone, iPad en Mac)"):
        assert calendar in text

    browser.driver.find_element("link text", "English").click()
    assert browser.driver.current_url == site.base_url + "/en"
    english = browser.text()
    assert browser.html_lang() == "en"
    assert "Meetings in the neighbourhood" in english
    assert "Bewonersbijeenkomst: Wednesday 7 April 2027" in english
    assert "Moved. This meeting was planned for Tuesday 6 April 2027, 19:30 before." in english
    assert "Cancelled. This meeting will not take place." in english
    assert "Subscribe to the calendar" in english
    browser.driver.find_element("link text", "Nederlands").click()
    assert browser.driver.current_url == site.base_url + "/"


def test_the_page_is_complete_without_javascript(site: PublicSite, browser: Browser) -> None:
    for path, expected in (
        ("/", ("Komende vergaderingen", PUBLIC_ITEM, "Afgelast.", "Zelf iets inbrengen")),
        ("/en", ("Coming meetings", PUBLIC_ITEM, "Cancelled.", "Send something in")),
    ):
        browser.open(site.base_url + path, javascript=False)
        text = browser.text()
        assert [phrase for phrase in expected if phrase not in text] == []
        assert browser.driver.find_elements("tag name", "script") == []
        assert browser.driver.find_element("css selector", "svg.qr-code").is_displayed()


def test_axe_finds_no_serious_or_critical_violation(site: PublicSite, browser: Browser) -> None:
    found = {}
    for path in ("/", "/en", "/nope", "/en/nope"):
        browser.open(site.base_url + path)
        found[path] = serious(browser.axe())
    assert found == {"/": [], "/en": [], "/nope": [], "/en/nope": []}


def test_a_hostile_agenda_title_is_shown_as_text(site: PublicSite, browser: Browser) -> None:
    browser.open(site.base_url + "/")  # JavaScript on: nothing of the title may run
    assert HOSTILE in browser.text()
    assert browser.driver.title != "PWNED"
    assert browser.driver.execute_script("return document.body.dataset.pwned") is None
    assert browser.driver.find_elements("css selector", "main img, main script") == []


def test_screenshots_at_desktop_width_and_375_px_are_kept(
    site: PublicSite, browser: Browser, tmp_path: Path
) -> None:
    shots = {}
    for path, name in (("/", "nl"), ("/en", "en")):
        browser.open(site.base_url + path)
        shots[f"{name}-desktop"] = browser.screenshot(
            tmp_path / f"page-{name}-desktop.png", DESKTOP
        )
        shots[f"{name}-375px"] = browser.screenshot(
            tmp_path / f"page-{name}-375px.png", PHONE, mobile=True
        )
    for name, shot in shots.items():
        print(f"screenshot {name}: {shot}")
        header = shot.read_bytes()[:24]
        assert header[:8] == b"\x89PNG\r\n\x1a\n"
        width = int.from_bytes(header[16:20], "big")
        assert width == (PHONE[0] if name.endswith("375px") else DESKTOP[0])
    # Mobile first: at 375 px nothing sticks out sideways.
    browser.driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 1, "mobile": True},
    )
    browser.open(site.base_url + "/")
    assert browser.page_width() <= PHONE[0]
    browser.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
