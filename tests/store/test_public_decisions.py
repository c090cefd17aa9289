"""Decisions on the public page (issue 12): only on items whose titles the one visibility
rule lets out, with the counts, the weights, the rule that decided and the partner's
motivation; never a confidential item's. A real store, a configuration parsed from TOML."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from test_public_agenda import ALLIANCE, CONCEPT_OUT, SECOND, _world, config

from daemon.model import Item
from daemon.publish.public_page import SiteLinks, render_page
from daemon.publish.public_view import public_view
from daemon.rules.visibility import Surface
from daemon.store import Store

AMS = ZoneInfo("Europe/Amsterdam")


async def _decide(store: Store, item: Item) -> None:
    async with store.transaction() as tx:
        decision = await tx.add_decision(
            item=item.id,
            meeting=item.meeting,
            method="meeting",
            poll=None,
            outcome="adopted",
            counts={
                "bewoners": {"voor": 2, "tegen": 0, "onthouding": 0},
                "partners": {"voor": 0, "tegen": 3, "onthouding": 0},
            },
            weights={"bewoners": 2, "partners": 1},
            not_counted=[],
            recorded_by="@ayse:x",
            decided_at=CONCEPT_OUT,
        )
        advice = await tx.add_advice(
            decision=decision.id,
            partner="Gemeente",
            address="wijk@gemeente.test",
            due=date(2027, 4, 5),
            requested_by="@ayse:x",
            requested_at=CONCEPT_OUT,
        )
        await tx.answer_advice(advice.id, "Geen budget dit jaar.", CONCEPT_OUT)


async def test_the_page_shows_decisions_on_public_items_only_with_counts_weights_and_rule(
    store: Store,
) -> None:
    items = await _world(store)
    await _decide(store, items["wijkalliantie open"])
    await _decide(store, items["wijkalliantie secret"])  # confidential: never public
    view = await public_view(store, config(), CONCEPT_OUT, surface=Surface.PUBLIC_PAGE)
    [alliance] = [m for m in view if m.id == ALLIANCE]
    assert [d.title for d in alliance.decisions] == ["wijkalliantie open"]
    # Before the alliance's agenda is out, no title and so no decision either.
    before = await public_view(store, config(), CONCEPT_OUT - SECOND)
    assert [m.decisions for m in before if m.id == ALLIANCE] == [()]

    page = render_page(view, "nl", SiteLinks("https://wijk.test"), CONCEPT_OUT, AMS)
    assert "Besluitenlijst" in page
    assert "aangenomen volgens de 50%+1-regel" in page
    assert "Gewichten: bewoners 2, partners 1" in page
    assert "Gemeente antwoordde: Geen budget dit jaar." in page
    assert "wijkalliantie secret" not in page
    english = render_page(view, "en", SiteLinks("https://wijk.test"), CONCEPT_OUT, AMS)
    assert "adopted by the 50%+1 rule" in english
    assert "Weights: residents 2, partner organisations 1" in english
