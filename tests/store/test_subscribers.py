"""The residents' subscriptions in the store (migration 0012): stored only until deleted,
and deleted for real: the address is gone from the database's files, not only hidden."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from daemon.publish.subscriptions import address_hash, new_token, token_hash
from daemon.store import DATABASE_NAME, Store

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
ADDRESS = "bewoner.uniek.adres@example.org"


async def _add(store: Store, address: str = ADDRESS, *, expires: datetime | None = None) -> int:
    confirm = new_token()
    async with store.transaction() as tx:
        assert await tx.add_subscriber(
            address=address,
            address_hash=address_hash(address),
            language="nl",
            confirm_hash=token_hash(confirm),
            confirm_expires=expires or NOW + timedelta(hours=48),
            unsubscribe_token=new_token(),
            now=NOW,
        )
        found = await tx.subscriber_id_by_address_hash(address_hash(address))
    assert found is not None
    return found


def _files_hold(state: Path, needle: bytes) -> bool:
    return any(
        needle in path.read_bytes()
        for path in state.iterdir()
        if path.name.startswith(DATABASE_NAME)
    )


async def test_an_address_is_stored_once_and_only_confirmed_ones_get_mail(store: Store) -> None:
    first = await _add(store)
    async with store.transaction() as tx:
        again = await tx.add_subscriber(
            address=ADDRESS, address_hash=address_hash(ADDRESS), language="en",
            confirm_hash=token_hash(new_token()), confirm_expires=NOW + timedelta(hours=1),
            unsubscribe_token=new_token(), now=NOW,
        )  # fmt: skip
        assert again is False
        assert await tx.confirmed_subscriber_ids() == []
        assert await tx.confirm_subscriber(first, NOW)
        assert not await tx.confirm_subscriber(first, NOW)  # a second click changes nothing
        assert await tx.confirmed_subscriber_ids() == [first]
        found = await tx.subscriber(first)
    assert found is not None
    assert (found.confirmed, found.confirm_expires) == (True, None)
    assert ADDRESS not in repr(found)


async def test_an_expired_confirmation_deletes_the_address(store: Store) -> None:
    await _add(store, expires=NOW + timedelta(hours=1))
    kept = await _add(store, "another@example.org", expires=NOW + timedelta(hours=3))
    async with store.transaction() as tx:
        assert await tx.purge_unconfirmed(NOW + timedelta(hours=2)) == 1
        assert await tx.subscriber_id_by_address_hash(address_hash(ADDRESS)) is None
        assert await tx.subscriber(kept) is not None


async def test_unsubscribing_removes_the_address_from_the_files(tmp_path: Path) -> None:
    state = tmp_path / "state"
    store = await Store.open(state)
    try:
        subscriber = await _add(store)
        async with store.transaction() as tx:
            await tx.confirm_subscriber(subscriber, NOW)
        await store.truncate_wal()
        assert _files_hold(state, ADDRESS.encode())
        async with store.transaction() as tx:
            assert await tx.delete_subscriber(subscriber)
            assert await tx.subscriber(subscriber) is None
        await store.truncate_wal()
        assert not _files_hold(state, ADDRESS.encode())
    finally:
        await store.close()
    assert not _files_hold(state, ADDRESS.encode())


async def test_the_desk_deletes_expired_confirmations_without_waiting_for_a_sign_up(
    tmp_path: Path,
) -> None:
    from zoneinfo import ZoneInfo

    from daemon.publish.public_page import PageComposer, SiteLinks
    from daemon.publish.subscription_desk import Desk
    from daemon.publish.subscriptions import SubscriptionLinks

    state = tmp_path / "state"
    store = await Store.open(state)
    try:
        await _add(store, expires=NOW + timedelta(hours=1))
        pages = PageComposer(SiteLinks("https://wijk.example.org"), ZoneInfo("Europe/Amsterdam"))
        later = NOW + timedelta(hours=2)
        desk = Desk(store, lambda: later, pages, SubscriptionLinks("https://w.example"), "w.test")
        assert await desk.purge() == 1
        assert not _files_hold(state, ADDRESS.encode())
    finally:
        await store.close()
