"""What one understood mail becomes, each written in the caller's single transaction.

A new item, a new version of an existing item's documents, a reply that
brought nothing to store, or a repeat of a mail filed before. Each also
records the mail as handled (so it is never filed twice) and adds its
receipt and room post to the outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from daemon.filing.submission import IncomingDocument, attach_documents, file_submission
from daemon.mail.advice import answered_advice, file_motivation
from daemon.mail.effects import Correspondent, announce_item, enqueue_post, enqueue_receipt
from daemon.mail.notices import reply_post, reply_post_key
from daemon.mail.settings import IntakeSettings
from daemon.mail.understand import Understood, may_add_version
from daemon.model import Item, ItemId, SeriesId, SeriesRules
from daemon.ports.mail import ParsedMail
from daemon.ports.mailbox import RawMail
from daemon.ports.outbox import MailOut
from daemon.publish.item_posts import item_post_key, new_item_post, new_version_post
from daemon.publish.receipts import ReceiptTo, filed_receipt, receipt_key, version_receipt
from daemon.store import Tx
from daemon.store.mail import HandledMail, MailOutcome

__all__ = ["Arrival", "file_mail", "record_repeat"]

log = logging.getLogger("wijkbode.mail")


@dataclass(frozen=True, slots=True)
class Arrival:
    """One mail as the intake has it by now: raw, parsed, understood, files stored."""

    mail: RawMail
    parsed: ParsedMail
    understood: Understood
    documents: tuple[IncomingDocument, ...]
    now: datetime

    def handled(self, outcome: MailOutcome, item_id: ItemId | None, folder: str) -> HandledMail:
        return HandledMail(
            folder=folder,
            uidvalidity=self.mail.uidvalidity,
            uid=self.mail.uid,
            message_id=self.parsed.message_id,
            content_sha256=self.parsed.content_sha256,
            outcome=outcome,
            item_id=item_id,
            sender=self.parsed.from_address,
            at=self.now,
        )

    @property
    def received_at(self) -> datetime:
        """When our server received it: what deadlines are judged by."""
        return self.understood.submission.received_at

    @property
    def receipt_key(self) -> str:
        return receipt_key(self.mail.uidvalidity, self.mail.uid)


async def file_mail(tx: Tx, settings: IntakeSettings, arrival: Arrival) -> HandledMail:
    """File the mail: as a version of the item its thread names (when allowed), else a new item.

    A partner's reply to a non-binding advice's request is its motivation instead.
    """
    advice = await answered_advice(tx, settings, arrival.understood, arrival.parsed)
    if advice is not None:
        item_id = await file_motivation(tx, settings, advice, arrival.parsed, arrival.now)
        handled = arrival.handled(MailOutcome.IGNORED, item_id, settings.folder)
        await _finish(tx, settings, handled)
        return handled
    item = await _thread_item(tx, arrival.understood)
    if item is not None and _continues(item, arrival, settings):
        handled = await _add_version(tx, settings, arrival, item)
    else:
        version_of = _unverified_version_of(item, arrival.understood, settings)
        handled = await _file_new(tx, settings, arrival, version_of)
    if not arrival.parsed.message_id_synthesized and handled.item_id is not None:
        await tx.link_thread(arrival.parsed.message_id, handled.item_id)
    await _finish(tx, settings, handled)
    return handled


async def record_repeat(
    tx: Tx, settings: IntakeSettings, mail: RawMail, earlier: HandledMail, now: datetime
) -> HandledMail:
    """The same bytes were filed before (a renumbered folder, a mail moved back): no new item."""
    handled = replace(
        earlier,
        folder=settings.folder,
        uidvalidity=mail.uidvalidity,
        uid=mail.uid,
        outcome=MailOutcome.REPEAT,
        at=now,
        moved_at=None,
    )
    await _finish(tx, settings, handled)
    log.info(
        "mail %s/%s repeats %s/%s (item %s): not filed again",
        mail.uidvalidity, mail.uid, earlier.uidvalidity, earlier.uid, earlier.item_id,
    )  # fmt: skip
    return handled


async def _finish(tx: Tx, settings: IntakeSettings, handled: HandledMail) -> None:
    await tx.record_handled(handled)
    await tx.advance_last_uid(settings.folder, handled.uidvalidity, handled.uid, at=handled.at)


async def _thread_item(tx: Tx, understood: Understood) -> Item | None:
    """The item this mail continues, by ``[WB-n]`` or by its thread (whoever sent it)."""
    item_id = ItemId(understood.item_ref) if understood.item_ref else None
    if item_id is None:
        item_id = await tx.item_for_thread(understood.thread_ids)
    return None if item_id is None else await tx.item(item_id)


def _continues(item: Item, arrival: Arrival, settings: IntakeSettings) -> bool:
    """Whether the mail continues ``item``: a version of its stukken, or a reply from its
    submitter that brings no files.

    Such a reply adds nothing to the item (only a post to the room), so it needs no
    verified sender: an out-of-office quoting ``[WB-n]`` stays a reply each time, not a
    new item with a receipt each time.
    """
    understood = arrival.understood
    if may_add_version(item, understood, settings.partners):
        return True
    brings_files = bool(arrival.parsed.attachments or arrival.parsed.rejected_attachments)
    return not brings_files and _unverified_version_of(item, understood, settings) is not None


def _unverified_version_of(
    item: Item | None, understood: Understood, settings: IntakeSettings
) -> ItemId | None:
    """The item this mail would have been a version of, had our server verified its sender.

    Its ``[WB-n]`` is gone from the new item's title; the room post names it, so the
    core group sees what it looks like (and that it may be a forgery). A partner's item
    likewise, from a mail naming that partner that our server did not verify.
    """
    if item is None or understood.verified is not False:
        return None
    as_if = replace(
        understood, verified=True, partner=understood.unverified_partner or understood.partner
    )
    if not may_add_version(item, as_if, settings.partners):
        return None
    return item.id


async def _enqueue_item_receipt(
    tx: Tx,
    settings: IntakeSettings,
    arrival: Arrival,
    item_id: ItemId,
    compose: Callable[[ReceiptTo], MailOut],
) -> None:
    """Queue the receipt for this mail to its sender, threaded on the item."""
    correspondent = replace(
        Correspondent.of(arrival.parsed),
        auth_failed=arrival.understood.auth_failure is not None,
        # A partner's receipt only for the partner our server verified (or, without
        # authserv_id, named): an unverified one waits on the limit for outsiders.
        partner=arrival.understood.partner is not None,
    )
    await enqueue_receipt(
        tx,
        settings,
        correspondent,
        key=arrival.receipt_key,
        now=arrival.now,
        item_id=item_id,
        compose=compose,
    )


def _series_rules(settings: IntakeSettings, series: SeriesId | None) -> SeriesRules:
    return settings.filing.rules[series or settings.filing.default_series]


async def _file_new(
    tx: Tx, settings: IntakeSettings, arrival: Arrival, version_of: ItemId | None
) -> HandledMail:
    submission = replace(arrival.understood.submission, documents=arrival.documents)
    filed = await file_submission(tx, submission, settings.filing)
    item = filed.item
    rules = _series_rules(settings, submission.series)
    await _enqueue_item_receipt(
        tx,
        settings,
        arrival,
        item.id,
        lambda to: filed_receipt(
            to,
            filed,
            rules,
            stored=[d.filename for d in arrival.documents],
            rejected=arrival.parsed.rejected_attachments,
            limits=settings.limits,
            unverified=arrival.understood.unverified_partner is not None,
        ),
    )
    post = new_item_post(
        filed, arrival.understood.sender, settings.filing, unverified_version_of=version_of
    )
    await announce_item(tx, settings, item_post_key(item.id), item.id, post, now=arrival.now)
    log.info(
        "mail %s/%s filed as item %s (%s, meeting %s, %s%s)",
        arrival.mail.uidvalidity, arrival.mail.uid, item.id, item.kind.value, item.meeting,
        item.status.value, ", late" if item.late else "",
    )  # fmt: skip
    return arrival.handled(MailOutcome.FILED, item.id, settings.folder)


async def _add_version(
    tx: Tx, settings: IntakeSettings, arrival: Arrival, item: Item
) -> HandledMail:
    version = await attach_documents(tx, item, arrival.documents, arrival.received_at)
    meeting = await tx.meeting(item.meeting) if item.meeting else None
    rules = _series_rules(settings, meeting.series if meeting else None)
    rejected = arrival.parsed.rejected_attachments
    if version or rejected:
        await _enqueue_item_receipt(
            tx,
            settings,
            arrival,
            item.id,
            lambda to: version_receipt(
                to,
                item,
                version or None,
                meeting,
                rules,
                received_at=arrival.received_at,
                stored=[d.filename for d in arrival.documents],
                rejected=rejected,
                limits=settings.limits,
            ),
        )
    sender = arrival.understood.sender
    if version:
        documents = await tx.documents_of(item.id, version)
        post = new_version_post(item, version, documents, sender, meeting, settings.filing)
        await enqueue_post(tx, settings, item_post_key(item.id, version), post, now=arrival.now)
        log.info("mail %s/%s: version %s of item %s", arrival.mail.uidvalidity, arrival.mail.uid,
                 version, item.id)  # fmt: skip
        return arrival.handled(MailOutcome.VERSION, item.id, settings.folder)
    post = reply_post(item, sender, arrival.parsed.subject, settings.timezone)
    key = reply_post_key(arrival.mail.uidvalidity, arrival.mail.uid)
    await enqueue_post(tx, settings, key, post, now=arrival.now)
    log.info("mail %s/%s: reply about item %s without documents", arrival.mail.uidvalidity,
             arrival.mail.uid, item.id)  # fmt: skip
    return arrival.handled(MailOutcome.IGNORED, item.id, settings.folder)
