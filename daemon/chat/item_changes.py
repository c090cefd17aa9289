"""What every change to an item from chat does besides the change itself: the audit trail's
detail (who asked, in chat) and the mail telling the item's sender.

Shared by the one-item commands and ``!weiger`` of many items, so a rejection in
bulk lands in each item's trail and reaches each sender exactly as a single one.
"""

from __future__ import annotations

from datetime import datetime

from daemon.chat.actions import ChatSettings, Origin
from daemon.model import Item, ItemStatus
from daemon.publish.change_notices import Change, ItemChange, enqueue_change_notice
from daemon.store import Tx


def change_detail(origin: Origin, extra: str = "") -> str:
    """The audit trail's detail of a change asked in chat."""
    detail = f"by {origin.sender} in chat"
    return f"{detail}: {extra}" if extra else detail


async def notify_sender(tx: Tx, change: ItemChange, settings: ChatSettings, now: datetime) -> bool:
    """Tell the item's sender by mail, when it came in by mail and mail is configured (only
    where the intake could send that mail's receipt: ``enqueue_change_notice``)."""
    if settings.mail_address is None:
        return False
    return await enqueue_change_notice(
        tx, change, our_address=settings.mail_address, tz=settings.tz, now=now
    )


async def set_status(
    tx: Tx,
    item: Item,
    change: Change,
    status: ItemStatus,
    *,
    reason: str,
    origin: Origin,
    settings: ChatSettings,
    now: datetime,
) -> bool:
    """Give ``item`` its new ``status``, record it and tell its sender; ``True`` when a
    notice was queued."""
    changed = await tx.set_item_status(
        item.id, status, event=change.value, detail=change_detail(origin, reason), at=now
    )
    meeting = await tx.meeting(changed.meeting) if changed.meeting else None
    return await notify_sender(tx, ItemChange(change, changed, meeting, reason), settings, now)
