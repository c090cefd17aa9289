"""More page languages from gettext catalogs (``[http] languages``, ``locale_dir``): the
config's checks, a catalog read from the deployment's directory, the text direction,
and the page's dir, paths and language links."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from daemon.config import parse_config
from daemon.errors import ConfigError
from daemon.i18n import Translator, text_direction
from daemon.publish.public_page import Languages, PageComposer, SiteLinks, language_of_path

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
BASE = """\
timezone = "Europe/Amsterdam"

[series.wijkalliantie]
title = "Wijkalliantie"

[series.wijkalliantie.plan]
dates = [2027-04-06T19:30:00]

[http]
"""
MAIL = """
[mail]
address = "wijkbode@wijk.test"
[mail.imap]
host = "imap.wijk.test"
username = "wijkbode"
password_env = "WIJKBODE_IMAP_PASSWORD"
[mail.smtp]
host = "smtp.wijk.test"
"""
PO = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'


def _catalog(directory: Path, language: str, pairs: dict[str, str]) -> Path:
    target = directory / language / "LC_MESSAGES" / "wijkbode.po"
    target.parent.mkdir(parents=True)
    body = "".join(f'msgid "{k}"\nmsgstr "{v}"\n\n' for k, v in pairs.items())
    target.write_text(PO + body, encoding="utf-8")
    return directory


def _error(text: str, directory: Path) -> str:
    path = directory / "wijkbode.toml"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, path)
    return str(caught.value)


def test_nl_and_en_are_the_default_and_a_third_needs_its_catalog(tmp_path: Path) -> None:
    config = parse_config(BASE, tmp_path / "wijkbode.toml")
    assert config.http is not None
    assert (config.http.languages, config.http.subscriptions) == (("nl", "en"), False)
    missing = _error(BASE + 'languages = ["nl", "en", "ar"]\n', tmp_path)
    assert "geen vertaling voor 'ar'" in missing
    assert "no catalog for 'ar'" in missing
    _catalog(tmp_path / "locale", "ar", {"Date": "التاريخ"})
    config = parse_config(
        BASE + 'languages = ["nl", "en", "ar"]\nlocale_dir = "locale"\n', tmp_path / "w.toml"
    )
    assert config.http is not None
    assert config.http.languages == ("nl", "en", "ar")
    assert config.http.locale_dir == tmp_path / "locale"


def test_dutch_comes_first_and_no_language_twice(tmp_path: Path) -> None:
    for wrong in ('["en", "nl"]', '["nl", "en", "nl"]', "[]", '["nl", "EN"]', '["nl", "zz"]'):
        said = _error(BASE + f"languages = {wrong}\n", tmp_path)
        assert "http.languages" in said, said


def test_subscriptions_need_mail_to_send_with(tmp_path: Path) -> None:
    said = _error(BASE + "subscriptions = true\n", tmp_path)
    assert "subscriptions" in said
    assert "need a [mail] section" in said
    config = parse_config(BASE + "subscriptions = true\n" + MAIL, tmp_path / "w.toml")
    assert config.http is not None
    assert config.http.subscriptions


def test_a_catalog_from_the_deployments_directory_translates_and_falls_back(
    tmp_path: Path,
) -> None:
    catalogs = str(_catalog(tmp_path, "ar", {"Date": "التاريخ"}))
    arabic = Translator("ar", AMS, catalogs)
    assert arabic("Date") == "التاريخ"
    assert arabic("Time") == "Time"  # not in the catalog: English
    assert arabic.direction == "rtl"
    assert Translator("nl", AMS, catalogs).direction == "ltr"
    assert (text_direction("he"), text_direction("en"), text_direction("zz")) == (
        "rtl", "ltr", "ltr",
    )  # fmt: skip


def test_the_page_in_a_third_language_is_at_its_own_path_right_to_left(tmp_path: Path) -> None:
    languages = Languages(("nl", "en", "ar"), str(_catalog(tmp_path, "ar", {"Date": "التاريخ"})))
    pages = PageComposer(SiteLinks("https://wijk.example.org"), AMS, languages)
    html = pages.page([], "ar", NOW)
    assert '<html lang="ar" dir="rtl">' in html
    assert '<a href="/" lang="nl" hreflang="nl">Nederlands</a>' in html
    assert '<a href="/en" lang="en" hreflang="en">English</a>' in html
    dutch = pages.page([], "nl", NOW)
    assert '<html lang="nl" dir="ltr">' in dutch
    assert 'href="/ar" lang="ar" hreflang="ar">العربية</a>' in dutch
    assert language_of_path("/ar/x", languages.codes) == "ar"
    assert language_of_path("/arx", languages.codes) == "nl"


def test_an_announcement_adds_the_further_languages_below_dutch_and_english(
    tmp_path: Path,
) -> None:
    from daemon.publish.messages import MeetingFacts, Sender, render_meeting

    catalogs = str(_catalog(tmp_path, "ar", {"Announcement": "إعلان"}))
    start = datetime(2027, 4, 6, 17, 30, tzinfo=UTC)
    sender = Sender("wijkbode@wijk.test", "https://wijk.example.org/", ("ar",), catalogs)
    announce = MeetingFacts("announce", "Bewonersbijeenkomst", start, start, "Buurthuis")
    message = render_meeting(announce, "mail", sender, AMS)
    dutch, english, arabic = (
        message.text.index("dinsdag 6 april 2027"),
        message.text.index("— English —"),
        message.text.index("— العربية —"),
    )
    assert dutch < english < arabic
    assert '<div lang="ar" dir="rtl">' in message.html
    agenda = MeetingFacts("concept_agenda", "Wijkalliantie", start, start, "Buurthuis")
    assert "العربية" not in render_meeting(agenda, "mail", sender, AMS).text  # partners: nl, en


def test_the_folder_has_a_page_for_each_language_right_to_left_where_written_so(
    tmp_path: Path,
) -> None:
    from daemon.model import Kind, MeetingId, SeriesId
    from daemon.ports.public import PublicItem, PublicMeeting
    from daemon.publish.folder import folder_html

    _catalog(tmp_path / "locale", "ar", {"Date": "التاريخ"})
    config = parse_config(
        BASE + 'public_url = "https://wijk.example.org"\n'
        'languages = ["nl", "en", "ar"]\nlocale_dir = "locale"\n',
        tmp_path / "wijkbode.toml",
    )
    start = datetime(2027, 4, 6, 17, 30, tzinfo=UTC)
    meeting = PublicMeeting(
        MeetingId("bewonersbijeenkomst-2027-04-06"), SeriesId("bewonersbijeenkomst"),
        "Bewonersbijeenkomst", "Bewonersbijeenkomst", start, start, "Buurthuis", False, None, 0,
        (PublicItem("WB-7", Kind.AGENDAPUNT, "Speeltuin"),), None, (), None,
    )  # fmt: skip
    html = folder_html(meeting, SiteLinks("https://wijk.example.org"), config, NOW)
    assert '<section class="folder" lang="nl" dir="ltr">' in html
    assert '<section class="folder" lang="en" dir="ltr">' in html
    assert '<section class="folder" lang="ar" dir="rtl">' in html
    assert "https://wijk.example.org/ar" in html
    assert "التاريخ" in html


def test_a_sign_up_on_a_further_languages_page_gets_its_confirmation_in_it_too(
    tmp_path: Path,
) -> None:
    from daemon.publish.subscriptions import SubscriptionLinks, confirmation_mail

    catalogs = str(_catalog(tmp_path, "ar", {"Confirm your subscription": "أكد اشتراكك"}))
    links = SubscriptionLinks("https://wijk.example.org")
    mail = confirmation_mail(
        3, "t" * 43, links, "wijk.example.org", Translator("ar", AMS, catalogs)
    )
    assert mail.text.index("— English —") < mail.text.index("— العربية —")
    assert mail.text.count("https://wijk.example.org/subscribe/confirm?t=" + "t" * 43) == 3
    dutch = confirmation_mail(3, "t" * 43, links, "wijk.example.org", Translator("nl", AMS))
    assert "العربية" not in dutch.text
