"""Residents' mail subscriptions, the pure parts: addresses, tokens, who gets a row, the
personalised mail with its unsubscribe headers, scrubbed errors, the rate limit, and the
subscribe form on the page."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from connectors.http.ratelimit import RateLimit
from connectors.smtp_message import build_bytes
from daemon.i18n import Translator
from daemon.model import Series, SeriesId
from daemon.ports.outbox import ChannelName, MailOut, decode_payload
from daemon.publish.public_page import PageComposer, SiteLinks
from daemon.publish.scheduled import Targets, meeting_destinations
from daemon.publish.subscriptions import (
    SUBSCRIBERS,
    SubscriptionLinks,
    confirmation_mail,
    destination_of,
    new_token,
    normalise_address,
    personalise,
    scrub,
    subscriber_id_of,
    well_formed_token,
    with_subscribers,
)
from daemon.rules.defaults import BEWONERSBIJEENKOMST, KERNGROEP
from daemon.rules.moments import ANNOUNCE, MEETING_REMINDER
from daemon.store.subscribers import Subscriber

AMS = ZoneInfo("Europe/Amsterdam")
LINKS = SubscriptionLinks("https://wijk.example.org")
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def _subscriber(confirmed: bool = True) -> Subscriber:
    return Subscriber(
        id=7,
        address="jan@example.org",
        language="nl",
        unsubscribe_token="u" * 43,
        confirmed=confirmed,
        confirm_expires=None if confirmed else NOW,
    )


def test_an_address_is_trimmed_lowered_and_refused_when_no_mail_can_go_there() -> None:
    assert normalise_address("  Jan.Jansen@Example.ORG ") == "jan.jansen@example.org"
    long = "x" * 250 + "@ex.org"
    for bad in ["", "jan", "jan@", "@example.org", "a b@example.org", "jan@example",
                "<jan@example.org>", "jan@example.org, piet@example.org", long]:  # fmt: skip
        assert normalise_address(bad) is None, bad


def test_tokens_are_unguessable_and_checked_before_any_lookup() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(well_formed_token(t) and len(t) >= 43 for t in tokens)
    assert not well_formed_token("")
    assert not well_formed_token("short")
    assert not well_formed_token("x" * 40 + "'; DROP TABLE subscribers;--")


def test_an_outbox_row_names_a_subscriber_by_id_never_by_address() -> None:
    assert destination_of(12) == "subscriber:12"
    assert subscriber_id_of("subscriber:12") == 12
    assert subscriber_id_of("jan@example.org") is None
    assert subscriber_id_of("subscriber:x") is None


def test_public_announcements_go_to_the_subscribers_beside_the_residents_list() -> None:
    targets = Targets(residents_address="bewoners@example.org", subscribers=True)
    public = Series(SeriesId("bewonersbijeenkomst"), "Bewonersbijeenkomst", True,
                    BEWONERSBIJEENKOMST, timedelta(hours=2), "Buurthuis")  # fmt: skip
    private = Series(SeriesId("kerngroep"), "Kerngroep", False, KERNGROEP,
                     timedelta(hours=2), "Buurthuis")  # fmt: skip
    for moment in (ANNOUNCE, MEETING_REMINDER):
        wanted = meeting_destinations(moment, public, targets)[ChannelName.MAIL]
        assert wanted == ("bewoners@example.org", SUBSCRIBERS)
        assert ChannelName.MAIL not in meeting_destinations(moment, private, targets)
    assert ChannelName.MAIL not in meeting_destinations(
        ANNOUNCE, public, Targets(subscribers=False)
    )


def test_every_confirmed_subscriber_gets_a_row_of_their_own() -> None:
    expanded = with_subscribers(("list@example.org", SUBSCRIBERS), (3, 9), notice=False)
    assert expanded == ("list@example.org", "subscriber:3", "subscriber:9")
    assert with_subscribers(("list@example.org",), (3,), notice=False) == ("list@example.org",)


def test_a_notice_goes_to_the_subscribers_now_when_subscribers_heard_of_the_meeting() -> None:
    carried = ("list@example.org", "subscriber:3", "subscriber:4")
    # 4 left, 11 came since: the notice follows the list as it is now.
    assert with_subscribers(carried, (3, 11), notice=True) == (
        "list@example.org", "subscriber:3", "subscriber:11",
    )  # fmt: skip
    assert with_subscribers(("list@example.org",), (3,), notice=True) == ("list@example.org",)


def test_a_subscribers_mail_carries_one_click_unsubscribe_and_only_their_address() -> None:
    mail = MailOut(to=("subscriber:7",), subject="Aankondiging", text="Tekst",
                   message_id="<x@wijk.example.org>", html="<p>Tekst</p>")  # fmt: skip
    sent = personalise(mail, _subscriber(), LINKS)
    url = "https://wijk.example.org/unsubscribe?t=" + "u" * 43
    assert sent.to == ("jan@example.org",)
    assert dict(sent.headers) == {
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    assert url in sent.text
    assert sent.html is not None
    assert url in sent.html
    message = email.message_from_bytes(
        build_bytes(sent, "wijkbode@wijk.example.org", {}, NOW, to=sent.to),
        policy=email.policy.default,
    )
    assert message["List-Unsubscribe"] == f"<{url}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["To"] == "jan@example.org"
    assert decode_payload(sent.to_json()) == sent


def test_the_confirmation_mail_holds_the_link_but_not_the_address() -> None:
    token = new_token()
    mail = confirmation_mail(7, token, LINKS, "wijk.example.org", Translator("nl", AMS))
    assert mail.to == ("subscriber:7",)
    assert f"https://wijk.example.org/subscribe/confirm?t={token}" in mail.text
    assert mail.text.index("bevestigen") < mail.text.index("confirm")  # Dutch first
    assert mail.subject == "Bevestig uw inschrijving / Confirm your subscription"
    sent = personalise(mail, _subscriber(confirmed=False), LINKS)
    assert sent.headers == ()  # not subscribed yet: nothing to unsubscribe from
    assert sent.to == ("jan@example.org",)


def test_a_mail_servers_error_is_stored_without_the_address() -> None:
    said = "adres geweigerd (address rejected): JAN@example.org: 550 no such user"
    assert scrub(said, "jan@example.org", "subscriber:7") == (
        "adres geweigerd (address rejected): subscriber:7: 550 no such user"
    )


def test_the_rate_limit_counts_per_client_and_for_everyone() -> None:
    limit = RateLimit(per_client=2, total=3, window=3600)
    assert [limit.allow("1.1.1.1", t) for t in (0, 1, 2)] == [True, True, False]
    assert limit.allow("2.2.2.2", 3)
    assert not limit.allow("3.3.3.3", 4)  # the global limit: three in the hour
    assert limit.allow("1.1.1.1", 3601)  # its first two have left the window
    assert limit.allow("1.1.1.1", 3602)
    assert not limit.allow("3.3.3.3", 3602.5)  # three in the last hour again: 3, 3601, 3602
    assert limit.allow("3.3.3.3", 3603)  # the one at 3 has left it


def test_the_rate_limit_remembers_a_bounded_number_of_clients() -> None:
    limit = RateLimit(per_client=1, total=10_000, window=3600, max_clients=5)
    for n in range(50):
        assert limit.allow(f"10.0.0.{n}", n)
    assert len(limit._clients) == 5


def test_the_page_has_the_subscribe_form_with_a_honeypot_only_when_switched_on() -> None:
    on = PageComposer(SiteLinks("https://wijk.example.org"), AMS, subscribe=True)
    off = PageComposer(SiteLinks("https://wijk.example.org"), AMS)
    html = on.page([], "nl", NOW)
    assert '<form class="subscribe" method="post" action="/subscribe">' in html
    assert 'name="website"' in html
    assert '<div class="hp">' in html
    assert '<input type="hidden" name="lang" value="nl">' in html
    assert "Inschrijven per e-mail" in html
    assert "/subscribe" not in off.page([], "nl", NOW)


def test_the_answer_pages_are_in_the_page_style_with_one_button() -> None:
    pages = PageComposer(SiteLinks("https://wijk.example.org"), AMS)
    html = pages.message("en", "Unsubscribe", ["Press the button."],
                         action="/unsubscribe?t=abc", button="Unsubscribe")  # fmt: skip
    assert '<form method="post" action="/unsubscribe?t=abc">' in html
    assert '<html lang="en" dir="ltr">' in html
