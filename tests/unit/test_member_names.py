"""Members named as the room knows them: display names, numbered when equal, never a
phone number; a typed @name matched against them (issue 15)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from daemon.chat.afspraak import parse_agreement
from daemon.chat.replies import agreement_question
from daemon.publish.scheduled import owner_address
from daemon.rules.names import Ambiguous, Match, Names, Unknown, has_phone_number

TZ = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2027, 1, 11, 10, 0, tzinfo=TZ)  # a Monday
BOB = "@whatsapp_31612345678:wa.example.org"
BOB2 = "@whatsapp_31687654321:wa.example.org"
ANNA = "@whatsapp_31600000001:wa.example.org"
JAN = "@jan:example.org"
MEMBERS = Names({BOB: "Bob (WA)", ANNA: "Anna de Vries (WA)", JAN: "Jan"})


def test_a_member_is_shown_by_display_name() -> None:
    assert MEMBERS.of(BOB) == "Bob (WA)"
    assert MEMBERS.of(JAN) == "Jan"


def test_equal_display_names_are_numbered_without_ids() -> None:
    names = Names({BOB: "Bob (WA)", BOB2: "Bob (WA)"})
    shown = {names.of(BOB), names.of(BOB2)}
    assert shown == {"Bob (WA)", "Bob (WA) (2)"}
    assert not any(has_phone_number(name) for name in shown)


def test_an_unknown_puppet_is_never_shown_by_its_phone_number() -> None:
    shown = Names().of(BOB)
    assert "31612345678" not in shown
    assert not has_phone_number(shown)
    assert shown != Names().of(BOB2)  # two unknown members still differ


def test_a_puppet_named_by_its_number_is_hidden_too() -> None:
    for number in ("+31 612345678", "+31 6 1234 5678 (WA)", "06-12345678", "+31612345678"):
        shown = Names({BOB: number}).of(BOB)
        assert not has_phone_number(shown), shown
        assert "1234" not in shown
    assert Names({JAN: "Jan 06-1234 5678"}).of(JAN) == "Jan …"
    assert Names({JAN: "Jan 2"}).of(JAN) == "Jan 2"  # a short number is no phone number


def test_mail_addresses_and_plain_ids_stay_as_they_are() -> None:
    assert Names().of("partner@example.org") == "partner@example.org"
    assert Names().of(JAN) == JAN
    assert Names().of("Bob") == "Bob"  # an owner typed before names were known


def test_typed_name_matches_with_or_without_the_bridge_suffix() -> None:
    assert MEMBERS.match("Bob voor vrijdag") == Match(BOB, 3)
    assert MEMBERS.match("Bob (WA) voor vrijdag") == Match(BOB, 8)
    assert MEMBERS.match("anna de vries voor vrijdag") == Match(ANNA, 13)


def test_typed_name_must_end_where_the_name_ends() -> None:
    assert MEMBERS.match("Bobby voor vrijdag") == Unknown("Bobby")


def test_typed_name_of_two_members_is_ambiguous() -> None:
    names = Names({BOB: "Bob (WA)", BOB2: "Bob (WA)"})
    found = names.match("Bob voor vrijdag")
    assert isinstance(found, Ambiguous)
    assert found.names == ("Bob (WA)", "Bob (WA) (2)")


def test_afspraak_with_typed_name_gets_the_member() -> None:
    agreement = parse_agreement("Ladder lenen @Bob voor vrijdag", NOW, members=MEMBERS)
    assert agreement.owner == BOB
    assert agreement.what == "Ladder lenen"
    assert agreement.due == date(2027, 1, 15)


def test_afspraak_with_a_whole_display_name() -> None:
    agreement = parse_agreement("Flyers @Anna de Vries (WA) voor vrijdag", NOW, members=MEMBERS)
    assert (agreement.owner, agreement.what) == (ANNA, "Flyers")


def test_afspraak_with_unknown_name_asks_bilingually() -> None:
    agreement = parse_agreement("Ladder @Piet voor vrijdag", NOW, members=MEMBERS)
    assert agreement.owner is None
    assert agreement.owner_problem == Unknown("Piet")
    question = agreement_question(agreement, TZ).body
    assert "Piet" in question
    assert "Wie bedoel je?" in question
    assert "Who do you mean?" in question


def test_afspraak_with_ambiguous_name_asks_which_one() -> None:
    names = Names({BOB: "Bob (WA)", BOB2: "Bob (WA)"})  # ambiguous asks in any room
    agreement = parse_agreement("Ladder @Bob voor vrijdag", NOW, members=names)
    assert agreement.owner is None
    assert isinstance(agreement.owner_problem, Ambiguous)
    question = agreement_question(agreement, TZ).body
    assert "Bob (WA) (2)" in question
    assert "31612345678" not in question


def test_afspraak_without_known_names_asks_who_is_meant() -> None:
    agreement = parse_agreement("Ladder @Bob voor vrijdag", NOW)
    assert (agreement.owner, agreement.owner_problem) == (None, Unknown("Bob"))


def test_in_a_plain_matrix_room_an_unknown_name_asks_too() -> None:
    names = Names({BOB: "Bob (WA)", JAN: "Jan"})  # a room not bridged to WhatsApp
    agreement = parse_agreement("Ladder @Piet voor vrijdag", NOW, members=names)
    assert (agreement.owner, agreement.owner_problem, agreement.what) == (
        None,
        Unknown("Piet"),
        "Ladder",
    )
    assert agreement.due == date(2027, 1, 15)  # the date is kept for the answer's sake
    assert parse_agreement("Ladder @Bob voor vrijdag", NOW, members=names).owner == BOB


def test_the_question_for_an_unknown_name_tells_how_to_name_an_owner() -> None:
    agreement = parse_agreement("Ladder @Piet voor vrijdag", NOW, members=MEMBERS)
    nl, en = agreement_question(agreement, TZ).body.split("— English —")
    assert "Kies het lid uit de @-suggesties" in nl
    assert "@ en het mailadres" in nl
    assert "Pick the member from the @ suggestions" in en
    assert "write @ and their mail address" in en


def test_an_owner_outside_the_room_is_named_by_mail_address() -> None:
    agreement = parse_agreement(
        "Flyers drukken @Piet@Partner.test voor vrijdag.", NOW, members=MEMBERS
    )
    assert (agreement.owner, agreement.owner_problem) == ("piet@partner.test", None)
    assert (agreement.what, agreement.due) == ("Flyers drukken", date(2027, 1, 15))
    assert owner_address(agreement.owner or "") == "piet@partner.test"  # reminded by mail
    # Without members known the address still names the owner.
    assert parse_agreement("Flyers @piet@partner.test voor vrijdag", NOW).owner == (
        "piet@partner.test"
    )


def test_a_bare_mail_address_is_what_was_agreed_not_the_owner() -> None:
    agreement = parse_agreement("info@gemeente.nl mailen @Jan voor vrijdag", NOW, members=MEMBERS)
    assert (agreement.owner, agreement.what) == (JAN, "info@gemeente.nl mailen")
