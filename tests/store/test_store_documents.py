"""Documents of items: content records, versions, and which version an item shows."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import timedelta

import pytest
from store_samples import NOW, file_item, planned_meeting

from daemon.model import Document, DocumentHash, ItemId
from daemon.store import Store

APRIL = planned_meeting(6)
PDF = "application/pdf"


def _hash(content: bytes) -> DocumentHash:
    return DocumentHash(hashlib.sha256(content).hexdigest())


V1_AGENDA = _hash(b"agenda v1")
V1_BUDGET = _hash(b"begroting v1")
V2_BUDGET = _hash(b"begroting v2")


@pytest.fixture
async def item_id(store: Store) -> ItemId:
    async with store.transaction() as tx:
        await tx.sync_meetings([APRIL], at=NOW)
        item = await file_item(tx, APRIL.id)
        for sha, size in ((V1_AGENDA, 9), (V1_BUDGET, 12), (V2_BUDGET, 12)):
            await tx.add_document(sha, PDF, size)
    return item.id


async def test_versions_count_from_one(store: Store, item_id: ItemId) -> None:
    async with store.transaction() as tx:
        assert await tx.next_document_version(item_id) == 1
        first = await tx.attach_document(item_id, V1_AGENDA, "agenda.pdf", 1, added_at=NOW)
        assert await tx.next_document_version(item_id) == 2

    assert first == Document(V1_AGENDA, "agenda.pdf", PDF, 9)


async def test_an_item_shows_its_latest_version_unless_asked(store: Store, item_id: ItemId) -> None:
    later = NOW + timedelta(days=1)
    async with store.transaction() as tx:
        await tx.attach_document(item_id, V1_AGENDA, "agenda.pdf", 1, added_at=NOW)
        await tx.attach_document(item_id, V1_BUDGET, "begroting.pdf", 1, added_at=NOW)
        version = await tx.next_document_version(item_id)
        await tx.attach_document(item_id, V2_BUDGET, "begroting-v2.pdf", version, added_at=later)

    first = (
        Document(V1_AGENDA, "agenda.pdf", PDF, 9),
        Document(V1_BUDGET, "begroting.pdf", PDF, 12),
    )
    latest = (Document(V2_BUDGET, "begroting-v2.pdf", PDF, 12),)
    async with store.reading() as tx:
        assert tuple(await tx.documents_of(item_id)) == latest
        assert tuple(await tx.documents_of(item_id, 1)) == first
        assert tuple(await tx.documents_of(item_id, 3)) == ()
        assert await tx.next_document_version(item_id) == 3
        item = await tx.item(item_id)
        assert item is not None
        assert item.documents == latest
        old = await tx.item(item_id, document_version=1)
        assert old is not None
        assert old.documents == first
        [on_agenda] = await tx.items_for_meeting(APRIL.id)
        assert on_agenda.documents == latest


async def test_items_in_a_list_carry_only_their_own_documents(
    store: Store, item_id: ItemId
) -> None:
    async with store.transaction() as tx:
        other = await file_item(tx, APRIL.id, title="Zonder stukken")
        unplanned = await file_item(tx, None, title="Nog geen vergadering")
        await tx.attach_document(item_id, V1_AGENDA, "agenda.pdf", 1, added_at=NOW)
        await tx.attach_document(unplanned.id, V1_AGENDA, "zelfde-inhoud.pdf", 1, added_at=NOW)

    async with store.reading() as tx:
        agenda = await tx.items_for_meeting(APRIL.id)
        [waiting] = await tx.items_without_meeting()
    assert {i.id: i.documents for i in agenda} == {
        item_id: (Document(V1_AGENDA, "agenda.pdf", PDF, 9),),
        other.id: (),
    }
    assert waiting.documents == (Document(V1_AGENDA, "zelfde-inhoud.pdf", PDF, 9),)


async def test_known_content_keeps_its_first_record(store: Store, item_id: ItemId) -> None:
    async with store.transaction() as tx:
        await tx.add_document(V1_AGENDA, "application/octet-stream", 9)
        attached = await tx.attach_document(item_id, V1_AGENDA, "agenda.pdf", 1, added_at=NOW)
    assert attached.content_type == PDF


async def test_the_same_content_under_two_names_keeps_both_names(
    store: Store, item_id: ItemId
) -> None:
    """What the receipt lists is what the item shows; the same name twice is one document."""
    async with store.transaction() as tx:
        first = await tx.attach_document(item_id, V1_AGENDA, "agenda.pdf", 1, added_at=NOW)
        again = await tx.attach_document(item_id, V1_AGENDA, "kopie.pdf", 1, added_at=NOW)
        await tx.attach_document(item_id, V1_AGENDA, "agenda.pdf", 1, added_at=NOW)
        documents = await tx.documents_of(item_id)
    assert again == Document(V1_AGENDA, "kopie.pdf", PDF, 9)
    assert documents == [first, again]


async def test_content_stored_on_disk_and_recorded(store: Store, item_id: ItemId) -> None:
    """The file is named by its hash; the record points at the same hash."""
    content = b"%PDF-1.7 notulen"
    sha = await store.documents.put(content)
    async with store.transaction() as tx:
        await tx.add_document(sha, PDF, len(content))
        attached = await tx.attach_document(item_id, sha, "notulen.pdf", 1, added_at=NOW)
    assert await store.documents.get(attached.sha256) == content
    assert store.documents.path_of(sha).name == sha


async def test_unknown_content_cannot_be_attached(store: Store, item_id: ItemId) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        async with store.transaction() as tx:
            await tx.attach_document(item_id, _hash(b"nooit opgeslagen"), "x.pdf", 1, added_at=NOW)


async def test_a_malformed_hash_is_refused(store: Store) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        async with store.transaction() as tx:
            await tx.add_document(DocumentHash("../../etc/passwd"), PDF, 1)
