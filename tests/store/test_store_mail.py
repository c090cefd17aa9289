"""The mail intake's tables: position, handled mail, attempts, quarantine, threads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from daemon.model import ItemId, ItemStatus, Kind
from daemon.ports.outbox import ChannelName, MailOut, NewEffect
from daemon.store import Store
from daemon.store.mail import (
    FolderState,
    HandledMail,
    MailOutcome,
    QuarantineRetry,
    QuarantineStatus,
)

AT = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
SHA = "a" * 64


async def _item(store: Store) -> ItemId:
    async with store.transaction() as tx:
        item = await tx.add_item(
            kind=Kind.STUK,
            title="Jaarverslag",
            submitter="p@gemeente.test",
            received_at=AT,
            meeting_id=None,
            late=False,
            decision_ready=False,
            status=ItemStatus.UNPLANNED,
            source="mail",
        )
    return item.id


def _handled(uid: int, item: ItemId | None, outcome: MailOutcome) -> HandledMail:
    return HandledMail("INBOX", 7, uid, "<m@x>", SHA, outcome, item, "p@gemeente.test", AT)


async def test_folder_state_advances_only_forward(store: Store) -> None:
    async with store.transaction() as tx:
        assert await tx.folder_state("INBOX") is None
        await tx.set_folder_state("INBOX", 7, 0, at=AT)
        await tx.advance_last_uid("INBOX", 7, 5, at=AT)
        await tx.advance_last_uid("INBOX", 7, 3, at=AT)
        await tx.advance_last_uid("INBOX", 8, 9, at=AT)  # another numbering: no effect
        assert await tx.folder_state("INBOX") == FolderState("INBOX", 7, 5)


async def test_handled_mail_is_found_by_uid_and_by_message_id_plus_hash(store: Store) -> None:
    item = await _item(store)
    async with store.transaction() as tx:
        await tx.record_handled(_handled(3, item, MailOutcome.FILED))
        assert (await tx.handled_mail("INBOX", 7, 3)) == _handled(3, item, MailOutcome.FILED)
        assert (await tx.filed_before("<m@x>", SHA)) == _handled(3, item, MailOutcome.FILED)
        assert await tx.filed_before("<m@x>", "b" * 64) is None
        assert [m.uid for m in await tx.unmoved_mail("INBOX", 7)] == [3]
        await tx.mark_moved("INBOX", 7, 3, at=AT)
        assert await tx.unmoved_mail("INBOX", 7) == []


async def test_attempts_are_counted_and_cleared_when_handled(store: Store) -> None:
    async with store.transaction() as tx:
        assert await tx.count_attempt("INBOX", 7, 4, at=AT) == 1
        assert await tx.count_attempt("INBOX", 7, 4, at=AT) == 2
        await tx.record_attempt_error("INBOX", 7, 4, "timeout: 20 s")
        assert await tx.attempt_state("INBOX", 7, 4) == (2, "timeout: 20 s")
        await tx.record_handled(_handled(4, None, MailOutcome.QUARANTINED))
        assert await tx.attempt_state("INBOX", 7, 4) == (0, "")


async def test_quarantine_retry_is_requested_once(store: Store) -> None:
    async with store.transaction() as tx:
        qid = await tx.add_quarantine(
            folder="INBOX",
            uidvalidity=7,
            uid=4,
            message_id="<m@x>",
            content_sha256=SHA,
            sender="p@gemeente.test",
            subject="Broken",
            reason="no_headers",
            at=AT,
        )
        assert await tx.request_quarantine_retry(qid) == QuarantineRetry.REQUESTED
        assert await tx.request_quarantine_retry(qid) == QuarantineRetry.NOT_QUARANTINED
        assert await tx.request_quarantine_retry(qid + 1) == QuarantineRetry.UNKNOWN
        assert [q.id for q in await tx.quarantined([QuarantineStatus.RETRY])] == [qid]
        await tx.mark_quarantine_retried(qid, at=AT)
        mail = await tx.quarantined_mail(qid)
        assert mail is not None
        assert (mail.status, mail.retried_at) == (QuarantineStatus.RETRIED, AT)


async def test_thread_lookup_prefers_the_latest_reference(store: Store) -> None:
    first, second = await _item(store), await _item(store)
    async with store.transaction() as tx:
        await tx.link_thread("<a@x>", first)
        await tx.link_thread("<b@x>", second)
        await tx.link_thread("<a@x>", second)  # the first link stays
        assert await tx.item_for_thread(["<a@x>", "<zz@x>"]) == first
        assert await tx.item_for_thread(["<a@x>", "<b@x>"]) == second
        assert await tx.item_for_thread([]) is None


async def test_receipts_are_counted_per_address_within_the_window(store: Store) -> None:
    async with store.transaction() as tx:
        for n, when in enumerate([AT - timedelta(hours=2), AT - timedelta(minutes=5), AT]):
            mail = MailOut(to=("p@x.test",), subject="s", text="t", message_id=f"<{n}@x>")
            effect = NewEffect(ChannelName.MAIL, "p@x.test", f"receipt/{n}", mail)
            await tx.enqueue(effect, now=when)
        assert await tx.receipts_since("p@x.test", AT - timedelta(hours=1)) == 2
        assert await tx.receipts_since("q@x.test", AT - timedelta(hours=1)) == 0


async def test_outsider_receipts_are_those_within_the_window_not_marked_a_partners(
    store: Store,
) -> None:
    sent = [
        ("a@x.test", "receipt/0", AT - timedelta(hours=2), True),  # before the window
        ("b@x.test", "receipt/1", AT - timedelta(minutes=5), True),
        ("b@x.test", "receipt/2", AT, True),
        ("c@gemeente.test", "receipt/3", AT, True),  # a partner's address, unverified
        ("p@gemeente.test", "receipt/4", AT, False),  # a verified partner's: left out
        ("e@x.test", "receipt/5", AT, None),  # queued before 0017: unmarked
        ("d@x.test", "notice/6", AT, True),  # not a receipt
    ]
    async with store.transaction() as tx:
        for n, (to, key, when, outside) in enumerate(sent):
            mail = MailOut(to=(to,), subject="s", text="t", message_id=f"<{n}@x>")
            await tx.enqueue(NewEffect(ChannelName.MAIL, to, key, mail), now=when)
            if outside is not None:
                await tx.mark_receipt(key, outside_partners=outside)
        found = await tx.outsider_receipts_since(AT - timedelta(hours=1))
    assert sorted(found, key=str) == sorted(
        [("b@x.test", True), ("b@x.test", True), ("c@gemeente.test", True), ("e@x.test", None)],
        key=str,
    )
