"""How Wijkbode's chat answers read: bilingual (Dutch first), plain text and HTML side by side.

Every field a sender chose (a title, a name, a motivation) is wrapped in
``Untrusted`` and goes through :mod:`daemon.safe_text` for each output, so a
message can never inject markup, ``@room`` pings or direction tricks into our
notice. Our own wording is escaped for the HTML version too.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from daemon.chat.afspraak import NotInRoom, RecordAgreement
from daemon.chat.dates import DueProblem
from daemon.i18n import Translator, mark
from daemon.model import Kind
from daemon.rules.names import Ambiguous, anonymous
from daemon.safe_text import untrusted, untrusted_html

ENGLISH_RULE = "— English —"
TITLE_CHARS = 200
NAME_CHARS = 120

KIND_NAMES = {
    Kind.AGENDAPUNT: mark("agenda point"),
    Kind.STUK: mark("document"),
    Kind.TER_KENNISGEVING: mark("for information"),
    Kind.ACTUALITEIT: mark("current affair"),
}


@dataclass(frozen=True, slots=True)
class Untrusted:
    """Text a sender chose; cleaned and cut to ``limit`` wherever it is shown."""

    text: str
    limit: int = TITLE_CHARS


Field = str | int | Untrusted


@dataclass(frozen=True, slots=True)
class Reply:
    body: str
    html: str


def item_label(item_id: int) -> str:
    """How an item is named to people, as in mail receipts: ``WB-42``."""
    return f"WB-{item_id}"


def agreement_label(agreement_id: int) -> str:
    """How an afspraak is named to people: ``A-3``."""
    return f"A-{agreement_id}"


class Say:
    """Wording in one or more languages (joined by " / ") for plain text or for HTML."""

    def __init__(self, translators: Sequence[Translator], *, html: bool) -> None:
        self._translators = translators
        self.html = html

    @property
    def first(self) -> Translator:
        return self._translators[0]

    def __call__(self, msgid: str, **fields: Field) -> str:
        return " / ".join(self._one(t, msgid, fields) for t in self._translators)

    def _one(self, translator: Translator, msgid: str, fields: dict[str, Field]) -> str:
        template = translator.gettext(msgid)
        if self.html:
            template = html.escape(template, quote=False)
        return template.format(**{name: self.field(value) for name, value in fields.items()})

    def field(self, value: Field) -> str:
        if isinstance(value, Untrusted):
            clean = untrusted_html if self.html else untrusted
            return clean(value.text, value.limit)
        return html.escape(str(value)) if self.html else str(value)

    def when(self, moment: datetime) -> str:
        return self.first.when(moment)

    def day(self, day: date) -> str:
        return self.first.day(day)

    def kind(self, kind: Kind) -> str:
        return " / ".join(t.gettext(KIND_NAMES[kind]) for t in self._translators)


Render = Callable[[Say], Sequence[str]]


def bilingual_reply(render: Render, tz: ZoneInfo) -> Reply:
    """The whole answer in Dutch, then in English."""
    nl, en = Translator("nl", tz), Translator("en", tz)
    plain = [render(Say([t], html=False)) for t in (nl, en)]
    marked = [render(Say([t], html=True)) for t in (nl, en)]
    body = "\n".join([*plain[0], "", ENGLISH_RULE, *plain[1]])
    markup = (
        f"<p>{'<br/>'.join(marked[0])}</p><p><em>{ENGLISH_RULE}</em></p>"
        f"<p>{'<br/>'.join(marked[1])}</p>"
    )
    return Reply(body, markup)


def listing_reply(head: Callable[[Say], str], rows: Render, tz: ZoneInfo) -> Reply:
    """A heading in Dutch and in English, then the list once, each phrase "Dutch / English"
    (a list twice would be too long)."""
    translators = [Translator("nl", tz), Translator("en", tz)]
    heads = [head(Say([t], html=False)) for t in translators]
    marked_heads = [head(Say([t], html=True)) for t in translators]
    plain = rows(Say(translators, html=False))
    marked = rows(Say(translators, html=True))
    items = "".join(f"<li>{row}</li>" for row in marked)
    return Reply(
        "\n".join([*heads, *plain]),
        f"<p><strong>{marked_heads[0]}</strong><br/><em>{marked_heads[1]}</em></p>"
        + (f"<ul>{items}</ul>" if items else ""),
    )


def line_reply(msgid: str, tz: ZoneInfo, **fields: Field) -> Reply:
    """A one-line answer in both languages."""
    return bilingual_reply(lambda _: [_(msgid, **fields)], tz)


# --- refusals and mistakes ----------------------------------------------------------

CORE_ROOM_ONLY = mark("This can only be done in the core group's room.")
NOT_HERE = mark(
    "I only answer commands in the core group's room and the announcement rooms. !help works here."
)
POWER_TOO_LOW = mark("This needs power level {level} in the core group's room.")
NO_CORE_ROOM = mark("No core group room is configured, so this cannot be done from chat.")
UNDECRYPTABLE = mark(
    "I could not read your message (its key never reached me). Please send it again."
)


def usage_reply(usage: str, problem: str | None, tz: ZoneInfo) -> Reply:
    def render(_: Say) -> list[str]:
        lines = [_(problem)] if problem else []
        return [*lines, _("Usage: {usage}", usage=usage), _("!help lists every command.")]

    return bilingual_reply(render, tz)


def unknown_command_reply(word: str, suggestion: str | None, tz: ZoneInfo) -> Reply:
    def render(_: Say) -> list[str]:
        lines = [_("I do not know the command “!{word}”.", word=Untrusted(word, 40))]
        if suggestion:
            lines.append(_("Did you mean !{suggestion}?", suggestion=suggestion))
        return [*lines, _("!help lists every command.")]

    return bilingual_reply(render, tz)


# --- filings and afspraken ------------------------------------------------------------

FILING_EXAMPLE = mark("For example: “Agenda item: Benches in the park”.")
AGREEMENT_EXAMPLE = mark("For example: “Agreement: deliver the flyers @jan by Friday”.")


@dataclass(frozen=True, slots=True)
class FiledFacts:
    """What a filing confirmation says; ``missed`` is the deadline a late item missed."""

    item_id: int
    kind: Kind
    title: str
    meeting_title: str | None
    meeting_start: datetime | None
    late: bool
    decision_ready: bool
    direct: bool
    intended_start: datetime | None
    missed: datetime | None
    documents: tuple[str, ...]
    credited: str | None  # the author of a pinned message
    unknown_day: date | None = None  # a date tag naming no meeting
    cancelled_start: datetime | None = None  # the meeting meant is cancelled; it moved on


def filed_reply(facts: FiledFacts, tz: ZoneInfo) -> Reply:
    """The thread reply confirming a filing: number, meeting, date, deadline status."""

    def render(_: Say) -> list[str]:
        lines = [
            _(
                "Filed as {kind} {number}: “{title}”",
                kind=_.kind(facts.kind),
                number=item_label(facts.item_id),
                title=Untrusted(facts.title),
            )
        ]
        if facts.credited:
            lines.append(_("Submitted by {author}.", author=Untrusted(facts.credited, NAME_CHARS)))
        lines.append(_meeting_line(_, facts))
        lines.extend(_elsewhere_lines(_, facts))
        lines.append(_timeliness_line(_, facts))
        if facts.kind is not Kind.TER_KENNISGEVING:
            ready = facts.decision_ready
            lines.append(_("Ready for decision.") if ready else _("Not ready for decision."))
        if facts.documents:
            names = ", ".join(facts.documents)
            lines.append(_("Document: {names}", names=Untrusted(names, NAME_CHARS)))
        return lines

    return bilingual_reply(render, tz)


SHORT_FILED = mark("Filed {number} as {kind}: “{title}”, for {meeting}.")
SHORT_NOT_PLANNED = mark("the next meeting (not planned yet)")
SHORT_LATE = mark("Too late for the meeting of {when}.")


def short_filed_reply(facts: FiledFacts, tz: ZoneInfo) -> Reply:
    """The confirmation in a room relayed to WhatsApp: one line per language that reads
    well after the relay's "*Wijkbode*:" prefix, since the ✅ never arrives there."""

    def render(_: Say) -> list[str]:
        if facts.meeting_title is None or facts.meeting_start is None:
            meeting = _.first.gettext(SHORT_NOT_PLANNED)  # a field: escaped once, below
        else:
            meeting = f"{facts.meeting_title}, {_.when(facts.meeting_start)}"
        line = _(
            SHORT_FILED,
            number=item_label(facts.item_id),
            kind=_.kind(facts.kind),
            title=Untrusted(facts.title, 120),
            meeting=meeting,
        )
        if facts.late and facts.intended_start is not None:
            line += " " + _(SHORT_LATE, when=_.when(facts.intended_start))
        return [line]

    nl, en = Translator("nl", tz), Translator("en", tz)
    plain = [render(Say([t], html=False))[0] for t in (nl, en)]
    marked = [render(Say([t], html=True))[0] for t in (nl, en)]
    return Reply("\n".join(plain), "<br/>".join(marked))


def _meeting_line(_: Say, facts: FiledFacts) -> str:
    if facts.meeting_title is None or facts.meeting_start is None:
        return _("Meeting: not planned yet")
    return _(
        "Meeting: {title}, {when}", title=facts.meeting_title, when=_.when(facts.meeting_start)
    )


def _elsewhere_lines(_: Say, facts: FiledFacts) -> list[str]:
    """Why it is not on the meeting asked for (the same words as the mail receipt)."""
    if facts.unknown_day is not None:
        return [
            _(
                "No meeting is planned on {day}, the date you gave, so it went to the first"
                " meeting that can take it.",
                day=_.day(facts.unknown_day),
            )
        ]
    if facts.cancelled_start is not None:
        return [
            _(
                "The meeting of {when} is cancelled, so it went to the next meeting.",
                when=_.when(facts.cancelled_start),
            )
        ]
    return []


def _timeliness_line(_: Say, facts: FiledFacts) -> str:
    if facts.direct:
        return _("Put on the agenda directly, without the deadline check.")
    if facts.late and facts.intended_start is not None and facts.missed is not None:
        return _(
            "Too late for the meeting of {when} (deadline {deadline}); moved on.",
            when=_.when(facts.intended_start),
            deadline=_.when(facts.missed),
        )
    return _("On time.")


def already_filed_reply(item_id: int, tz: ZoneInfo) -> Reply:
    return line_reply(
        mark("This message was already filed as {number}."), tz, number=item_label(item_id)
    )


def bad_filing_reply(problem: str, tz: ZoneInfo) -> Reply:
    return bilingual_reply(lambda _: [_(problem), _(FILING_EXAMPLE)], tz)


def agreement_reply(
    number: int,
    what: str,
    owner: str,
    due: date,
    tz: ZoneInfo,
    meeting: tuple[str, datetime] | None = None,
) -> Reply:
    """The confirmation; it names the due date in full ("vrijdag 15 januari 2027"), and the
    meeting it was read from, so a wrong reading is seen at once."""

    def render(_: Say) -> list[str]:
        lines = [
            _(
                "Agreement {number} recorded: “{what}”, owner {owner}, due {due}.",
                number=agreement_label(number),
                what=Untrusted(what),
                owner=Untrusted(owner, NAME_CHARS),
                due=_.day(due),
            )
        ]
        if meeting is not None:
            title, start = meeting
            lines.append(
                _("That is the day of the next meeting: {title}, {when}.", title=title,
                  when=_.when(start))
            )  # fmt: skip
        return [*lines, _("I will remind this room before it is due.")]

    return bilingual_reply(render, tz)


def agreement_question(
    request: RecordAgreement, tz: ZoneInfo, *, no_meeting: bool = False
) -> Reply:
    """A friendly question for what is missing or could not be read; nothing was recorded.

    ``no_meeting``: the afspraak is due at the next meeting, and none is planned.
    """
    phrase = Untrusted(request.unclear_due or "", 60)

    def render(_: Say) -> list[str]:
        lines: list[str] = []
        if not request.what:
            lines.append(_("What is the agreement? Write it after “Agreement:”."))
        typed = request.owner_problem
        if isinstance(typed, Ambiguous):
            lines.append(
                _(AMBIGUOUS_OWNER, typed=Untrusted(typed.typed, 60),
                  names=Untrusted(", ".join(typed.names), 300))
            )  # fmt: skip
        elif isinstance(typed, NotInRoom):
            # The id as the pill links it (its digits hidden if it is a phone number):
            # a pill's text can look like a member's name.
            lines.append(_(NOT_IN_ROOM_OWNER, user=Untrusted(anonymous(typed.user_id), 120)))
        elif typed is not None:
            lines.append(_(UNKNOWN_OWNER, typed=Untrusted(typed.typed, 60)))
        elif request.owner is None:
            lines.append(_(NO_OWNER))
        if no_meeting:
            lines.append(_("No next meeting is planned, so “{phrase}” is no date yet.",
                           phrase=phrase))  # fmt: skip
        elif request.due is None and request.next_meeting is None and request.unclear_due:
            lines.append(_(_DUE_PROBLEMS[request.problem or DueProblem.UNREADABLE], phrase=phrase))
        if request.due is None and (request.next_meeting is None or no_meeting):
            lines.append(_("By when? For example “by Friday”, “by 15 March” or “within 2 weeks”."))
        return [*lines, _("Nothing was recorded yet; send the whole agreement again."),
                _(AGREEMENT_EXAMPLE)]  # fmt: skip

    return bilingual_reply(render, tz)


AMBIGUOUS_OWNER = mark(
    "“@{typed}” fits more than one member: {names}. Who do you mean? Pick the person"
    " from the @ suggestions or write the whole name."
)
UNKNOWN_OWNER = mark(
    "“@{typed}” is nobody in this room that I know. Who do you mean? Pick the member"
    " from the @ suggestions, or, for someone outside this room, write @ and their mail"
    " address (like @piet@example.org): the reminders then go there by mail."
)
NOT_IN_ROOM_OWNER = mark(
    "“{user}” is not a member of this room, so they cannot be the owner. Who will do"
    " it? Pick the member from the @ suggestions, or, for someone outside this room,"
    " write @ and their mail address (like @piet@example.org): the reminders then go"
    " there by mail."
)
NO_OWNER = mark(
    "Who will do it? Pick the member from the @ suggestions, or write @ and the owner's"
    " mail address."
)

_DUE_PROBLEMS = {
    DueProblem.UNREADABLE: mark("I could not read “{phrase}” as a date."),
    DueProblem.NO_SUCH_DATE: mark("The date “{phrase}” does not exist."),
    DueProblem.PAST: mark("“{phrase}” lies in the past; an agreement needs a date ahead."),
    DueProblem.NOT_ONE_DAY: mark("“{phrase}” is not one day: which day do you mean?"),
}
