"""Chat messages to requests: filing prefixes, afspraken, commands, pins (pure parsing)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from daemon.chat.afspraak import Mention, RecordAgreement, pills
from daemon.chat.dates import DueProblem
from daemon.chat.parsing import (
    COMMANDS,
    DIRECT_ONLY_AGENDAPUNT,
    EMPTY_TITLE,
    MOTIVATION_MISSING,
    ONLY_FOR_DISCUSSION,
    UNKNOWN_FLAG,
    AcceptItem,
    BadCommand,
    BadFiling,
    CannotKeep,
    CommandSpec,
    FileItem,
    KeepForDiscussion,
    MarkConfidential,
    MarkDone,
    MoveItem,
    RejectItem,
    Request,
    ShowAgenda,
    ShowAgreements,
    ShowDeadlines,
    ShowHelp,
    UnknownCommand,
    WithdrawItem,
    is_pin,
    parse_request,
)
from daemon.filing.tags import MAX_TITLE_CHARS
from daemon.model import AgreementId, ItemId, Kind, SeriesId
from daemon.rules.names import Names

AMS = ZoneInfo("Europe/Amsterdam")
AT = datetime(2027, 3, 10, 12, 0, tzinfo=AMS)  # a Wednesday
SERIES = ("wijkalliantie", "kerngroep", "bewonersbijeenkomst")
# The core room's members: a typed @name is one of them (issue 15).
JAN, PIET, ANNA = "@jan:example.org", "@piet:example.org", "@anna:example.org"
MEMBERS = Names({JAN: "Jan", PIET: "Piet", ANNA: "Anna"})


def parse(text: str, mentions: tuple[Mention, ...] = ()) -> Request | None:
    return parse_request(
        text, received_at=AT, known_series=SERIES, mentions=mentions, members=MEMBERS
    )


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Agendapunt: Bankje bij de speeltuin", Kind.AGENDAPUNT),
        ("agendapunt:Bankje bij de speeltuin", Kind.AGENDAPUNT),
        ("AGENDAPUNT : Bankje bij de speeltuin", Kind.AGENDAPUNT),
        ("Agenda item: Bankje bij de speeltuin", Kind.AGENDAPUNT),
        ("Ter kennisgeving: Bankje bij de speeltuin", Kind.TER_KENNISGEVING),
        ("For information: Bankje bij de speeltuin", Kind.TER_KENNISGEVING),
        ("Actualiteit: Bankje bij de speeltuin", Kind.ACTUALITEIT),
        ("Current affair: Bankje bij de speeltuin", Kind.ACTUALITEIT),
        ("Stuk: Bankje bij de speeltuin", Kind.STUK),
        ("Document: Bankje bij de speeltuin", Kind.STUK),
    ],
)
def test_every_filing_prefix_files_its_kind(text: str, kind: Kind) -> None:
    assert FileItem(kind, "Bankje bij de speeltuin", "") == parse(text)


def test_title_is_the_first_line_and_text_the_rest() -> None:
    request = parse("Agendapunt: Bankje\n\nDe oude is kapot.\nGraag snel.")
    assert FileItem(Kind.AGENDAPUNT, "Bankje", "De oude is kapot.\nGraag snel.") == request


def test_direct_agendapunt_skips_the_deadline() -> None:
    assert FileItem(Kind.AGENDAPUNT, "Zaalhuur", "", direct=True) == parse(
        "Agendapunt (direct): Zaalhuur"
    )
    assert FileItem(Kind.AGENDAPUNT, "Zaalhuur", "", direct=True) == parse(
        "Agenda item (Direct): Zaalhuur"
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Agendapunt:", EMPTY_TITLE),
        ("Agendapunt:   \n  ", EMPTY_TITLE),
        ("Actualiteit (direct): Brand", DIRECT_ONLY_AGENDAPUNT),
        ("Agendapunt (snel): Brand", UNKNOWN_FLAG),
    ],
)
def test_filings_that_cannot_be_filed_say_why(text: str, problem: str) -> None:
    assert BadFiling(problem) == parse(text)


def test_tags_in_the_title_pick_series_and_meeting_date() -> None:
    request = parse("Agendapunt: [kerngroep 18-05-2027] Nieuwe banken")
    assert (
        FileItem(Kind.AGENDAPUNT, "Nieuwe banken", "", SeriesId("kerngroep"), date(2027, 5, 18))
        == request
    )


def test_a_huge_first_line_is_cut_in_the_title_and_kept_in_the_text() -> None:
    line = "lang " * 1000
    request = parse("Agendapunt: " + line)
    assert isinstance(request, FileItem)
    assert len(request.title) == MAX_TITLE_CHARS
    assert request.text == " ".join(line.split())


@pytest.mark.parametrize(
    "text",
    ["hallo allemaal", "Wat staat er op de agenda?", "Het agendapunt: vergeten", "! help", ""],
)
def test_ordinary_conversation_is_no_request(text: str) -> None:
    assert parse(text) is None


def test_a_reply_fallback_quote_is_ignored() -> None:
    assert ShowHelp() == parse("> <@jan:example.org> iets\n> meer\n\n!help")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Afspraak: flyers maken voor de buurtschouw @jan voor 15 maart",
            RecordAgreement("flyers maken voor de buurtschouw", JAN, date(2027, 3, 15)),
        ),
        (
            "Afspraak: @jan:example.org belt de gemeente binnen 2 weken",
            RecordAgreement("belt de gemeente", "@jan:example.org", date(2027, 3, 24)),
        ),
        (
            "Afspraak: zaal regelen @piet tot vrijdag",
            RecordAgreement("zaal regelen", PIET, date(2027, 3, 12)),
        ),
        (
            "Afspraak: zaal regelen @piet uiterlijk 2027-04-01.",
            RecordAgreement("zaal regelen", PIET, date(2027, 4, 1)),
        ),
        (
            "Afspraak: zaal regelen @piet uiterlijk op 2027-04-01",
            RecordAgreement("zaal regelen", PIET, date(2027, 4, 1)),
        ),
        (
            "Agreement: call the city @anna by friday",
            RecordAgreement("call the city", ANNA, date(2027, 3, 12)),
        ),
        (
            "afspraak: koffie kopen @piet vrijdag",
            RecordAgreement("koffie kopen", PIET, date(2027, 3, 12)),
        ),
    ],
)
def test_afspraak_with_owner_and_date(text: str, expected: RecordAgreement) -> None:
    assert expected == parse(text)


def test_afspraak_without_owner_or_date_leaves_them_open() -> None:
    assert RecordAgreement("zaal regelen", PIET, None) == parse("Afspraak: zaal regelen @piet")
    assert RecordAgreement("zaal regelen", None, date(2027, 3, 12)) == parse(
        "Afspraak: zaal regelen voor vrijdag"
    )


def test_afspraak_with_an_unreadable_date_names_it() -> None:
    assert RecordAgreement(
        "zaal regelen voor de bijeenkomst", PIET, None, "de bijeenkomst", DueProblem.UNREADABLE
    ) == parse("Afspraak: zaal regelen @piet voor de bijeenkomst")


def test_afspraak_owner_from_a_mention_pill() -> None:
    mentions = pills(
        'Afspraak: <a href="https://matrix.to/#/%40jan%3Aexample.org">Jan de Vries</a> belt'
    )
    assert (Mention("Jan de Vries", "@jan:example.org"),) == mentions
    request = parse("Afspraak: Jan de Vries belt de gemeente voor vrijdag", mentions)
    assert RecordAgreement("belt de gemeente", "@jan:example.org", date(2027, 3, 12)) == request


def test_an_e_mail_address_is_no_owner() -> None:
    request = parse("Afspraak: mail info@gemeente.nl voor vrijdag")
    assert RecordAgreement("mail info@gemeente.nl", None, date(2027, 3, 12)) == request


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("!help", ShowHelp()),
        ("!hulp", ShowHelp()),
        ("!HELP", ShowHelp()),
        ("!agenda", ShowAgenda(None)),
        ("!agenda 2027-05-18", ShowAgenda("2027-05-18")),
        ("!agenda kerngroep", ShowAgenda("kerngroep")),
        ("!deadlines", ShowDeadlines()),
        ("!termijnen", ShowDeadlines()),
        ("!afspraken", ShowAgreements()),
        ("!agreements", ShowAgreements()),
        ("!klaar 3", MarkDone(AgreementId(3))),
        ("!klaar A-3", MarkDone(AgreementId(3))),
        ("!done a3", MarkDone(AgreementId(3))),
        ("!kan-niet A-3 geen tijd gehad", CannotKeep(AgreementId(3), "geen tijd gehad")),
        ("!cannot 3 no budget", CannotKeep(AgreementId(3), "no budget")),
        ("!verplaats WB-12 2027-05-18", MoveItem(ItemId(12), "2027-05-18")),
        ("!move #12 18 mei", MoveItem(ItemId(12), "18 mei")),
        ("!intrekken 12", WithdrawItem(ItemId(12))),
        ("!withdraw WB-12", WithdrawItem(ItemId(12))),
        ("!accepteer 12", AcceptItem(ItemId(12))),
        ("!accept 12", AcceptItem(ItemId(12))),
        ("!weiger 12", RejectItem(ItemId(12))),
        ("!reject 12 reclame", RejectItem(ItemId(12), "reclame")),
        ("!besluitrijp 12 ter-bespreking", KeepForDiscussion(ItemId(12))),
        ("!decision-ready 12 for-discussion", KeepForDiscussion(ItemId(12))),
        ("!vertrouwelijk WB-12", MarkConfidential(ItemId(12))),
        ("!Vertrouwelijk 12", MarkConfidential(ItemId(12))),
        ("!confidential #12", MarkConfidential(ItemId(12), confidential=True)),
        ("!openbaar WB-12", MarkConfidential(ItemId(12), confidential=False)),
        ("!public wb12", MarkConfidential(ItemId(12), confidential=False)),
    ],
)
def test_commands_and_their_english_aliases(text: str, expected: Request) -> None:
    assert expected == parse(text)


def _spec(name: str) -> CommandSpec:
    return next(spec for spec in COMMANDS if spec.name == name)


@pytest.mark.parametrize(
    ("text", "name", "problem"),
    [
        ("!kan-niet 3", "kan-niet", MOTIVATION_MISSING),
        ("!kan-niet", "kan-niet", None),
        ("!klaar", "klaar", None),
        ("!klaar drie", "klaar", None),
        ("!verplaats 12", "verplaats", None),
        ("!intrekken", "intrekken", None),
        ("!accepteer x", "accepteer", None),
        ("!besluitrijp 12", "besluitrijp", ONLY_FOR_DISCUSSION),
        ("!besluitrijp 12 besluitrijp", "besluitrijp", ONLY_FOR_DISCUSSION),
        ("!vertrouwelijk", "vertrouwelijk", None),
        ("!confidential de huurzaak", "vertrouwelijk", None),
        ("!vertrouwelijk WB-12 WB-13", "vertrouwelijk", None),
        ("!public", "openbaar", None),
    ],
)
def test_wrong_arguments_name_the_command(text: str, name: str, problem: str | None) -> None:
    assert BadCommand(_spec(name), problem) == parse(text)


def test_an_unknown_command_gets_the_closest_known_one() -> None:
    assert UnknownCommand("agneda", "agenda") == parse("!agneda")
    assert UnknownCommand("foo", None) == parse("!foo")


def test_every_command_has_a_parser_and_unique_words() -> None:
    words = [w for spec in COMMANDS for w in (spec.name, *spec.aliases)]
    assert len(words) == len(set(words))
    for spec in COMMANDS:
        assert not isinstance(parse(f"!{spec.name}"), UnknownCommand)


@pytest.mark.parametrize(("key", "pin"), [("📌", True), ("📌\ufe0f", True), ("✅", False)])
def test_pin_with_or_without_variation_selector(key: str, pin: bool) -> None:
    assert pin is is_pin(key)
