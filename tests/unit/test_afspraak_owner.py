"""An afspraak's owner named by Matrix id must be a member of the room it is recorded in
(security finding 5): a pill or a typed id of anyone else is asked about, bilingually,
and nothing is recorded; an owner named by mail address needs no room."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from daemon.chat.afspraak import (
    NotInRoom,
    RecordAgreement,
    owner_in_room,
    owner_is_matrix_id,
    parse_agreement,
    pills,
)
from daemon.chat.replies import agreement_question
from daemon.rules.names import Names, has_phone_number

TZ = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2027, 1, 11, 10, 0, tzinfo=TZ)  # a Monday; "vrijdag" is 15 January
FRIDAY = date(2027, 1, 15)
BOB, JAN = "@bob:example.org", "@jan:example.org"
IN_ROOM = frozenset({BOB, JAN, "@wijkbode:example.org"})
NAMES = Names({BOB: "Bob", JAN: "Jan"})


def checked(text: str, formatted: str | None = None) -> RecordAgreement:
    """Parse as the core room does, then hold the owner against its members."""
    parsed = parse_agreement(text, NOW, pills(formatted), members=NAMES)
    return owner_in_room(parsed, IN_ROOM)


def test_a_pill_to_someone_outside_the_room_is_asked_about_not_recorded() -> None:
    agreement = checked(
        "flyers Bob voor vrijdag",
        "flyers <a href='https://matrix.to/#/@bob%3Aevil.test'>Bob</a> voor vrijdag",
    )
    assert agreement.owner is None
    assert agreement.owner_problem == NotInRoom("@bob:evil.test")
    # The rest is read as always, so the question asks only about the owner.
    assert (agreement.what, agreement.due) == ("flyers", FRIDAY)


def test_a_typed_matrix_id_of_someone_outside_the_room_is_asked_about() -> None:
    agreement = checked("flyers @mallory:evil.test voor vrijdag")
    assert (agreement.owner, agreement.owner_problem) == (None, NotInRoom("@mallory:evil.test"))


def test_a_pill_or_typed_id_of_a_member_is_the_owner() -> None:
    pill = checked(
        "flyers Bob voor vrijdag",
        "flyers <a href='https://matrix.to/#/@bob%3Aexample.org'>Bob</a> voor vrijdag",
    )
    assert (pill.owner, pill.owner_problem, pill.due) == (BOB, None, FRIDAY)
    assert checked("flyers @jan:example.org voor vrijdag").owner == JAN
    assert checked("flyers @Bob voor vrijdag").owner == BOB  # a typed display name


def test_a_typed_id_differing_only_in_case_is_the_member() -> None:
    assert checked("flyers @Jan:Example.org voor vrijdag").owner == JAN


def test_a_mail_address_owner_needs_no_room() -> None:
    agreement = checked("flyers @piet@partner.test voor vrijdag")
    assert (agreement.owner, agreement.owner_problem) == ("piet@partner.test", None)
    assert not owner_is_matrix_id(agreement)


def test_no_owner_and_a_typed_unknown_name_stay_as_they_were() -> None:
    missing = parse_agreement("flyers voor vrijdag", NOW, members=NAMES)
    assert owner_in_room(missing, IN_ROOM) is missing
    unknown = parse_agreement("flyers @Piet voor vrijdag", NOW, members=NAMES)
    assert owner_in_room(unknown, IN_ROOM) is unknown


def test_the_question_names_the_id_and_tells_how_to_name_an_owner() -> None:
    agreement = checked(
        "flyers Bob voor vrijdag",
        "flyers <a href='https://matrix.to/#/@bob%3Aevil.test'>Bob</a> voor vrijdag",
    )
    nl, en = agreement_question(agreement, TZ).body.split("— English —")
    assert "is geen lid van deze room" in nl
    assert "Kies het lid uit de @-suggesties" in nl
    assert "@ en het mailadres" in nl
    assert "nog niets genoteerd" in nl
    assert "is not a member of this room" in en
    assert "write @ and their mail address" in en
    # The id the pill linked to, shown so its @ pings nobody (a word joiner after it).
    assert "bob:evil.test" in nl
    assert "@bob:evil.test" not in nl


def test_the_question_never_shows_a_phone_number_from_the_id() -> None:
    agreement = checked("flyers @whatsapp_31612345678:wa.example.org voor vrijdag")
    assert isinstance(agreement.owner_problem, NotInRoom)
    question = agreement_question(agreement, TZ).body
    assert not has_phone_number(question), question
