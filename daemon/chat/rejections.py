"""``!weiger`` of many items at once: a flood of mail from outside the partners cleared with
one message (docs/security.md, finding 1).

Every item named that awaits acceptance is rejected exactly as ``!weiger ID`` would
(:func:`daemon.chat.item_changes.set_status`: its audit trail, its sender's notice),
all in the command's one transaction; the others are left as they are. The answer
is one short message: how many were rejected, and which were skipped and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from daemon.chat.actions import ChatSettings, Origin
from daemon.chat.item_changes import set_status
from daemon.chat.parsing import RejectItems
from daemon.chat.replies import Reply, Say, bilingual_reply
from daemon.i18n import mark
from daemon.model import ItemId, ItemStatus
from daemon.publish.bulk_reject import runs, runs_text, through
from daemon.publish.change_notices import Change
from daemon.store import Tx

_CLOSED = frozenset({ItemStatus.WITHDRAWN, ItemStatus.REJECTED})
_RUNS_SHOWN = 12  # per list in the answer; the rest is counted

REJECTED = mark("Rejected: {count} ({numbers}).")
NOTHING_REJECTED = mark("Nothing was rejected.")
NOTICES = mark("{count} of their senders get a mail saying so (only those who got a receipt).")
SKIPPED_NOT_AWAITING = mark("Skipped, not (or no longer) awaiting acceptance: {numbers}.")
SKIPPED_CLOSED = mark("Skipped, already withdrawn or rejected: {numbers}.")
SKIPPED_UNKNOWN = mark("Skipped, no such item: {numbers}.")


@dataclass
class Rejections:
    """What one ``!weiger`` of many items did, item by item."""

    rejected: list[ItemId] = field(default_factory=list)
    notices: int = 0
    not_awaiting: list[ItemId] = field(default_factory=list)
    closed: list[ItemId] = field(default_factory=list)
    unknown: list[ItemId] = field(default_factory=list)


async def reject_items(
    tx: Tx, command: RejectItems, origin: Origin, settings: ChatSettings, now: datetime
) -> Reply:
    """Reject each item of ``command`` that awaits acceptance; one answer for all of them."""
    done = Rejections()
    for item_id in command.items.ids():
        item = await tx.item(item_id)
        if item is None:
            done.unknown.append(item_id)
        elif item.status in _CLOSED:
            done.closed.append(item_id)
        elif item.status is not ItemStatus.AWAITING_ACCEPTANCE:
            done.not_awaiting.append(item_id)
        else:
            notified = await set_status(
                tx, item, Change.REJECTED, ItemStatus.REJECTED, reason=command.reason,
                origin=origin, settings=settings, now=now,
            )  # fmt: skip
            done.rejected.append(item_id)
            done.notices += notified
    return rejections_reply(done, settings.tz)


def rejections_reply(done: Rejections, tz: ZoneInfo) -> Reply:
    """One short answer: the count and numbers rejected, then each kind of skip."""

    def render(_: Say) -> list[str]:
        def numbers(ids: list[ItemId]) -> str:
            return runs_text(runs(ids), joiner=through(_.first.language), limit=_RUNS_SHOWN)

        lines = (
            [_(REJECTED, count=len(done.rejected), numbers=numbers(done.rejected))]
            if done.rejected
            else [_(NOTHING_REJECTED)]
        )
        if done.notices:
            lines.append(_(NOTICES, count=done.notices))
        for msgid, skipped in (
            (SKIPPED_NOT_AWAITING, done.not_awaiting),
            (SKIPPED_CLOSED, done.closed),
            (SKIPPED_UNKNOWN, done.unknown),
        ):
            if skipped:
                lines.append(_(msgid, numbers=numbers(skipped)))
        return lines

    return bilingual_reply(render, tz)
