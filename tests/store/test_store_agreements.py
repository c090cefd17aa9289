"""Afspraken: every one has an owner and a due date; closing as 'cannot' needs a motivation."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta

import pytest
from store_samples import NOW, planned_meeting

from daemon.model import Agreement, AgreementId, AgreementStatus
from daemon.store import Store

APRIL = planned_meeting(6)


async def _add(store: Store, what: str, due: date) -> Agreement:
    async with store.transaction() as tx:
        return await tx.add_agreement(what, "Anna", due, NOW)


async def test_an_agreement_round_trips(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.sync_meetings([APRIL], at=NOW)
        added = await tx.add_agreement(
            "Offerte speeltuin opvragen", "Ymere", date(2027, 4, 20), NOW, APRIL.id
        )
    expected = Agreement(
        id=added.id,
        what="Offerte speeltuin opvragen",
        owner="Ymere",
        due=date(2027, 4, 20),
        status=AgreementStatus.OPEN,
        motivation=None,
        created_at=NOW,
        meeting=APRIL.id,
        closed_at=None,
    )
    assert added == expected
    async with store.reading() as tx:
        assert await tx.agreement(added.id) == expected
        assert await tx.agreement(AgreementId(404)) is None


async def test_open_agreements_soonest_due_first(store: Store) -> None:
    later = await _add(store, "Later", date(2027, 6, 1))
    sooner = await _add(store, "Eerder", date(2027, 5, 1))
    done = await _add(store, "Klaar", date(2027, 4, 1))
    async with store.transaction() as tx:
        closed = await tx.close_agreement(done.id, AgreementStatus.DONE, None, NOW)

    async with store.reading() as tx:
        assert await tx.open_agreements() == [sooner, later]
        assert await tx.agreements() == [closed, sooner, later]


async def test_closing_as_done(store: Store) -> None:
    agreement = await _add(store, "Folder drukken", date(2027, 4, 1))
    async with store.transaction() as tx:
        closed = await tx.close_agreement(agreement.id, AgreementStatus.DONE, None, NOW)

    assert (closed.status, closed.motivation, closed.closed_at) == (AgreementStatus.DONE, None, NOW)


async def test_closing_as_cannot_with_a_motivation(store: Store) -> None:
    agreement = await _add(store, "Buurtschouw", date(2027, 4, 1))
    async with store.transaction() as tx:
        closed = await tx.close_agreement(
            agreement.id, AgreementStatus.CANNOT, "Geen vrijwilligers in april", NOW
        )
    assert closed.status is AgreementStatus.CANNOT
    assert closed.motivation == "Geen vrijwilligers in april"


@pytest.mark.parametrize("motivation", [None, "", "   "])
async def test_cannot_without_a_motivation_is_refused(store: Store, motivation: str | None) -> None:
    agreement = await _add(store, "Buurtschouw", date(2027, 4, 1))
    async with store.transaction() as tx:
        with pytest.raises(ValueError, match="motivation"):
            await tx.close_agreement(agreement.id, AgreementStatus.CANNOT, motivation, NOW)
        assert await tx.agreement(agreement.id) == agreement


async def test_the_table_itself_refuses_cannot_without_motivation(store: Store) -> None:
    """The CHECK holds even for SQL that skips the typed method."""
    agreement = await _add(store, "Buurtschouw", date(2027, 4, 1))
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        async with store.transaction() as tx:
            await tx._conn.execute(
                "UPDATE agreements SET status = 'cannot', motivation = ' ', closed_at = ?"
                " WHERE id = ?",
                ("2027-03-01T12:00:00.000000+00:00", agreement.id),
            )


async def test_closing_twice_or_to_open_is_refused(store: Store) -> None:
    agreement = await _add(store, "Folder drukken", date(2027, 4, 1))
    later = NOW + timedelta(days=1)
    async with store.transaction() as tx:
        closed = await tx.close_agreement(agreement.id, AgreementStatus.DONE, None, NOW)
        with pytest.raises(ValueError, match="already closed"):
            await tx.close_agreement(agreement.id, AgreementStatus.CANNOT, "toch niet", later)
        with pytest.raises(ValueError, match="done or cannot"):
            await tx.close_agreement(agreement.id, AgreementStatus.OPEN, None, later)
        assert await tx.agreement(agreement.id) == closed


async def test_closing_an_unknown_agreement_is_a_lookup_error(store: Store) -> None:
    async with store.transaction() as tx:
        with pytest.raises(LookupError, match="no agreement 404"):
            await tx.close_agreement(AgreementId(404), AgreementStatus.DONE, None, NOW)


async def test_an_agreement_needs_an_owner(store: Store) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        async with store.transaction() as tx:
            await tx.add_agreement("Iets doen", " ", date(2027, 4, 1), NOW)
