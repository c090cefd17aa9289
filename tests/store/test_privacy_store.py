"""The store's side of privacy requests: finding every row naming a person in any table,
rewriting and deleting them, and purging the documents of old meetings."""

from __future__ import annotations

import hashlib
from datetime import datetime

import pytest
from store_samples import NOW, file_item, planned_meeting

from daemon.errors import StoreError
from daemon.model import DocumentHash, ItemStatus, Kind
from daemon.store import Store
from daemon.store.privacy import Mention

PDF = "application/pdf"
OLD = planned_meeting(6, month=1)  # January 2027
NEW = planned_meeting(6, month=4)  # April 2027
CUTOFF = datetime(2027, 2, 1, tzinfo=NOW.tzinfo)


def _hash(content: bytes) -> DocumentHash:
    return DocumentHash(hashlib.sha256(content).hexdigest())


ONLY_OLD = _hash(b"notulen januari")
SHARED = _hash(b"huishoudelijk reglement")
ONLY_NEW = _hash(b"begroting april")


async def test_mentions_search_every_text_column_of_every_table(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.sync_meetings([NEW], at=NOW)
        item = await tx.add_item(
            kind=Kind.STUK,
            title="Speeltuin",
            submitter="Jan@Buurt.test",
            received_at=NOW,
            meeting_id=NEW.id,
            late=False,
            decision_ready=True,
            status=ItemStatus.FILED,
            source="mail",
        )
        await file_item(tx, NEW.id, title="Bomen")  # someone else's
        found = await tx.mentions("jan@buurt.test")
    assert [(m.table, m.rowid) for m in found] == [("items", item.id)]
    assert found[0].values["submitter"] == "Jan@Buurt.test"


async def test_rewrite_and_delete_change_only_that_row(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.sync_meetings([NEW], at=NOW)
        mine = await file_item(tx, NEW.id, title="Door jan@buurt.test")
        other = await file_item(tx, NEW.id, title="Bomen")
        [mention] = await tx.mentions("jan@buurt.test")
        await tx.rewrite(mention, {"title": "Door verwijderd-1"})
        changed, kept = await tx.item(mine.id), await tx.item(other.id)
        assert await tx.mentions("jan@buurt.test") == []
    assert changed is not None
    assert changed.title == "Door verwijderd-1"
    assert kept is not None
    assert kept.title == "Bomen"


async def test_purge_drops_documents_of_old_meetings_only(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.sync_meetings([OLD, NEW], at=NOW)
        old_item = await file_item(tx, OLD.id, title="Notulen")
        new_item = await file_item(tx, NEW.id, title="Begroting")
        for sha in (ONLY_OLD, SHARED, ONLY_NEW):
            await tx.add_document(sha, PDF, 10)
        await tx.attach_document(old_item.id, ONLY_OLD, "notulen.pdf", 1, added_at=NOW)
        await tx.attach_document(old_item.id, SHARED, "reglement.pdf", 1, added_at=NOW)
        await tx.attach_document(new_item.id, SHARED, "reglement.pdf", 1, added_at=NOW)
        await tx.attach_document(new_item.id, ONLY_NEW, "begroting.pdf", 1, added_at=NOW)

    async with store.transaction() as tx:
        purged = await tx.purge_documents_before(CUTOFF)
    assert purged.links == 2
    assert purged.hashes == [ONLY_OLD]  # the shared one is still used by April's item

    async with store.reading() as tx:
        old = await tx.item(old_item.id)
        new = await tx.item(new_item.id)
    assert old is not None
    assert old.documents == ()
    assert old.title == "Notulen"  # the item itself stays
    assert new is not None
    assert {d.sha256 for d in new.documents} == {SHARED, ONLY_NEW}


async def test_a_rewrite_that_would_make_a_unique_value_twice_is_refused(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.sync_meetings([NEW], at=NOW)
        item = await file_item(tx, NEW.id)
        await tx.link_thread("<jan@buurt.test>", item.id)
        await tx.link_thread("<verwijderd-1>", item.id)
    async with store.transaction() as tx:
        [mention] = await tx.mentions("jan@buurt.test")
    with pytest.raises(StoreError, match=r"mail_thread_ids #\d+: kan niet herschreven worden"):
        await _rewrite(store, mention, {"message_id": "<verwijderd-1>"})
    async with store.reading() as tx:  # rolled back whole
        assert [m.values["message_id"] for m in await tx.mentions("jan@buurt.test")] == [
            "<jan@buurt.test>"
        ]


async def _rewrite(store: Store, mention: Mention, values: dict[str, str]) -> None:
    async with store.transaction() as tx:
        await tx.rewrite(mention, values)
