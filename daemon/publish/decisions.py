"""What people read of decisions and polls: the poll itself, its result, the decision list.

Pure composition, Dutch first, then English. A poll is a native Matrix poll
(:class:`~daemon.ports.outbox.ChatPoll`) whose plain text form numbers the options,
so it reads well where no poll is shown (a WhatsApp bridge, a text-only client).
A result always names the counts, the weights used and the rule that decided it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from daemon.i18n import Translator, bilingual, mark
from daemon.model import Item, Meeting
from daemon.ports.outbox import ChatPoll, ChatPost, MailOut, message_id_for
from daemon.ports.public import PublicDecision
from daemon.rules.decisions import Counts, Outcome, Party, Vote
from daemon.safe_text import untrusted, untrusted_html
from daemon.store import Tx
from daemon.store.decisions import StoredAdvice, StoredDecision

__all__ = [
    "DECISION_ANSWERS",
    "DecisionRow",
    "date_answers",
    "date_poll_end",
    "decision_list",
    "decision_poll",
    "decision_poll_end",
    "decision_rows",
    "public_decision_lines",
    "result_line",
]

TITLE_CHARS = 120

# The labels of a decision poll's answers (ids are the votes).
_VOTE_LABELS = {
    Vote.VOOR: mark("For"),
    Vote.TEGEN: mark("Against"),
    Vote.ONTHOUDING: mark("Abstain"),
}
_OUTCOMES = {
    Outcome.CONSENSUS: mark("adopted by consensus"),
    Outcome.ADOPTED: mark("adopted by the 50%+1 rule"),
    Outcome.REJECTED: mark("rejected by the 50%+1 rule"),
    Outcome.TIE: mark("not adopted: staking van stemmen (a tie)"),
}
_PARTIES = {
    Party.BEWONERS: mark("residents"),
    Party.PARTNERS: mark("partner organisations"),
    Party.ALLEN: mark("all"),
}


def _label(msgid: str, tz: ZoneInfo) -> str:
    """'Voor / For': both languages in one label (a poll has one set of options)."""
    nl, en = Translator("nl", tz), Translator("en", tz)
    return f"{nl(msgid)} / {en(msgid)}"


def _one_line(render: Callable[[Translator], str], tz: ZoneInfo) -> str:
    """A poll's question in one line, Dutch / English (a poll has one question)."""
    return f"{render(Translator('nl', tz))} / {render(Translator('en', tz))}"


DECISION_ANSWERS: tuple[str, ...] = tuple(vote.value for vote in Vote)


def _poll(
    question: str, answers: Sequence[tuple[str, str]], closes_at: datetime, tz: ZoneInfo
) -> ChatPoll:
    def text(_: Translator) -> str:
        return _(
            "Closes {when}. Vote in the poll; a vote can be changed until then.",
            when=_.when(closes_at),
        )

    numbered = [f"{n}. {label}" for n, (_id, label) in enumerate(answers, start=1)]
    body = "\n".join([question, *numbered, "", bilingual(text, tz)])
    html = (
        f"<p>{untrusted_html(question, 400)}</p><ol>"
        + "".join(f"<li>{untrusted_html(label, 200)}</li>" for _id, label in answers)
        + f"</ol><p>{untrusted_html(bilingual(text, tz), 600)}</p>"
    )
    return ChatPoll(question=question, answers=tuple(answers), text=body, html=html)


def decision_poll(item: Item, closes_at: datetime, tz: ZoneInfo) -> ChatPoll:
    """The poll on ``item``: voor / tegen / onthouding."""
    title = untrusted(item.title, TITLE_CHARS)
    question = _one_line(
        lambda _: _("Decision on WB-{number}: “{title}”?", number=item.id, title=title), tz
    )
    answers = [(vote.value, _label(_VOTE_LABELS[vote], tz)) for vote in Vote]
    return _poll(question, answers, closes_at, tz)


def date_answers(days: Sequence[date], tz: ZoneInfo) -> list[tuple[str, str]]:
    """A date poll's answers: the ISO date as id, the day written out as label."""
    nl = Translator("nl", tz)
    return [(day.isoformat(), nl.day(day)) for day in days]


def date_poll(
    meeting: Meeting, days: Sequence[date], closes_at: datetime, tz: ZoneInfo
) -> ChatPoll:
    """The date poll on ``meeting``: which of ``days`` instead."""
    question = _one_line(
        lambda _: _(
            "New date for {title} (now {when})?", title=meeting.title, when=_.when(meeting.start)
        ),
        tz,
    )
    return _poll(question, date_answers(days, tz), closes_at, tz)


def _counts_text(counts: Mapping[str, Mapping[str, int]], _: Translator) -> str:
    parts = []
    for party, numbers in counts.items():
        label = _(_PARTIES[Party(party)]) if party in Party.__members__.values() else party
        parts.append(
            _(
                "{party}: for {voor}, against {tegen}, abstain {onthouding}",
                party=label,
                voor=numbers.get("voor", 0),
                tegen=numbers.get("tegen", 0),
                onthouding=numbers.get("onthouding", 0),
            )
        )
    return "; ".join(parts)


def _weights_text(weights: Mapping[str, int], _: Translator) -> str:
    return ", ".join(
        f"{_(_PARTIES[Party(p)]) if p in Party.__members__.values() else p} {w}"
        for p, w in weights.items()
    )


def result_line(decision: StoredDecision, _: Translator) -> str:
    """'WB-4: adopted by consensus (residents: for 3, ...; weights: residents 1)'."""
    outcome = _(_OUTCOMES[Outcome(decision.outcome)])
    return _(
        "{outcome}. Votes: {counts}. Weights: {weights}.",
        outcome=outcome,
        counts=_counts_text(decision.counts, _),
        weights=_weights_text(decision.weights, _),
    )


def _not_counted(decision: StoredDecision, _: Translator) -> list[str]:
    if not decision.not_counted:
        return []
    who = ", ".join(untrusted(sender, 80) for sender in decision.not_counted)
    return [_("Not counted (not in the core group's room when the poll started): {who}", who=who)]


def decision_poll_end(item: Item, decision: StoredDecision, tz: ZoneInfo) -> str:
    """The text of a decision poll's end: the result and the rule that decided it."""
    title = untrusted(item.title, TITLE_CHARS)

    def render(_: Translator) -> str:
        head = _("Result WB-{number} “{title}”:", number=item.id, title=title)
        return "\n".join([f"{head} {result_line(decision, _)}", *_not_counted(decision, _)])

    return bilingual(render, tz)


def date_poll_end(
    meeting: Meeting,
    counts: Mapping[str, int],
    winner: date | None,
    not_counted: Sequence[str],
    tz: ZoneInfo,
    *,
    too_late: date | None = None,
) -> str:
    """The text of a date poll's end: the counts, and the new date or that nothing moves
    (``too_late``: the winning date, when the meeting or that date had already passed)."""

    def render(_: Translator) -> str:
        tally = ", ".join(
            f"{_.day(date.fromisoformat(day))}: {number}" for day, number in counts.items()
        )
        lines = [_("Date poll for {title}: {tally}.", title=meeting.title, tally=tally or "-")]
        if too_late is not None:
            lines.append(
                _(
                    "{day} has more than half of the votes, but the meeting was cancelled, has "
                    "started or that day has passed: the meeting does not move.",
                    day=_.day(too_late),
                )
            )
        elif winner is None:
            lines.append(
                _("No date has more than half of the votes cast: the meeting does not move.")
            )
        else:
            lines.append(
                _(
                    "More than half of the votes cast: the meeting moves to {day}.",
                    day=_.day(winner),
                )
            )
        if not_counted:
            who = ", ".join(untrusted(sender, 80) for sender in not_counted)
            lines.append(
                _(
                    "Not counted (not in the core group's room when the poll started): {who}",
                    who=who,
                )
            )
        return "\n".join(lines)

    return bilingual(render, tz)


@dataclass(frozen=True, slots=True)
class DecisionRow:
    """One line of a besluitenlijst: the decision, its item, and its advice if any."""

    decision: StoredDecision
    item: Item
    advice: StoredAdvice | None = None


def decision_list(rows: Sequence[DecisionRow], meeting: Meeting | None, tz: ZoneInfo) -> ChatPost:
    """The besluitenlijst (of ``meeting``, or all): per decision its item, result, counts,
    weights, rule and advice."""

    def render(_: Translator) -> list[str]:
        heading = (
            _("Decisions")
            if meeting is None
            else _("Decisions of {title}, {when}", title=meeting.title, when=_.when(meeting.start))
        )
        lines = [heading]
        if not rows:
            lines.append(_("No decisions recorded yet."))
        for row in rows:
            title = untrusted(row.item.title, TITLE_CHARS)
            lines.append(f"WB-{row.item.id} “{title}”: {result_line(row.decision, _)}")
            lines.extend(f"  {line}" for line in _advice_lines(row.advice, _))
        return lines

    nl, en = Translator("nl", tz), Translator("en", tz)
    body = "\n".join([*render(nl), "", "— English —", *render(en)])
    html = "".join(
        "<p>" + "<br/>".join(untrusted_html(line, 2000) for line in render(t)) + "</p>"
        for t in (nl, en)
    )
    return ChatPost(body=body, html=html)


def _advice_lines(advice: StoredAdvice | None, _: Translator) -> list[str]:
    if advice is None:
        return []
    partner = untrusted(advice.partner, 80)
    if advice.motivation is None:
        return [
            _(
                "Non-binding advice: {partner} owes a motivated answer by {due}.",
                partner=partner,
                due=_.day(advice.due),
            )
        ]
    return [
        _(
            "Non-binding advice: {partner} answered: {motivation}",
            partner=partner,
            motivation=untrusted(advice.motivation, 1000),
        )
    ]


def counts_of(votes: Mapping[str, str]) -> Counts:
    """A poll's votes (member → vote) as counts."""
    return Counts.of(Vote(v) for v in votes.values() if v in DECISION_ANSWERS)


# --- non-binding advice: the request to the partner, and its answer ------------------------


ADVICE_SUBJECT = mark("Non-binding advice: motivated answer requested")


def advice_request_key(advice_id: int) -> str:
    """The outbox key (and, by :func:`message_id_for`, the Message-ID) of the request."""
    return f"advice/{advice_id}/request"


def advice_answered_key(advice_id: int) -> str:
    return f"advice/{advice_id}/answered"


def advice_request_mail(
    item: Item,
    decision: StoredDecision,
    advice: StoredAdvice,
    *,
    to: str,
    domain: str,
    thread: Sequence[str],
    tz: ZoneInfo,
) -> MailOut:
    """The mail asking ``advice.partner`` for a motivated answer by the due date.

    Threaded on the item's mail (``thread``: the Message-IDs it continues), with the
    item's ``[WB-n]`` tag; a reply to it is the motivation.
    """
    title = untrusted(item.title, TITLE_CHARS)
    partner = untrusted(advice.partner, 80)

    def render(_: Translator) -> str:
        return "\n\n".join(
            [
                _(
                    "The alliance decided on WB-{number} “{title}”: {result}",
                    number=item.id,
                    title=title,
                    result=result_line(decision, _),
                ),
                _(
                    "{partner} has said it will not or cannot carry out this decision. It is "
                    "therefore a non-binding advice, which the partner always answers with a "
                    "motivation.",
                    partner=partner,
                ),
                _(
                    "Please reply to this mail with your motivated answer by {due}. Your reply "
                    "is filed with the decision and shown to the core group.",
                    due=_.day(advice.due),
                ),
            ]
        )

    nl = Translator("nl", tz)
    en = Translator("en", tz)
    subject = f"[WB-{item.id}] {nl(ADVICE_SUBJECT)} / {en(ADVICE_SUBJECT)}"
    key = advice_request_key(advice.id)
    last = thread[-1] if thread else None
    return MailOut(
        to=(to,),
        subject=subject,
        text=bilingual(render, tz),
        message_id=message_id_for(key, domain),
        in_reply_to=last,
        references=tuple(thread),
    )


def advice_answered_post(
    item: Item, advice: StoredAdvice, motivation: str, tz: ZoneInfo
) -> ChatPost:
    """The core room hears the partner's motivation."""
    title = untrusted(item.title, TITLE_CHARS)

    def render(_: Translator) -> str:
        return _(
            "WB-{number} “{title}”: {partner} answered the non-binding advice: {motivation}",
            number=item.id,
            title=title,
            partner=untrusted(advice.partner, 80),
            motivation=untrusted(motivation, 2000),
        )

    body = bilingual(render, tz)
    html = "".join(
        f"<p>{untrusted_html(render(Translator(language, tz)), 3000)}</p>"
        for language in ("nl", "en")
    )
    return ChatPost(body=body, html=html)


async def previous_decisions(tx: Tx, meeting: Meeting) -> tuple[Meeting | None, list[DecisionRow]]:
    """The series' meeting before ``meeting`` (the last one not cancelled) and its
    decisions: the besluitenlijst the next concept and definitive agenda carry."""
    earlier = [
        m
        for m in await tx.meetings()
        if m.series == meeting.series and m.start < meeting.start and not m.cancelled
    ]
    if not earlier:
        return None, []
    previous = max(earlier, key=lambda m: (m.start, m.id))
    return previous, await decision_rows(tx, previous)


async def decision_rows(tx: Tx, meeting: Meeting | None) -> list[DecisionRow]:
    """Every decision (of ``meeting``) with its item and advice, oldest first."""
    rows: list[DecisionRow] = []
    for decision in await tx.decisions(None if meeting is None else meeting.id):
        item = await tx.item(decision.item)
        if item is None:
            continue
        rows.append(DecisionRow(decision, item, await tx.advice_for_decision(decision.id)))
    return rows


def public_decision_lines(decision: PublicDecision, _: Translator) -> list[str]:
    """A public decision in ``_``'s language: the result with counts, weights and rule, and
    the advice's answer or what is still owed (the fields are safe already)."""
    counts = {party: {"voor": v, "tegen": t, "onthouding": o} for party, v, t, o in decision.counts}
    outcome = _(_OUTCOMES[Outcome(decision.outcome)])
    lines = [
        _(
            "{outcome}. Votes: {counts}. Weights: {weights}.",
            outcome=outcome,
            counts=_counts_text(counts, _),
            weights=_weights_text(dict(decision.weights), _),
        )
    ]
    if decision.advice_partner is not None and decision.motivation is not None:
        lines.append(
            _(
                "Non-binding advice: {partner} answered: {motivation}",
                partner=decision.advice_partner,
                motivation=decision.motivation,
            )
        )
    elif decision.advice_partner is not None and decision.advice_due is not None:
        lines.append(
            _(
                "Non-binding advice: {partner} owes a motivated answer by {due}.",
                partner=decision.advice_partner,
                due=_.day(decision.advice_due),
            )
        )
    return lines
