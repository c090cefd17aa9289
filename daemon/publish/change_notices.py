"""Change notices: the short mail a sender gets when the core group changes their item.

RULES.md "Transparency": whoever submitted something is told when that
changes (moved, accepted, rejected, withdrawn, kept for discussion).
``change_notice`` words it, Dutch first, then English, threaded like a receipt
(:class:`daemon.publish.receipts.ReceiptTo`); ``enqueue_change_notice`` queues it
in the change's transaction, to the sender of an item that came in by mail.

Only items filed from a mail get one; chat and CLI items have no one to mail.
The original mail's RFC 3834 signals are not stored, but their verdict is:
the intake queued a receipt (``receipt/mail/<uidvalidity>/<uid>``) only to a
sender it may answer. So a notice goes only where that receipt went, threaded
on the same original Message-ID, and never to our own address. Notices are
caused by a person in the core group, not by incoming mail, so they cannot
loop and the hourly receipt limit does not apply to them.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from daemon.i18n import Translator, bilingual, mark
from daemon.model import Item, Kind, Meeting
from daemon.ports.outbox import ChannelName, MailOut, NewEffect
from daemon.publish.receipts import ReceiptTo, item_number, receipt_blocker, receipt_key
from daemon.safe_text import untrusted
from daemon.store import Tx

__all__ = [
    "Change",
    "ItemChange",
    "change_notice",
    "enqueue_change_notice",
    "notice_key",
    "notice_prefix",
]

log = logging.getLogger("wijkbode.mail")

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


async def enqueue_change_notice(
    tx: Tx, change: ItemChange, *, our_address: str, tz: ZoneInfo, now: datetime
) -> bool:
    """Queue the notice of ``change`` to the item's original sender; ``False`` when none may go."""
    item = change.item
    if item.source != "mail":
        return False
    original = await _answerable_receipt(tx, change)
    if original is None:
        return False
    address = original.to[0]
    blocker = receipt_blocker(
        address,
        is_auto=False,
        is_bounce=False,
        is_bulk_or_list=False,
        our_address=our_address,
        sent_this_hour=0,
        per_hour=1,
    )
    if blocker is not None:
        log.info("no change notice for item %s: %s", item.id, blocker.value)
        return False
    prefix = notice_prefix(item.id, change.change)
    n = await tx.count_effects(prefix, ChannelName.MAIL) + 1
    key = notice_key(item.id, change.change, n)
    domain = our_address.rpartition("@")[2]
    to = ReceiptTo(key, address, original.in_reply_to, original.references, domain, tz)
    notice = change_notice(to, change)
    await tx.enqueue(NewEffect(ChannelName.MAIL, address, key, notice), now=now)
    await tx.link_thread(notice.message_id, item.id)
    return True


async def _answerable_receipt(tx: Tx, change: ItemChange) -> MailOut | None:
    """The receipt of the mail that filed the item, when the intake could send one."""
    filing = await tx.filing_mail(change.item.id)
    if filing is None:
        return None
    effect = await tx.effect_by_key(receipt_key(filing.uidvalidity, filing.uid))
    if effect is None or not isinstance(effect.payload, MailOut) or not effect.payload.to:
        log.info("no change notice for item %s: its mail got no receipt", change.item.id)
        return None
    return effect.payload
