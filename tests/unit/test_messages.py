"""Every moment's message from its templates (daemon/publish/messages), pure: no I/O.

Dates in words, Dutch first and English below, the niet-besluitrijp marks with their
reason, the channel limits, who speaks and how to answer, what a public surface may
hear, the empty addendum skipped, and the afspraak reminders to their owners.
"""

from __future__ import annotations

import json
import re
from dataclasses import fields, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir

from daemon.i18n import translations
from daemon.model import (
    Agreement,
    AgreementId,
    AgreementStatus,
    Item,
    ItemId,
    ItemStatus,
    Kind,
    Meeting,
    MeetingId,
    Series,
    SeriesId,
    SeriesRules,
)
from daemon.ports.outbox import ChannelName, ChatPost, MailOut
from daemon.ports.public import PublicDecision
from daemon.publish.decisions import DecisionRow
from daemon.publish.messages import (
    MATRIX_CONTENT_LIMIT,
    SUBJECT_LIMIT,
    DocumentLine,
    ItemLine,
    MeetingFacts,
    Sender,
    matrix_content_size,
    render_meeting,
)
from daemon.publish.scheduled import (
    EMPTY_ADDENDUM,
    FireContext,
    Targets,
    agreement_destinations,
    agreement_effects,
    meeting_effects,
    skip_reason,
)
from daemon.rules.defaults import BEWONERSBIJEENKOMST, KERNGROEP, WIJKALLIANTIE
from daemon.rules.moments import AGREEMENT_OVERDUE, AGREEMENT_REMINDER
from daemon.store.decisions import StoredAdvice, StoredDecision, StoredPoll
from daemon.store.engine import Job, JobStatus, SubjectType

AMS = ZoneInfo("Europe/Amsterdam")
TEMPLATES = Path(__file__).resolve().parents[2] / "daemon" / "publish" / "messages" / "templates"
START = datetime(2027, 3, 9, 17, 0, tzinfo=AMS)  # dinsdag 9 maart 2027, 17:00
STUK_DEADLINE = datetime(2027, 2, 23, 17, 0, tzinfo=AMS)
SENDER = Sender("wijkbode@wijk.example.org", "https://wijk.example.org/")
CORE = "!core:wijk.example.org"
ANNOUNCE_ROOM = "!buurt:wijk.example.org"
PARTNER = "gemeente@example.org"
TARGETS = Targets(
    core_room=CORE,
    announce_rooms=(ANNOUNCE_ROOM,),
    partner_addresses=(PARTNER,),
    residents_address="bewoners@lists.example.org",
    mail_domain="wijk.example.org",
    reply_address="wijkbode@wijk.example.org",
)


def series(sid: str, public: bool, rules: SeriesRules) -> Series:
    return Series(
        SeriesId(sid), sid.capitalize(), public, rules, timedelta(hours=2), "Buurthuis",
        public_agenda=public,
    )  # fmt: skip


ALLIANTIE = series("wijkalliantie", True, WIJKALLIANTIE)
BEWONERS = series("bewonersbijeenkomst", True, BEWONERSBIJEENKOMST)
KERN = series("kerngroep", False, KERNGROEP)


def meeting(of: Series) -> Meeting:
    return Meeting(
        MeetingId(f"{of.id}-2027-03-09"), of.id, of.title, START, START + timedelta(hours=2),
        "Buurthuis De Punt",
    )  # fmt: skip


def job(moment: str, channel: ChannelName, due: datetime, target: datetime = START) -> Job:
    return Job(
        1, f"meeting/x/{moment}/{channel.value}", SubjectType.MEETING, "x", moment, channel,
        due, target, START, JobStatus.PENDING, None, "", due, due,
    )  # fmt: skip


def item(
    number: int,
    kind: Kind,
    title: str,
    received: datetime,
    *,
    late: bool = False,
    ready: bool = True,
    status: ItemStatus = ItemStatus.FILED,
    confidential: bool = False,
) -> Item:
    return Item(
        ItemId(number), kind, title, "a@example.org", received, MeetingId("x"), late, ready,
        status, "mail", confidential=confidential,
    )  # fmt: skip


def facts(template: str, **fields: object) -> MeetingFacts:
    return MeetingFacts(
        template, "Wijkalliantie", START, START + timedelta(hours=2), "Buurthuis De Punt",
        **fields,  # type: ignore[arg-type]
    )  # fmt: skip


def dutch_and_english(text: str) -> tuple[str, str]:
    dutch, rule, english = text.partition("\n\n— English —\n")
    assert rule, text
    return dutch, english


# --- wording ------------------------------------------------------------------------


def test_a_deadline_reminder_says_what_until_when_in_words_and_where() -> None:
    message = render_meeting(
        facts("deadline_reminder", deadline=(Kind.STUK, STUK_DEADLINE)), "mail", SENDER, AMS
    )
    dutch, english = dutch_and_english(message.text)
    assert "Tot dinsdag 23 februari 2027, 17:00 kun je nog stukken ter bespreking of " in dutch
    assert "Stuur het naar wijkbode@wijk.example.org" in dutch
    assert "niet besluitrijp" in dutch
    assert "Until Tuesday 23 February 2027, 17:00 you can still send stukken" in english
    assert message.subject == (
        "Herinnering termijn: Wijkalliantie, dinsdag 9 maart 2027, 17:00 / Deadline reminder"
    )


def test_the_concept_agenda_lists_the_items_and_the_deadlines_still_open() -> None:
    items = (ItemLine("WB-1", Kind.AGENDAPUNT, "Bankjes in het park", START - timedelta(30)),)
    open_deadlines = ((Kind.AGENDAPUNT, START - timedelta(days=15)), (Kind.STUK, STUK_DEADLINE))
    message = render_meeting(
        facts("concept_agenda", items=items, open_deadlines=open_deadlines), "mail", SENDER, AMS
    )
    dutch, english = dutch_and_english(message.text)
    assert dutch.startswith("Concept-agenda van Wijkalliantie op dinsdag 9 maart 2027, 17:00:")
    assert "1. WB-1 Bankjes in het park (agendapunt)" in dutch
    assert "- nieuwe agendapunten tot maandag 22 februari 2027, 17:00" in dutch
    assert "- stukken ter bespreking of besluitvorming tot dinsdag 23 februari 2027, 17:00" in dutch
    assert "- new agenda points until Monday 22 February 2027, 17:00" in english
    assert "wijkbode@wijk.example.org" in dutch


def test_a_late_stuk_is_marked_niet_besluitrijp_with_its_reason_everywhere_it_is_listed() -> None:
    late = ItemLine(
        "WB-7", Kind.STUK, "Begroting speeltuin", datetime(2027, 2, 25, 10, 0, tzinfo=AMS),
        late=True, not_ready=True,
    )  # fmt: skip
    kept = ItemLine(
        "WB-8", Kind.STUK, "Verkeersplan", datetime(2027, 2, 24, 9, 0, tzinfo=AMS),
        late=True, not_ready=True, for_discussion=True,
    )  # fmt: skip
    fine = ItemLine("WB-9", Kind.STUK, "Jaarverslag", datetime(2027, 2, 1, tzinfo=AMS))
    message = render_meeting(
        facts("definitive_agenda", items=(late, kept, fine), stuk_deadline=STUK_DEADLINE),
        "matrix", SENDER, AMS,
    )  # fmt: skip
    dutch, english = dutch_and_english(message.text)
    assert (
        "1. WB-7 Begroting speeltuin (stuk; niet besluitrijp: ontvangen donderdag 25 februari "
        "2027, 10:00, na de termijn van dinsdag 23 februari 2027, 17:00)"
    ) in dutch
    assert "2. WB-8 Verkeersplan (stuk; ter bespreking, geen besluit)" in dutch
    assert "3. WB-9 Jaarverslag (stuk)" in dutch
    assert "not ready for decision: received Thursday 25 February 2027, 10:00" in english
    assert "<strong>niet besluitrijp</strong>" in message.html


def test_the_definitive_agenda_lists_the_package_documents_it_is_given() -> None:
    documents = (
        DocumentLine("WB-9", "jaarverslag.pdf", 1_200_000, "https://wijk.example.org/d/tok"),
        DocumentLine("WB-9", "bijlage.pdf", 3_000),
    )
    message = render_meeting(facts("definitive_agenda", documents=documents), "mail", SENDER, AMS)
    dutch, _ = dutch_and_english(message.text)
    assert "De stukken:\n- WB-9 jaarverslag.pdf (1.2 MB): https://wijk.example.org/d/tok" in dutch
    assert "- WB-9 bijlage.pdf (3 kB)" in dutch
    assert '<a href="https://wijk.example.org/d/tok">jaarverslag.pdf</a>' in message.html


def test_every_message_says_who_sends_it_and_how_to_answer_in_both_languages() -> None:
    for template in ("announce", "reminder", "cancelled", "agenda_closed", "folder"):
        dutch, english = dutch_and_english(
            render_meeting(facts(template), "matrix", SENDER, AMS).text
        )
        assert "Van Wijkbode, namens het bewonerscollectief." in dutch
        assert "Schrijf naar wijkbode@wijk.example.org." in dutch
        assert "From Wijkbode, on behalf of the residents' collective." in english
    no_mail = render_meeting(facts("announce"), "matrix", Sender(), AMS).text
    assert "Vragen? Stel ze aan de kerngroep in de chat." in no_mail


def test_sender_text_is_text_not_markup_and_pings_nobody() -> None:
    hostile = ItemLine("WB-3", Kind.AGENDAPUNT, "<script>x</script> @room", START)
    message = render_meeting(facts("concept_agenda", items=(hostile,)), "matrix", SENDER, AMS)
    assert "<script>" not in message.html
    assert "&lt;script&gt;" in message.html
    assert "@room" not in message.text  # defused with a word joiner
    assert "@\u2060room" in message.text


# --- limits -------------------------------------------------------------------------


def test_a_long_agenda_ends_in_en_nog_n_and_fits_one_matrix_event() -> None:
    many = tuple(
        ItemLine(f"WB-{n}", Kind.AGENDAPUNT, "Een lange titel " * 18, START) for n in range(900)
    )
    message = render_meeting(facts("concept_agenda", items=many), "matrix", SENDER, AMS)
    assert matrix_content_size(message.text, message.html) <= MATRIX_CONTENT_LIMIT
    shown = re.findall(r"^\d+\. WB-\d+", dutch_and_english(message.text)[0], re.MULTILINE)
    assert 3 <= len(shown) <= 40
    assert f"… en nog {900 - len(shown)}." in message.text
    assert f"… and {900 - len(shown)} more." in message.text
    # The body the client sends, with its JSON escaping, stays under the event limit.
    assert len(json.dumps({"body": message.text, "formatted_body": message.html})) < 65_536


def test_mail_lists_are_cut_at_forty_with_the_rest_counted() -> None:
    many = tuple(ItemLine(f"WB-{n}", Kind.AGENDAPUNT, f"Punt {n}", START) for n in range(45))
    text = render_meeting(facts("concept_agenda", items=many), "mail", SENDER, AMS).text
    assert "40. WB-39 Punt 39" in text
    assert "41. WB-40" not in text
    assert "… en nog 5." in text


def test_a_long_title_keeps_the_subject_short() -> None:
    message = render_meeting(
        MeetingFacts("announce", "Bijeenkomst " * 40, START, START, "Buurthuis"),
        "mail", SENDER, AMS,
    )  # fmt: skip
    assert len(message.subject) <= SUBJECT_LIMIT
    assert message.subject.startswith("Aankondiging: Bijeenkomst")
    assert message.subject.endswith("…, dinsdag 9 maart 2027, 17:00 / Announcement")


# --- what is sent where -------------------------------------------------------------


def test_an_empty_addendum_is_skipped_and_one_with_a_new_item_is_not() -> None:
    moment = Kind.TER_KENNISGEVING.value
    before_package = item(1, Kind.TER_KENNISGEVING, "Jaarverslag", STUK_DEADLINE - timedelta(1))
    other_kind = item(2, Kind.STUK, "Laat stuk", STUK_DEADLINE + timedelta(1), late=True)
    due = START - timedelta(days=7)
    fired = job(moment, ChannelName.MAIL, due)
    agenda = (before_package, other_kind)
    assert skip_reason(fired, meeting(ALLIANTIE), ALLIANTIE, agenda, AMS) == EMPTY_ADDENDUM
    assert skip_reason(fired, meeting(ALLIANTIE), ALLIANTIE, (), AMS) == EMPTY_ADDENDUM
    new = item(3, Kind.TER_KENNISGEVING, "Nieuwsbrief", STUK_DEADLINE + timedelta(days=2))
    assert skip_reason(fired, meeting(ALLIANTIE), ALLIANTIE, (*agenda, new), AMS) is None
    [effect] = meeting_effects(
        fired, meeting(ALLIANTIE), ALLIANTIE, FireContext(AMS, TARGETS, agenda=(*agenda, new))
    )
    assert isinstance(effect.payload, MailOut)
    assert "1. WB-3 Nieuwsbrief" in effect.payload.text
    assert "Jaarverslag" not in effect.payload.text  # it was in the package already
    # Not every moment can be empty: a concept agenda without items still goes out.
    concept = job("concept_agenda", ChannelName.MAIL, START - timedelta(days=21))
    assert skip_reason(concept, meeting(ALLIANTIE), ALLIANTIE, (), AMS) is None


def test_a_confidential_item_reaches_the_core_room_but_not_the_announce_room() -> None:
    agenda = (
        item(1, Kind.AGENDAPUNT, "Speeltuin", START - timedelta(40)),
        item(
            2, Kind.AGENDAPUNT, "Burenruzie Dorpsstraat", START - timedelta(40), confidential=True
        ),
    )
    announce = job("announce", ChannelName.MATRIX, START - timedelta(days=28))
    effects = meeting_effects(
        announce, meeting(BEWONERS), BEWONERS, FireContext(AMS, TARGETS, agenda=agenda)
    )
    posts = {e.destination: e.payload for e in effects}
    assert set(posts) == {CORE, ANNOUNCE_ROOM}
    core, public = posts[CORE], posts[ANNOUNCE_ROOM]
    assert isinstance(core, ChatPost)
    assert isinstance(public, ChatPost)
    assert "Burenruzie" in core.body
    assert "Speeltuin" in core.body
    assert "Burenruzie" not in public.body + public.html
    assert "Speeltuin" in public.body
    assert public.body.startswith("Bewonersbijeenkomst op dinsdag 9 maart 2027, 17:00")


def test_the_kerngroep_overview_lists_items_agreements_due_and_kan_niet_motivations() -> None:
    agreements = (
        agreement(1, "Huurcommissie bellen", "Bob", date(2027, 3, 5)),
        agreement(2, "Zaal boeken", "Ans", date(2027, 6, 1)),  # not due by the meeting
        agreement(
            3, "Subsidie aanvragen", "Cor", date(2027, 2, 20), AgreementStatus.CANNOT,
            motivation="De regeling is gestopt.", closed=START - timedelta(days=10),
        ),
    )  # fmt: skip
    agenda = (item(1, Kind.AGENDAPUNT, "Jaarplanning", START - timedelta(5)),)
    reminder = job("reminder:meeting", ChannelName.MATRIX, START - timedelta(days=2))
    [effect] = meeting_effects(
        reminder, meeting(KERN), KERN,
        FireContext(AMS, TARGETS, agenda=agenda, agreements=agreements),
    )  # fmt: skip
    assert effect.destination == CORE  # private: the core room only
    assert isinstance(effect.payload, ChatPost)
    dutch, english = dutch_and_english(effect.payload.body)
    assert dutch.startswith("Kerngroep vergadert op dinsdag 9 maart 2027, 17:00")
    assert "1. WB-1 Jaarplanning (agendapunt)" in dutch
    assert "- A-1 “Huurcommissie bellen”, Bob, af op vrijdag 5 maart 2027" in dutch
    assert "Zaal boeken" not in dutch
    assert "A-3 “Subsidie aanvragen”, Cor, af op zaterdag 20 februari 2027: De regeling" in dutch
    assert "Agreements due:" in english


def agreement(
    number: int,
    what: str,
    owner: str,
    due: date,
    status: AgreementStatus = AgreementStatus.OPEN,
    *,
    motivation: str | None = None,
    closed: datetime | None = None,
) -> Agreement:
    return Agreement(
        AgreementId(number), what, owner, due, status, motivation,
        datetime(2027, 1, 1, tzinfo=UTC), closed_at=closed,
    )  # fmt: skip


def test_the_owner_gets_the_reminder_by_mail_or_direct_chat_the_room_the_overdue_report() -> None:
    owner = "piet@example.org"
    assert agreement_destinations(TARGETS, AGREEMENT_REMINDER, owner) == {
        ChannelName.MAIL: (owner,)
    }
    assert agreement_destinations(TARGETS, AGREEMENT_OVERDUE, owner) == {
        ChannelName.MATRIX: (CORE,)
    }
    # A member gets it in a direct chat (the destination is their id); a bridged phone
    # number, or a plain name, is named in the core room instead.
    assert agreement_destinations(TARGETS, AGREEMENT_REMINDER, "@bob:wijk.example.org") == {
        ChannelName.MATRIX: ("@bob:wijk.example.org",)
    }
    puppet = "@whatsapp_31612345678:wijk.example.org"
    assert agreement_destinations(TARGETS, AGREEMENT_REMINDER, puppet) == {
        ChannelName.MATRIX: (CORE,)
    }
    assert agreement_destinations(TARGETS, AGREEMENT_REMINDER, "Bob") == {
        ChannelName.MATRIX: (CORE,)
    }
    assert agreement_destinations(TARGETS, AGREEMENT_OVERDUE, "@bob:wijk.example.org") == {
        ChannelName.MATRIX: (CORE,)
    }
    due = date(2027, 3, 5)
    reminder = job(AGREEMENT_REMINDER, ChannelName.MAIL, datetime(2027, 2, 26, 9, tzinfo=AMS))
    [mail] = agreement_effects(
        reminder, agreement(4, "Flyers drukken", owner, due), FireContext(AMS, TARGETS)
    )
    assert mail.destination == owner
    assert isinstance(mail.payload, MailOut)
    dutch, english = dutch_and_english(mail.payload.text)
    assert dutch.startswith(
        "Herinnering: je afspraak A-4 “Flyers drukken” moet af zijn op vrijdag 5 maart 2027."
    )
    assert "!kan-niet A-4" in dutch
    assert "Reminder: your agreement A-4 “Flyers drukken” is due on Friday 5 March 2027." in english
    assert mail.payload.html is not None
    assert mail.payload.html.startswith("<!DOCTYPE html>")


def test_every_text_of_the_templates_has_a_dutch_translation() -> None:
    method_map = [("**.txt", "jinja2.ext:babel_extract"), ("**.html", "jinja2.ext:babel_extract")]
    found = {
        message if isinstance(message, str) else message[0]
        for _f, _l, message, _c, _x in extract_from_dir(
            TEMPLATES, method_map=method_map, keywords=dict(DEFAULT_KEYWORDS)
        )
    }
    dutch = translations("nl")
    assert len(found) > 30
    assert sorted(m for m in found if dutch.gettext(m) == m) == []


def test_the_kerngroep_overview_lists_the_decisions_waiting() -> None:
    poll = StoredPoll(
        1, "decision", ItemId(4), MeetingId("kerngroep-2027-03-09"), CORE,
        "Besluit over WB-4: “Bankjes”?", (("voor", "voor"),), frozenset({"@a:x"}), "k",
        "@a:x", START - timedelta(days=5), datetime(2027, 3, 10, 12, 0, tzinfo=AMS), None, None,
    )  # fmt: skip
    given = {
        "id": 1, "decision": 1, "partner": "Gemeente", "address": None, "due": date(2027, 3, 20),
        "requested_by": "@a:x", "requested_at": START - timedelta(days=9), "motivation": None,
        "answered_at": None,
    }  # fmt: skip
    # By name, the fields this test does not care about left empty.
    advice = StoredAdvice(**{f.name: given.get(f.name) for f in fields(StoredAdvice)})
    reminder = job("reminder:meeting", ChannelName.MATRIX, START - timedelta(days=2))
    context = FireContext(AMS, TARGETS, polls=(poll,), advice=(advice,))
    [effect] = meeting_effects(reminder, meeting(KERN), KERN, context)
    assert isinstance(effect.payload, ChatPost)
    dutch, english = dutch_and_english(effect.payload.body)
    assert "Besluiten die wachten:\n- Besluit over WB-4: “Bankjes”? (de stemming sluit " in dutch
    assert "woensdag 10 maart 2027, 12:00)" in dutch
    assert "- Niet-bindend advies: Gemeente is uiterlijk zaterdag 20 maart 2027 een " in dutch
    assert "Decisions waiting:" in english
    empty = meeting_effects(reminder, meeting(KERN), KERN, FireContext(AMS, TARGETS))
    assert isinstance(empty[0].payload, ChatPost)
    assert "Besluiten die wachten:\nGeen." in empty[0].payload.body


def test_a_moved_notice_says_when_the_meeting_was_planned_before() -> None:
    before = datetime(2027, 3, 2, 19, 30, tzinfo=AMS)
    notice = job("moved_notice", ChannelName.MATRIX, START - timedelta(days=20))
    [effect] = meeting_effects(
        notice,
        meeting(KERN),
        KERN,
        FireContext(AMS, TARGETS, carried=(CORE,), previous_start=before),
    )
    assert isinstance(effect.payload, ChatPost)
    dutch, english = dutch_and_english(effect.payload.body)
    assert dutch.startswith("Verplaatst: Kerngroep is nu op dinsdag 9 maart 2027, 17:00")
    assert "Eerder gepland op dinsdag 2 maart 2027, 19:30." in dutch
    assert "It was planned for Tuesday 2 March 2027, 19:30." in english


# The tags the Matrix spec lists for formatted bodies (m.room.message, org.matrix.custom.html).
MATRIX_TAGS = {
    "font", "del", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "p", "a", "ul", "ol",
    "sup", "sub", "li", "b", "i", "u", "strong", "em", "strike", "code", "hr", "br", "div",
    "table", "thead", "tbody", "tr", "th", "td", "caption", "pre", "span", "img", "details",
    "summary",
}  # fmt: skip


def test_every_formatted_message_uses_only_tags_matrix_clients_render() -> None:
    items = (ItemLine("WB-1", Kind.STUK, "Plan", START, late=True, not_ready=True),)
    documents = (DocumentLine("WB-1", "plan.pdf", 2000, "https://wijk.example.org/d/x"),)
    templates = sorted({p.stem for p in TEMPLATES.glob("*.html") if not p.stem.startswith("_")})
    assert len(templates) >= 15
    for template in templates:
        if template.startswith("agreement_"):
            continue
        message = render_meeting(
            facts(
                template, items=items, documents=documents,
                deadline=(Kind.STUK, STUK_DEADLINE), open_deadlines=((Kind.STUK, STUK_DEADLINE),),
            ),
            "matrix", SENDER, AMS,
        )  # fmt: skip
        tags = set(re.findall(r"</?([a-z0-9]+)", message.html))
        assert tags <= MATRIX_TAGS, (template, tags - MATRIX_TAGS)


# --- the besluitenlijst in the partners' agenda mails (issue 12, point 4) ---------------

PREVIOUS_START = datetime(2027, 2, 9, 19, 30, tzinfo=AMS)


def _previous(of: Series) -> Meeting:
    return Meeting(
        MeetingId(f"{of.id}-2027-02-09"), of.id, of.title, PREVIOUS_START,
        PREVIOUS_START + timedelta(hours=2), "Buurthuis De Punt",
    )  # fmt: skip


def _decided(number: int, title: str, *, confidential: bool = False) -> DecisionRow:
    """An item of the previous meeting decided 50%+1 with weights, and its decision."""
    decided_item = item(
        number, Kind.AGENDAPUNT, title, PREVIOUS_START - timedelta(30), confidential=confidential
    )
    decision = StoredDecision(
        number, ItemId(number), MeetingId("wijkalliantie-2027-02-09"), "meeting", None,
        "adopted", {"bewoners": {"voor": 3, "tegen": 1, "onthouding": 0},
                    "partners": {"voor": 0, "tegen": 2, "onthouding": 1}},
        {"bewoners": 2, "partners": 1}, (), "@a:x", PREVIOUS_START + timedelta(hours=1),
    )  # fmt: skip
    return DecisionRow(decision, decided_item)


def test_the_concept_agenda_renders_the_previous_meetings_decisions() -> None:
    decided = PublicDecision(
        "WB-3", "Bankjes in het park", "adopted", (("bewoners", 3, 1, 0), ("partners", 0, 2, 1)),
        (("bewoners", 2), ("partners", 1)), advice_partner="Gemeente",
        advice_due=date(2027, 3, 1), motivation="Geen budget dit jaar.",
    )  # fmt: skip
    message = render_meeting(
        facts("concept_agenda", previous=("Wijkalliantie", PREVIOUS_START), decided=(decided,)),
        "mail", SENDER, AMS,
    )  # fmt: skip
    dutch, english = dutch_and_english(message.text)
    assert (
        "Besluitenlijst van de vorige vergadering, Wijkalliantie op dinsdag 9 februari 2027, "
        "19:30:\n- WB-3 “Bankjes in het park”: " in dutch
    )
    assert "Decisions of the previous meeting, Wijkalliantie on Tuesday 9 February 2027" in english
    assert "adopted by the 50%+1 rule" in english  # the rule that decided
    line = next(line for line in english.splitlines() if line.startswith("- WB-3"))
    for counted in ("3", "1", "2"):  # the counts and the weights, worded as on the page
        assert counted in line
    assert "Gemeente answered: Geen budget dit jaar." in line
    assert "<li>WB-3 <strong>Bankjes in het park</strong>: " in message.html
    nothing = render_meeting(facts("concept_agenda"), "mail", SENDER, AMS)
    assert "vorige vergadering" not in nothing.text


def test_the_partners_agenda_mails_carry_the_public_decisions_never_a_confidential_one() -> None:
    rows = (
        _decided(3, "Bankjes in het park"),
        _decided(4, "Burenruzie Dorpsstraat", confidential=True),
    )
    context = FireContext(AMS, TARGETS, previous=_previous(ALLIANTIE), decided=rows)
    for moment, due in (("concept_agenda", 21), (Kind.STUK.value, 14)):
        fired = job(moment, ChannelName.MAIL, START - timedelta(days=due))
        mails = {e.destination: e.payload for e in meeting_effects(
            fired, meeting(ALLIANTIE), ALLIANTIE, context
        )}  # fmt: skip
        partner = mails[PARTNER]
        assert isinstance(partner, MailOut)
        assert "Besluitenlijst van de vorige vergadering" in partner.text, moment
        assert "WB-3 “Bankjes in het park”" in partner.text
        assert "Burenruzie" not in partner.text + (partner.html or "")
        assert "WB-4" not in partner.text
    # A series whose agenda is not public: its decisions are not in the mail at all.
    closed = replace(ALLIANTIE, public_agenda=False)
    fired = job("concept_agenda", ChannelName.MAIL, START - timedelta(days=21))
    [partner_only] = [
        e.payload
        for e in meeting_effects(fired, meeting(closed), closed, context)
        if e.destination == PARTNER
    ]
    assert isinstance(partner_only, MailOut)
    assert "Bankjes" not in partner_only.text
