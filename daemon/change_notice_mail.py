"""Queue a change notice to the sender of an item that came in by mail, in the change's Tx.

Only items filed from a mail get one; chat and CLI items have no one to mail.
The original mail's RFC 3834 signals are not stored, but their verdict is:
the intake queued a receipt (``receipt/mail/<uidvalidity>/<uid>``) only to a
sender it may answer. So a notice goes only where that receipt went, threaded
on the same original Message-ID, and never to our own address. Notices are
caused by a person in the core group, not by incoming mail, so they cannot
loop and the hourly receipt limit does not apply to them.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from daemon.change_notices import ItemChange, change_notice, notice_key, notice_prefix
from daemon.ports.outbox import ChannelName, MailOut, NewEffect
from daemon.receipts import ReceiptTo, receipt_blocker, receipt_key
from daemon.store import Tx

__all__ = ["enqueue_change_notice"]

log = logging.getLogger("wijkbode.mail")


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
