"""Mail that cannot be understood: recorded, moved to the quarantine folder, never lost.

The operator lists it with ``wijkbode quarantine`` and, after a fix, asks for
``wijkbode quarantine retry ID``; the running intake then moves the mail back
into its inbox folder, where it arrives with a new UID and fresh attempts.
The sender hears (RFC 3834 permitting) that a person will look at it.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from daemon.mail.effects import Correspondent, enqueue_post, enqueue_receipt
from daemon.mail.notices import quarantine_key, quarantine_post
from daemon.mail.settings import IntakeSettings
from daemon.ports.mailbox import RawMail
from daemon.ports.parser import SenderHint
from daemon.publish.receipts import receipt_key, unreadable_receipt
from daemon.store import Tx
from daemon.store.mail import HandledMail, MailOutcome

__all__ = ["quarantine_mail", "synthetic_message_id"]

log = logging.getLogger("wijkbode.mail")


def synthetic_message_id(content_sha256: str) -> str:
    """What names a mail without a readable Message-ID (as the parser does)."""
    return f"<{content_sha256}@wijkbode.invalid>"


async def quarantine_mail(
    tx: Tx,
    settings: IntakeSettings,
    mail: RawMail,
    content_sha256: str,
    reason: str,
    hint: SenderHint | None,
    now: datetime,
) -> HandledMail:
    """Record ``mail`` as quarantined (the move follows the commit) with its effects."""
    sender = hint.address if hint else ""
    subject = hint.subject if hint else ""
    qid = await tx.add_quarantine(
        folder=settings.folder,
        uidvalidity=mail.uidvalidity,
        uid=mail.uid,
        message_id=(hint.message_id or "") if hint else "",
        content_sha256=content_sha256,
        sender=sender,
        subject=subject,
        reason=reason,
        at=now,
    )
    if hint is not None:
        # The headers' verdict is not read from an unreadable mail: with authserv_id
        # nothing verified it, so its receipt is an outsider's even to a partner's
        # address (it waits on, and counts toward, the overall limit). Without it the
        # From decides, as for a readable mail.
        verified_partner = None if settings.authserv_id is None else False
        await enqueue_receipt(
            tx,
            settings,
            replace(Correspondent.of_hint(hint), partner=verified_partner),
            key=receipt_key(mail.uidvalidity, mail.uid),
            now=now,
            compose=lambda to: unreadable_receipt(to, subject),
        )
    post = quarantine_post(
        qid, sender, subject, reason, settings.quarantine_folder, settings.timezone
    )
    await enqueue_post(tx, settings, quarantine_key(qid), post, now=now)
    handled = HandledMail(
        folder=settings.folder,
        uidvalidity=mail.uidvalidity,
        uid=mail.uid,
        message_id=(hint.message_id if hint else None) or synthetic_message_id(content_sha256),
        content_sha256=content_sha256,
        outcome=MailOutcome.QUARANTINED,
        item_id=None,
        sender=sender,
        at=now,
    )
    await tx.record_handled(handled)
    await tx.advance_last_uid(settings.folder, mail.uidvalidity, mail.uid, at=now)
    log.warning(
        # No sender: `wijkbode quarantine` shows it to the operator, the log keeps no address.
        "mail %s/%s quarantined as %d (to %s): %s",
        mail.uidvalidity, mail.uid, qid, settings.quarantine_folder, reason,
    )  # fmt: skip
    return handled
