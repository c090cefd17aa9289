"""The core group's room hears of every newly filed item (and every new version of its stukken).

One post per item, whatever brought it in (mail or chat): kind, number, title,
sender, meeting and date, on time or late, ready for decision or not, awaiting
acceptance, and its documents attached. Every string a sender chose (title,
name, address, file names) goes through ``daemon.safe_text``: no markup, no
``@room`` pings, no direction tricks. Bilingual, Dutch first.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from daemon.filing.submission import Filed, FilingRules
from daemon.i18n import Translator, mark
from daemon.model import Document, Item, ItemId, ItemStatus, Kind, Meeting
from daemon.ports.outbox import ChatPost, DocumentRef
from daemon.rules.assignment import deadline
from daemon.safe_text import untrusted, untrusted_html

__all__ = [
    "PostLines",
    "Sender",
    "bilingual_post",
    "item_post_key",
    "new_item_post",
    "new_version_post",
]

_KIND_NAMES = {
    Kind.AGENDAPUNT: mark("agenda point"),
    Kind.STUK: mark("document"),
    Kind.TER_KENNISGEVING: mark("for information"),
    Kind.ACTUALITEIT: mark("current affair"),
}
_NAME_CHARS = 120
_ENGLISH_RULE = "— English —"


@dataclass(frozen=True, slots=True)
class Sender:
    """Who submitted, as shown: a display name, an address (mail or Matrix id), a partner."""

    name: str
    address: str
    partner: str | None = None  # the partner's name when the sender is a (verified) partner
    # The partner the From names, when our mail server could not confirm it is theirs.
    unverified_partner: str | None = None


def item_post_key(item_id: ItemId, version: int = 1) -> str:
    """The outbox key of the room post for an item (``version`` > 1: a new version)."""
    if version <= 1:
        return f"item/{item_id}/post"
    return f"item/{item_id}/v{version}/post"


class PostLines:
    """Plain and HTML lines side by side; sender text is cleaned for each."""

    def __init__(self, translator: Translator) -> None:
        self._ = translator
        self.plain: list[str] = []
        self.html: list[str] = []

    def add(
        self,
        template: str,
        trusted: Mapping[str, str] | None = None,
        sender_text: Mapping[str, str] | None = None,
    ) -> None:
        """One line: ``template`` translated, filled with our own and with sender fields."""
        ours = dict(trusted or {})
        theirs = dict(sender_text or {})
        message = self._(template)
        self.plain.append(
            message.format(**ours, **{k: untrusted(v, _NAME_CHARS) for k, v in theirs.items()})
        )
        self.html.append(
            html.escape(message, quote=False).format(
                **{k: html.escape(v) for k, v in ours.items()},
                **{k: untrusted_html(v, _NAME_CHARS) for k, v in theirs.items()},
            )
        )


def _sender_line(lines: PostLines, sender: Sender, item: Item) -> None:
    shown = {"sender": f"{sender.name} <{sender.address}>" if sender.name else sender.address}
    if item.auth_failure is not None:
        # Our server's own verdict, not the sender's words; shown so nobody accepts it unseen.
        lines.add(
            mark(
                "From: {sender}, POSSIBLY FORGED (our mail server: {result}):"
                " awaiting acceptance, no receipt sent"
            ),
            None,
            {**shown, "result": item.auth_failure},
        )
    elif sender.unverified_partner and item.status is ItemStatus.AWAITING_ACCEPTANCE:
        # Nothing failed, nothing passed: it may be the partner (via a forwarder that
        # breaks SPF, without DKIM) or a forgery; a person decides.
        lines.add(
            mark(
                "From: {sender}, but our mail server could not confirm that this comes from"
                " {partner} (not verified): awaiting acceptance"
            ),
            None,
            {**shown, "partner": sender.unverified_partner},
        )
    elif item.status is ItemStatus.AWAITING_ACCEPTANCE:
        lines.add(mark("From: {sender}, not a known partner: awaiting acceptance"), None, shown)
    elif sender.partner:
        lines.add(mark("From: {sender} ({partner})"), None, {**shown, "partner": sender.partner})
    else:
        lines.add(mark("From: {sender}"), None, shown)


def _meeting_line(lines: PostLines, meeting: Meeting | None) -> None:
    _ = lines._
    if meeting is None:
        lines.add(mark("Meeting: not planned yet"))
    else:
        when = {"title": meeting.title, "when": _.when(meeting.start)}
        lines.add(mark("Meeting: {title}, {when}"), when)


def _status_lines(lines: PostLines, filed: Filed, rules: FilingRules) -> None:
    _ = lines._
    item, intended = filed.item, filed.intended
    if item.late and intended is not None:
        series_rules = rules.rules.get(intended.series)
        missed = intended.start
        if series_rules is not None:
            missed = deadline(intended, item.kind, series_rules, _.tz)
        lines.add(
            mark("Late: missed the deadline of {deadline} for the meeting of {when}."),
            {"deadline": _.when(missed), "when": _.when(intended.start)},
        )
    else:
        lines.add(mark("On time."))
    if item.decision_ready:
        lines.add(mark("Ready for decision."))
    else:
        lines.add(mark("Not ready for decision."))


def _document_lines(lines: PostLines, documents: Sequence[Document]) -> None:
    if documents:
        names = ", ".join(d.filename for d in documents)
        lines.add(mark("Documents: {names}"), None, {"names": names})


def bilingual_post(
    build: Callable[[PostLines], None], tz: ZoneInfo, documents: Sequence[Document] = ()
) -> ChatPost:
    """A room post built line by line by ``build``, once in Dutch and once in English."""
    dutch, english = PostLines(Translator("nl", tz)), PostLines(Translator("en", tz))
    build(dutch)
    build(english)
    body = "\n".join([*dutch.plain, "", _ENGLISH_RULE, *english.plain])
    markup = (
        f"<p>{'<br/>'.join(dutch.html)}</p><p><em>{_ENGLISH_RULE}</em></p>"
        f"<p>{'<br/>'.join(english.html)}</p>"
    )
    refs = tuple(
        DocumentRef(d.sha256, untrusted(d.filename, _NAME_CHARS), d.content_type) for d in documents
    )
    return ChatPost(body=body, html=markup, documents=refs)


def new_item_post(
    filed: Filed, sender: Sender, rules: FilingRules, *, unverified_version_of: ItemId | None = None
) -> ChatPost:
    """The room post for a newly filed item.

    ``unverified_version_of``: the item this mail names and would have been a version
    of, had our mail server verified the sender's address (a From can be forged).
    """
    item = filed.item

    def build(lines: PostLines) -> None:
        kind = lines._(_KIND_NAMES[item.kind])
        lines.add(
            mark("New submission {number} ({kind}): {title}"),
            {"number": f"WB-{item.id}", "kind": kind},
            {"title": item.title},
        )
        _sender_line(lines, sender, item)
        if unverified_version_of is not None:
            lines.add(
                mark(
                    "Looks like a new version of {number}, but our mail server did not verify"
                    " the sender's address: filed as a new submission."
                ),
                {"number": f"WB-{unverified_version_of}"},
            )
        _meeting_line(lines, filed.assignment.meeting)
        _status_lines(lines, filed, rules)
        _document_lines(lines, item.documents)

    return _captioned(bilingual_post(build, rules.timezone, item.documents), item)


def new_version_post(
    item: Item,
    version: int,
    documents: Sequence[Document],
    sender: Sender,
    meeting: Meeting | None,
    rules: FilingRules,
) -> ChatPost:
    """The room post for a new version of an item's documents (a reply with new files)."""

    def build(lines: PostLines) -> None:
        lines.add(
            mark("New version {version} of submission {number}: {title}"),
            {"version": str(version), "number": f"WB-{item.id}"},
            {"title": item.title},
        )
        _sender_line(lines, sender, item)
        _meeting_line(lines, meeting)
        _document_lines(lines, documents)

    return _captioned(bilingual_post(build, rules.timezone, documents), item)


def _captioned(post: ChatPost, item: Item) -> ChatPost:
    """Each file of the post carries the item's number and title as its caption."""
    if not post.documents:
        return post
    return replace(post, file_caption=f"WB-{item.id}: {untrusted(item.title, _NAME_CHARS)}")
