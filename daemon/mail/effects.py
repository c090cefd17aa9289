"""The effects one mail causes, written inside its transaction: a receipt and a room post.

A new item's post goes through the room feed (``daemon.publish.room_feed``); other
notes (a new version, a quarantined mail) go to the core room directly.

Whether a receipt may go at all is decided here from RFC 3834 signals, the
count of receipts this sender got in the last hour and, for a sender outside the
partners, the count of receipts to all such senders in that hour (both from the
store, so the limits hold across restarts). Each receipt is marked in the outbox as
an outsider's or a verified partner's, as it was judged: a partner's address whose
mail our server did not verify is an outsider's, and counts as one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from daemon.mail.senders import is_partner
from daemon.mail.settings import IntakeSettings
from daemon.model import ItemId
from daemon.ports.mail import ParsedMail
from daemon.ports.outbox import ChannelName, ChatPost, MailOut, NewEffect
from daemon.ports.parser import SenderHint
from daemon.publish.receipts import RECEIPT_WINDOW_HOURS, NoReceipt, ReceiptTo, receipt_blocker
from daemon.publish.room_feed import queue_item_post
from daemon.store import Tx

__all__ = ["Correspondent", "announce_item", "enqueue_post", "enqueue_receipt"]

log = logging.getLogger("wijkbode.mail")


@dataclass(frozen=True, slots=True)
class Correspondent:
    """Who a receipt would answer, and what RFC 3834 needs to know about their mail."""

    address: str
    message_id: str | None  # None when the mail had no Message-ID of its own
    references: tuple[str, ...]
    is_auto: bool
    is_bounce: bool
    is_bulk_or_list: bool
    auth_failed: bool = False  # failed SPF/DKIM/DMARC at our server: possibly forged
    # A (verified) partner's mail; None: judge by the address (a quarantined mail's hint
    # without authserv_id, when the From decides).
    partner: bool | None = None

    @classmethod
    def of(cls, parsed: ParsedMail) -> Correspondent:
        return cls(
            address=parsed.from_address,
            message_id=None if parsed.message_id_synthesized else parsed.message_id,
            references=parsed.references,
            is_auto=parsed.is_auto,
            is_bounce=parsed.is_bounce,
            is_bulk_or_list=parsed.is_bulk_or_list,
        )

    @classmethod
    def of_hint(cls, hint: SenderHint) -> Correspondent:
        return cls(
            address=hint.address,
            message_id=hint.message_id,
            references=hint.references,
            is_auto=hint.is_auto,
            is_bounce=hint.is_bounce,
            is_bulk_or_list=hint.is_bulk_or_list,
        )


async def enqueue_receipt(
    tx: Tx,
    settings: IntakeSettings,
    correspondent: Correspondent,
    *,
    key: str,
    now: datetime,
    compose: Callable[[ReceiptTo], MailOut],
    item_id: ItemId | None = None,
) -> bool:
    """Add the receipt to the outbox unless RFC 3834 or the hourly limit forbids it.

    With ``item_id`` the receipt's Message-ID joins the item's thread, so a
    reply to the receipt reaches the item even without ``[WB-n]`` in its subject.
    """
    address = correspondent.address
    since = now - timedelta(hours=RECEIPT_WINDOW_HOURS)
    recent = await tx.receipts_since(address, since)
    partner = correspondent.partner
    if partner is None:
        partner = is_partner(address, settings.partners)
    limit = settings.receipts_per_hour_outside_partners
    # Asked only when the limit could apply: a partner's receipt never waits on it.
    outside = 0 if partner or limit == 0 else await _sent_outside_partners(tx, settings, since)
    blocker = receipt_blocker(
        address,
        is_auto=correspondent.is_auto,
        is_bounce=correspondent.is_bounce,
        is_bulk_or_list=correspondent.is_bulk_or_list,
        our_address=settings.our_address,
        sent_this_hour=recent,
        per_hour=settings.receipts_per_sender_per_hour,
        auth_failed=correspondent.auth_failed,
        partner=partner,
        sent_outside_partners=outside,
        outside_partners_per_hour=limit,
    )
    if blocker is NoReceipt.OUTSIDE_PARTNERS_LIMITED:
        # The operator should see this: a spam wave with forged senders, or an hour
        # busier than the setting allows. The mail itself is filed as usual.
        log.warning(
            "no receipt for %s: %s receipts to senders outside the partners this hour"
            " (receipts_per_hour_outside_partners); the mail is filed, only its receipt"
            " is not sent",
            key,
            limit,
        )
        return False
    if blocker is not None:
        # The key names the mail; the address is personal data and stays out of the log.
        log.info("no receipt for %s: %s", key, blocker.value)
        return False
    to = ReceiptTo(
        key,
        address,
        correspondent.message_id,
        correspondent.references,
        settings.domain,
        settings.timezone,
    )
    receipt = compose(to)
    if await tx.enqueue(NewEffect(ChannelName.MAIL, address, key, receipt), now=now):
        # Counted as it was judged, not by its address (an unverified partner mail's
        # receipt goes to a partner's address), so the overall limit bounds them too.
        await tx.mark_receipt(key, outside_partners=not partner)
    if item_id is not None:
        await tx.link_thread(receipt.message_id, item_id)
    return True


async def _sent_outside_partners(tx: Tx, settings: IntakeSettings, since: datetime) -> int:
    """Receipts sent as outsiders' since ``since``, all together (whatever their address).

    A receipt queued before the outbox marked them is judged by its address, as then."""
    sent = await tx.outsider_receipts_since(since)
    return sum(
        1
        for destination, outside in sent
        if outside or (outside is None and not is_partner(destination, settings.partners))
    )


async def enqueue_post(
    tx: Tx, settings: IntakeSettings, key: str, post: ChatPost, *, now: datetime
) -> bool:
    """Add a post for the core group's room, when a room is configured."""
    if settings.core_room is None:
        return False
    await tx.enqueue(NewEffect(ChannelName.MATRIX, settings.core_room, key, post), now=now)
    return True


async def announce_item(
    tx: Tx, settings: IntakeSettings, key: str, item_id: ItemId, post: ChatPost, *, now: datetime
) -> bool:
    """Queue the post about a newly filed item on the room feed (which turns a burst of
    them, say 200 mails after a weekend, into one digest), when a room is configured."""
    if settings.core_room is None:
        return False
    await queue_item_post(tx, key, item_id, post, now)
    return True
