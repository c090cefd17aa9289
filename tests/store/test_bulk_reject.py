"""``!weiger`` of many items on a real store (security finding 1, mail floods): each item
awaiting acceptance is rejected exactly as ``!weiger ID`` rejects one, the others are left
as they were, and the answer is one message. ``run_command`` as the chat intake calls it."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from store_samples import NOW, file_item, planned_meeting

from daemon.chat.actions import ChatSettings, Origin
from daemon.chat.commands import run_command
from daemon.chat.parsing import Command, RejectItem, RejectItems, parse_request
from daemon.engine.scheduler import EngineSettings
from daemon.filing.submission import FilingRules
from daemon.model import ItemId, ItemStatus, SeriesId
from daemon.publish.scheduled import Targets
from daemon.rules.defaults import AGREEMENT_REMINDERS, WIJKALLIANTIE
from daemon.store import Store

AMS = ZoneInfo("Europe/Amsterdam")
SETTINGS = ChatSettings(
    FilingRules(AMS, SeriesId("wijkalliantie"), {SeriesId("wijkalliantie"): WIJKALLIANTIE}),
    EngineSettings(AMS, {}, AGREEMENT_REMINDERS, Targets()),
)
AWAITING = ItemStatus.AWAITING_ACCEPTANCE


def command(text: str) -> Command:
    request = parse_request(text, received_at=NOW)
    assert isinstance(request, RejectItem | RejectItems), request
    return request


async def ask(store: Store, text: str, n: int = 1) -> str:
    origin = Origin("!kern:x", f"$ev{n}", "@kees:x", NOW)
    async with store.transaction() as tx:
        result = await run_command(tx, command(text), origin, SETTINGS, NOW + timedelta(hours=n))
    return result.reply.body


async def _file(store: Store, statuses: list[ItemStatus]) -> list[ItemId]:
    april = planned_meeting(6)
    async with store.transaction() as tx:
        await tx.sync_meetings([april], at=NOW)
        return [
            (await file_item(tx, april.id, title=f"Item {n}", status=status)).id
            for n, status in enumerate(statuses)
        ]


async def _trail(store: Store, item_id: ItemId) -> list[tuple[str, str]]:
    async with store.reading() as tx:
        return [(e.event, e.detail) for e in await tx.item_events(item_id)]


async def _status(store: Store, item_id: ItemId) -> ItemStatus:
    async with store.reading() as tx:
        item = await tx.item(item_id)
    assert item is not None
    return item.status


async def test_only_the_items_awaiting_acceptance_are_rejected_and_one_answer_says_so(
    store: Store,
) -> None:
    spam = await _file(store, [AWAITING] * 5)
    partner, withdrawn = await _file(store, [ItemStatus.FILED, ItemStatus.FILED])
    more_spam = await _file(store, [AWAITING] * 3)
    async with store.transaction() as tx:
        await tx.set_item_status(withdrawn, ItemStatus.WITHDRAWN, event="withdrawn", detail="",
                                 at=NOW)  # fmt: skip
    last = more_spam[-1]
    answer = await ask(store, f"!weiger WB-{spam[0]} t/m WB-{last + 2} spam")

    for item_id in [*spam, *more_spam]:
        assert await _status(store, item_id) is ItemStatus.REJECTED
    assert await _status(store, partner) is ItemStatus.FILED
    assert await _status(store, withdrawn) is ItemStatus.WITHDRAWN
    dutch = answer.split("\n\n— English —\n")[0].splitlines()
    assert dutch == [
        f"Geweigerd: 8 (WB-{spam[0]} t/m WB-{spam[-1]}, WB-{more_spam[0]} t/m WB-{last}).",
        f"Overgeslagen, wacht niet (meer) op acceptatie: WB-{partner}.",
        f"Overgeslagen, al ingetrokken of geweigerd: WB-{withdrawn}.",
        f"Overgeslagen, bestaat niet: WB-{last + 1}, WB-{last + 2}.",
    ]
    assert "Rejected: 8 (" in answer
    # Asked again, nothing is rejected twice: every item now says why it was skipped.
    again = await ask(store, f"!weiger WB-{spam[0]} t/m WB-{last}", 2)
    assert again.startswith("Er is niets geweigerd.\n")


async def test_each_rejection_lands_in_its_trail_as_a_single_rejection_does(
    store: Store,
) -> None:
    one, many, more = await _file(store, [AWAITING] * 3)
    await ask(store, f"!weiger WB-{one} reclame", 1)
    await ask(store, f"!weiger WB-{many} WB-{more} reclame", 1)
    single = await _trail(store, one)
    assert single[-1] == ("rejected", "by @kees:x in chat: reclame")
    assert await _trail(store, many) == single
    assert await _trail(store, more) == single
