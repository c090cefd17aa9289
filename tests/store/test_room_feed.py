"""The room feed posts each filed item exactly once: singly, or as one digest after a burst."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
from store_samples import NOW, file_item, planned_meeting

from daemon.chat.parsing import RejectItem, RejectItems, parse_request
from daemon.clock import ManualClock
from daemon.model import ItemId, ItemStatus
from daemon.ports.outbox import ChatPost
from daemon.publish.bulk_reject import MAX_ITEMS_PER_COMMAND
from daemon.publish.room_feed import FeedSettings, RoomFeed, queue_item_post
from daemon.store import Store

ROOM = "!core:localhost"
AWAITING = ItemStatus.AWAITING_ACCEPTANCE


def feed(store: Store, threshold: int = 5) -> RoomFeed:
    return RoomFeed(store, ManualClock(NOW), FeedSettings(ROOM, digest_threshold=threshold))


async def _file(
    store: Store, titles: list[str], status: ItemStatus = ItemStatus.FILED
) -> list[int]:
    april = planned_meeting(6)
    async with store.transaction() as tx:
        await tx.sync_meetings([april], at=NOW)
        ids = []
        for title in titles:
            item = await file_item(tx, april.id, title=title, status=status)
            post = ChatPost(body=f"filed #{item.id} {item.title}", html=f"<p>#{item.id}</p>")
            await queue_item_post(tx, f"item/{item.id}/post", item.id, post, NOW)
            ids.append(item.id)
    return ids


async def _posts(store: Store) -> list[tuple[str, str]]:
    async with store.reading() as tx:
        rows = await tx._fetch_all("SELECT key, payload FROM outbox ORDER BY id")
    return [(row["key"], json.loads(row["payload"])["body"]) for row in rows]


async def test_a_few_items_get_a_post_each(store: Store) -> None:
    ids = await _file(store, ["Begroting", "Groen"])
    assert await feed(store).flush() == 2
    posts = await _posts(store)
    assert [body for _, body in posts] == [f"filed #{ids[0]} Begroting", f"filed #{ids[1]} Groen"]
    assert [key for key, _ in posts] == [f"item/{ids[0]}/post", f"item/{ids[1]}/post"]


async def test_a_burst_becomes_one_digest(store: Store) -> None:
    await _file(store, [f"Stuk {n}" for n in range(200)])
    assert await feed(store).flush() == 1
    [(key, body)] = await _posts(store)
    assert key.startswith("feed/digest/")
    assert body.startswith("200 nieuwe items ingediend:")
    assert "… en nog 160; zie !agenda." in body
    assert "— English —\n200 new items were filed:" in body
    assert "!weiger" not in body  # none of them awaits acceptance


async def test_a_digest_ends_with_the_one_command_that_rejects_what_awaits_acceptance(
    store: Store,
) -> None:
    """Security finding 1: a flood of mail from outside the partners is cleared with one
    message, which the digest gives; the partners' items in the burst are not in it."""
    partners = await _file(store, ["Jaarverslag", "Begroting"])
    flood = await _file(store, [f"Goedkope pillen {n}" for n in range(60)], AWAITING)
    partners += await _file(store, ["Groen"])
    assert await feed(store).flush() == 1
    [(_, body)] = await _posts(store)
    dutch, english = body.split("\n\n— English —\n")
    first, last = f"WB-{flood[0]}", f"WB-{flood[-1]}"
    assert dutch.splitlines()[-2:] == [
        f"Hiervan wachten er 60 op acceptatie ({first} t/m {last}). Alle weigeren? Stuur dit"
        " ene bericht:",
        f"!weiger {first} t/m {last}",
    ]
    assert english.splitlines()[-2:] == [
        f"60 of these await acceptance ({first} to {last}). To reject them all, send this one"
        " message:",
        f"!reject {first} to {last}",
    ]
    marked = [line for line in dutch.splitlines() if "wacht op acceptatie / awaiting" in line]
    assert [line.split()[1] for line in marked] == [f"WB-{n}" for n in flood[: 40 - 2]]
    for command in (dutch.splitlines()[-1], english.splitlines()[-1]):
        request = parse_request(command, received_at=NOW)
        assert isinstance(request, RejectItems)
        assert flood == list(request.items.ids())
    async with store.reading() as tx:
        row = await tx._fetch_one("SELECT payload FROM outbox")
    assert row is not None
    assert f"<code>!weiger {first} t/m {last}</code>" in json.loads(row["payload"])["html"]


async def test_a_flood_beyond_one_command_gets_a_command_per_500_items(store: Store) -> None:
    flood = await _file(store, [f"Spam {n}" for n in range(1001)], AWAITING)
    assert await feed(store).flush() == 1
    [(_, body)] = await _posts(store)
    dutch = body.split("\n\n— English —\n")[0].splitlines()
    assert dutch[-4].endswith("Stuur deze 3 berichten (elk hoogstens 500 items):")
    assert str(MAX_ITEMS_PER_COMMAND) in dutch[-4]
    named: list[int] = []
    for command in dutch[-3:]:
        request = parse_request(command, received_at=NOW)
        if isinstance(request, RejectItem):  # the last one names one item: the one-item form
            named.append(request.item)
        else:
            assert isinstance(request, RejectItems)
            named += request.items.ids()
    assert flood == named
    assert dutch[-1] == f"!weiger WB-{flood[-1]}"


async def test_nothing_is_posted_twice(store: Store) -> None:
    await _file(store, ["Begroting"])
    assert await feed(store).flush() == 1
    assert await feed(store).flush() == 0
    assert len(await _posts(store)) == 1


async def test_posted_marks_survive_a_restart(tmp_path: Path, store: Store) -> None:
    await _file(store, ["Begroting"])
    await feed(store).flush()
    await store.close()
    reopened = await Store.open(tmp_path / "state")
    try:
        assert await feed(reopened).flush() == 0
        assert len(await _posts(reopened)) == 1
    finally:
        await reopened.close()


async def test_a_failed_flush_leaves_everything_waiting(store: Store) -> None:
    await _file(store, ["Begroting"])
    failing = RoomFeed(store, ManualClock(NOW), FeedSettings(""))  # an invalid destination
    with pytest.raises(sqlite3.IntegrityError):
        await failing.flush()
    assert await _posts(store) == []
    assert await feed(store).flush() == 1


async def test_queueing_the_same_post_twice_keeps_one(store: Store) -> None:
    [item_id] = await _file(store, ["Begroting"])
    async with store.transaction() as tx:
        again = ChatPost(body="again", html="")
        await queue_item_post(tx, f"item/{item_id}/post", item_id, again, NOW)
    assert await feed(store).flush() == 1
    assert [body for _, body in await _posts(store)] == [f"filed #{item_id} Begroting"]


async def test_sender_text_in_a_digest_is_escaped(store: Store) -> None:
    await _file(store, ["<b>@room</b>"] * 6)
    await feed(store).flush()
    async with store.reading() as tx:
        row = await tx._fetch_one("SELECT payload FROM outbox")
    assert row is not None
    html = json.loads(row["payload"])["html"]
    assert "<b>" not in html
    assert "&lt;b&gt;@\u2060room&lt;/b&gt;" in html


async def _withdraw(store: Store, item_ids: list[int]) -> None:
    async with store.transaction() as tx:
        for item_id in item_ids:
            await tx.set_item_status(
                ItemId(item_id), ItemStatus.WITHDRAWN, event="withdrawn", detail="", at=NOW
            )


async def test_a_digest_names_items_wb_n_and_leaves_out_withdrawn_ones(store: Store) -> None:
    ids = await _file(store, [f"Stuk {n}" for n in range(7)])
    await _withdraw(store, ids[:2])
    assert await feed(store).flush() == 1
    [(_, body)] = await _posts(store)
    assert body.startswith("5 nieuwe items ingediend:")
    dutch = body.partition("— English —")[0]
    assert [line.split()[1] for line in dutch.splitlines()[1:] if line] == [
        f"WB-{item_id}" for item_id in ids[2:]
    ]
    assert "Stuk 0" not in body
    assert "Stuk 1" not in body
    assert "#" not in body


async def test_a_withdrawn_item_is_not_posted_as_new_but_leaves_the_feed(store: Store) -> None:
    ids = await _file(store, ["Begroting", "Groen"])
    await _withdraw(store, ids[:1])
    assert await feed(store).flush() == 1
    assert [body for _, body in await _posts(store)] == [f"filed #{ids[1]} Groen"]
    assert await feed(store).flush() == 0


async def test_a_cancel_that_arrives_with_a_wake_stops_the_feed(store: Store) -> None:
    # Python 3.11's asyncio.wait_for returned the result and dropped a cancel that came
    # in the same tick as the event it waited for: the daemon then never stopped.
    room_feed = feed(store)
    running = asyncio.create_task(room_feed.run())
    await asyncio.sleep(0.05)  # waiting for an arrival now
    room_feed.wake()
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(5):
            await running
