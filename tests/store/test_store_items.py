"""Items: filing, agenda order, re-filing and the audit trail, against a real store."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from store_samples import NOW, file_item, planned_meeting

from daemon.model import Item, ItemId, ItemStatus, Kind, MeetingId
from daemon.store import Store

APRIL = planned_meeting(6)
MAY = planned_meeting(11, month=5)


@pytest.fixture
async def planned(store: Store) -> Store:
    async with store.transaction() as tx:
        await tx.sync_meetings([APRIL, MAY], at=NOW)
    return store


async def test_an_item_round_trips_every_field(planned: Store) -> None:
    received = NOW - timedelta(days=1, microseconds=7)
    async with planned.transaction() as tx:
        filed = await tx.add_item(
            kind=Kind.AGENDAPUNT,
            title="Speeltuin Pieter Calandlaan",
            text="Graag bespreken wanneer de speeltuin opengaat.",
            submitter="bewoner@example.org",
            received_at=received,
            meeting_id=MAY.id,
            late=True,
            decision_ready=False,
            status=ItemStatus.AWAITING_ACCEPTANCE,
            source="chat",
            moved_from=APRIL.id,
        )
    expected = Item(
        id=filed.id,
        kind=Kind.AGENDAPUNT,
        title="Speeltuin Pieter Calandlaan",
        submitter="bewoner@example.org",
        received_at=received,
        meeting=MAY.id,
        late=True,
        decision_ready=False,
        status=ItemStatus.AWAITING_ACCEPTANCE,
        source="chat",
        text="Graag bespreken wanneer de speeltuin opengaat.",
        documents=(),
        moved_from=APRIL.id,
        position=1,
    )
    assert filed == expected
    async with planned.reading() as tx:
        assert await tx.item(filed.id) == expected


async def _file_then_fail(store: Store) -> None:
    async with store.transaction() as tx:
        await file_item(tx, APRIL.id)
        raise RuntimeError("afgebroken")


async def test_item_ids_are_never_reused_after_a_rollback(planned: Store) -> None:
    async with planned.transaction() as tx:
        first = await file_item(tx, APRIL.id)
    with pytest.raises(RuntimeError, match="afgebroken"):
        await _file_then_fail(planned)
    async with planned.transaction() as tx:
        second = await file_item(tx, APRIL.id)

    assert second.id > first.id
    assert second.position == 2


async def test_positions_count_per_meeting_and_for_no_meeting(planned: Store) -> None:
    async with planned.transaction() as tx:
        positions = [
            (await file_item(tx, meeting)).position
            for meeting in (APRIL.id, MAY.id, APRIL.id, None, APRIL.id, None)
        ]
    assert positions == [1, 1, 2, 1, 3, 2]


async def test_agenda_order_is_kind_then_filing_order(planned: Store) -> None:
    filing = [
        (Kind.ACTUALITEIT, "Brand in de flat"),
        (Kind.STUK, "Begroting"),
        (Kind.AGENDAPUNT, "Speeltuin"),
        (Kind.TER_KENNISGEVING, "Jaarverslag"),
        (Kind.AGENDAPUNT, "Zwerfvuil"),
        (Kind.STUK, "Wijkplan"),
    ]
    async with planned.transaction() as tx:
        for kind, title in filing:
            await file_item(tx, APRIL.id, kind=kind, title=title)

    async with planned.reading() as tx:
        agenda = await tx.items_for_meeting(APRIL.id)
    assert [(i.kind, i.title) for i in agenda] == [
        (Kind.AGENDAPUNT, "Speeltuin"),
        (Kind.AGENDAPUNT, "Zwerfvuil"),
        (Kind.STUK, "Begroting"),
        (Kind.STUK, "Wijkplan"),
        (Kind.TER_KENNISGEVING, "Jaarverslag"),
        (Kind.ACTUALITEIT, "Brand in de flat"),
    ]


async def test_items_without_meeting_oldest_first(planned: Store) -> None:
    async with planned.transaction() as tx:
        newer = await file_item(tx, None, title="Nieuw", received_at=NOW)
        await file_item(tx, APRIL.id)
        older = await file_item(tx, None, title="Oud", received_at=NOW - timedelta(hours=1))

    async with planned.reading() as tx:
        assert [i.id for i in await tx.items_without_meeting()] == [older.id, newer.id]
        assert await tx.items_for_meeting(MAY.id) == []


async def test_moving_an_item_puts_it_last_and_remembers_where_from(planned: Store) -> None:
    async with planned.transaction() as tx:
        await file_item(tx, MAY.id, title="Al op mei")
        late = await file_item(tx, APRIL.id, title="Te laat")
        moved = await tx.update_item_assignment(
            late.id,
            meeting_id=MAY.id,
            late=True,
            decision_ready=False,
            status=ItemStatus.FILED,
            event="moved",
            detail="stuk te laat, naar de volgende vergadering",
            at=NOW,
        )

    assert (moved.meeting, moved.moved_from, moved.position) == (MAY.id, APRIL.id, 2)
    assert (moved.late, moved.decision_ready) == (True, False)
    async with planned.reading() as tx:
        assert await tx.item(late.id) == moved
        assert await tx.items_for_meeting(APRIL.id) == []


async def test_keeping_an_item_in_its_meeting_keeps_its_place(planned: Store) -> None:
    async with planned.transaction() as tx:
        await file_item(tx, APRIL.id)
        late = await file_item(tx, APRIL.id, title="Te laat")
        kept = await tx.update_item_assignment(
            late.id,
            meeting_id=APRIL.id,
            late=True,
            decision_ready=False,
            status=ItemStatus.TER_BESPREKING,
            event="ter_bespreking",
            detail="kerngroep houdt het ter bespreking, geen besluit",
            at=NOW,
        )
    assert (kept.meeting, kept.moved_from, kept.position) == (APRIL.id, None, 2)
    assert kept.status is ItemStatus.TER_BESPREKING


async def test_planning_an_unplanned_item_is_no_move(planned: Store) -> None:
    async with planned.transaction() as tx:
        waiting = await file_item(tx, None, status=ItemStatus.UNPLANNED)
        placed = await tx.update_item_assignment(
            waiting.id,
            meeting_id=APRIL.id,
            late=False,
            decision_ready=True,
            status=ItemStatus.FILED,
            event="planned",
            detail=APRIL.id,
            at=NOW,
        )
    assert (placed.meeting, placed.moved_from, placed.position) == (APRIL.id, None, 1)


async def test_set_status_and_the_audit_trail(planned: Store) -> None:
    later = NOW + timedelta(hours=3)
    async with planned.transaction() as tx:
        item = await file_item(tx, APRIL.id, status=ItemStatus.AWAITING_ACCEPTANCE)
        accepted = await tx.set_item_status(
            item.id, ItemStatus.FILED, event="accepted", detail="@anna:example.org", at=later
        )
        withdrawn = await tx.set_item_status(
            item.id, ItemStatus.WITHDRAWN, event="withdrawn", detail="", at=later
        )
    assert accepted.status is ItemStatus.FILED
    assert withdrawn.status is ItemStatus.WITHDRAWN

    async with planned.reading() as tx:
        events = await tx.item_events(item.id)
    assert [(e.item, e.at, e.event, e.detail) for e in events] == [
        (item.id, NOW, "filed", f"meeting {APRIL.id}"),
        (item.id, later, "accepted", "@anna:example.org"),
        (item.id, later, "withdrawn", ""),
    ]


async def test_the_confidential_flag_is_kept_with_its_audit_trail(planned: Store) -> None:
    """``!vertrouwelijk`` and ``!openbaar``: the flag survives a reopen of the item and every
    change is an item event with who asked; a new item is not confidential."""
    later = NOW + timedelta(hours=3)
    async with planned.transaction() as tx:
        item = await file_item(tx, APRIL.id)
        kept = await tx.set_item_confidential(
            item.id, True, detail="by @anna:example.org in chat", at=later
        )
    assert item.confidential is False
    assert kept.confidential is True
    async with planned.reading() as tx:
        again = await tx.item(item.id)
        listed = await tx.items_for_meeting(APRIL.id)
    assert again is not None
    assert again.confidential is True
    assert [i.confidential for i in listed] == [True]

    async with planned.transaction() as tx:
        opened = await tx.set_item_confidential(
            item.id, False, detail="by @piet:x in chat", at=later
        )
        events = await tx.item_events(item.id)
    assert opened.confidential is False
    assert [(e.event, e.detail) for e in events] == [
        ("filed", f"meeting {APRIL.id}"),
        ("confidential", "by @anna:example.org in chat"),
        ("public", "by @piet:x in chat"),
    ]


async def test_the_confidential_flag_of_an_unknown_item_is_refused(planned: Store) -> None:
    with pytest.raises(LookupError):
        async with planned.transaction() as tx:
            await tx.set_item_confidential(ItemId(999), True, detail="", at=NOW)


async def test_the_confidential_column_accepts_only_yes_or_no(planned: Store) -> None:
    async with planned.transaction() as tx:
        item = await file_item(tx, APRIL.id)
    with pytest.raises(sqlite3.IntegrityError):
        async with planned.transaction() as tx:
            await tx._conn.execute("UPDATE items SET confidential = 2 WHERE id = ?", (item.id,))


async def test_filed_at_defaults_to_received_at(planned: Store) -> None:
    received = NOW - timedelta(days=2)
    async with planned.transaction() as tx:
        item = await tx.add_item(
            kind=Kind.STUK,
            title="Via de CLI",
            submitter="kerngroep@example.org",
            received_at=received,
            meeting_id=None,
            late=False,
            decision_ready=True,
            status=ItemStatus.UNPLANNED,
            source="cli",
            filed_at=NOW,
        )
        default = await file_item(tx, None, received_at=received)
        events = [*await tx.item_events(item.id), *await tx.item_events(default.id)]
    assert [(e.event, e.at, e.detail) for e in events] == [
        ("filed", NOW, "no meeting planned yet"),
        ("filed", received, "no meeting planned yet"),
    ]


async def test_changing_an_unknown_item_is_a_lookup_error(planned: Store) -> None:
    async with planned.transaction() as tx:
        with pytest.raises(LookupError, match="no item 404"):
            await tx.set_item_status(
                ItemId(404), ItemStatus.WITHDRAWN, event="withdrawn", detail="", at=NOW
            )
        assert await tx.item(ItemId(404)) is None
        assert await tx.item_events(ItemId(404)) == []


async def test_an_item_for_an_unknown_meeting_is_refused(planned: Store) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        async with planned.transaction() as tx:
            await file_item(tx, MeetingId("wijkalliantie-2099-01-01"))


async def test_an_unknown_source_is_refused(planned: Store) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        async with planned.transaction() as tx:
            await tx.add_item(
                kind=Kind.STUK,
                title="Per fax",
                submitter="fax",
                received_at=NOW,
                meeting_id=APRIL.id,
                late=False,
                decision_ready=True,
                status=ItemStatus.FILED,
                source="fax",
            )


async def test_a_naive_time_is_refused_before_sql(planned: Store) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        async with planned.transaction() as tx:
            await file_item(tx, APRIL.id, received_at=NOW.replace(tzinfo=None))
