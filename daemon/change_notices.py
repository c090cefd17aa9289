"""Change notices: the short mail a sender gets when the core group changes their item.

RULES.md "Transparency": whoever submitted something is told when that
changes (moved, accepted, rejected, withdrawn, kept for discussion). Pure:
the caller (:mod:`daemon.change_notice_mail`) finds the original mail and
decides whether a notice may go at all; this module only words it, Dutch
first, then English, threaded like a receipt (:class:`daemon.receipts.ReceiptTo`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from daemon.i18n import Translator, bilingual, mark
from daemon.model import Item, Kind, Meeting
from daemon.ports.outbox import MailOut
from daemon.receipts import ReceiptTo, item_number
from daemon.safe_text import untrusted

__all__ = ["Change", "ItemChange", "change_notice", "notice_key", "notice_prefix"]

_SUBJECT_TITLE_CHARS = 150
_REASON_CHARS = 500


class Change(enum.StrEnum):
    """What the core group did to an item; the value is its audit-trail event."""

    MOVED = "moved"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    KEPT_FOR_DISCUSSION = "ter_bespreking"


@dataclass(frozen=True, slots=True)
class ItemChange:
    """One change to tell the sender about: the item and its meeting as they are now."""

    change: Change
    item: Item
    meeting: Meeting | None
    reason: str = ""  # the core group's reason, for a rejection


def notice_prefix(item_id: int, change: Change) -> str:
    """The outbox key prefix shared by every notice of this change to this item."""
    return f"notice/item/{item_id}/{change.value}/"


def notice_key(item_id: int, change: Change, n: int) -> str:
    """The outbox key of the ``n``-th notice of this change to this item (from 1)."""
    return f"{notice_prefix(item_id, change)}{n}"


_FIRST_LINES = {
    Change.MOVED: mark("Your submission {number} (“{title}”) has been moved to another meeting."),
    Change.ACCEPTED: mark("Your submission {number} (“{title}”) has been accepted."),
    Change.REJECTED: mark("Your submission {number} (“{title}”) has been rejected."),
    Change.WITHDRAWN: mark(
        "Your submission {number} (“{title}”) has been withdrawn; it will not be discussed."
    ),
    Change.KEPT_FOR_DISCUSSION: mark(
        "Your submission {number} (“{title}”) stays on the agenda of the meeting it was"
        " meant for, for discussion only: no decision will be taken on it there."
    ),
}
_AUTOMATIC = mark("This is an automatic message from Wijkbode.")


def _meeting_lines(_: Translator, change: ItemChange) -> list[str]:
    if change.change in (Change.REJECTED, Change.WITHDRAWN):
        return []
    meeting = change.meeting
    if meeting is None:
        return [_("Meeting: not planned yet. We will let you know when there is one.")]
    lines = [
        _("New meeting: {title}, {when}.", title=meeting.title, when=_.when(meeting.start))
        if change.change is Change.MOVED
        else _("Meeting: {title}, {when}.", title=meeting.title, when=_.when(meeting.start))
    ]
    item = change.item
    no_decision = not item.decision_ready and item.kind is not Kind.TER_KENNISGEVING
    if change.change is not Change.KEPT_FOR_DISCUSSION and no_decision:
        lines.append(
            _("No decision can be taken on it at that meeting (it came in too late for it).")
        )
    return lines


def _reason_lines(_: Translator, change: ItemChange) -> list[str]:
    reason = untrusted(change.reason, _REASON_CHARS)
    return [_("Reason: {reason}", reason=reason)] if reason else []


def change_notice(to: ReceiptTo, change: ItemChange) -> MailOut:
    """The notice telling the sender what changed and, where it applies, when it is discussed."""
    item = change.item

    def render(_: Translator) -> str:
        first = _(
            _FIRST_LINES[change.change],
            number=item_number(item.id),
            title=untrusted(item.title),
        )
        lines = [
            first,
            *_meeting_lines(_, change),
            *_reason_lines(_, change),
            "",
            _(
                "Questions? Reply to this mail and keep [{number}] in the subject.",
                number=item_number(item.id),
            ),
            _(_AUTOMATIC),
        ]
        return "\n".join(lines)

    title = untrusted(item.title, _SUBJECT_TITLE_CHARS)
    subject = f"Gewijzigd / Changed: {title} [{item_number(item.id)}]"
    return to.mail(subject, bilingual(render, to.tz))
