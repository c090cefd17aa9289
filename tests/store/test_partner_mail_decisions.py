"""The besluitenlijst in the partners' agenda mails (issue 12, point 4), through the real
scheduler on a real store: the concept agenda (T-21d) and the definitive agenda (T-14d)
of a series whose agenda is public carry the decisions of the series' previous meeting,
with counts, weights and the rule, asked of the same visibility rule as the public page;
a confidential item's decision never appears."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from store_samples import file_item
from test_scheduler import PARTNERS, SETTINGS, local, meeting

from daemon.clock import ManualClock
from daemon.engine.scheduler import EngineSettings, Scheduler, materialise
from daemon.model import Item, Kind, SeriesId
from daemon.ports.outbox import MailOut
from daemon.store import Store

ALLIANCE = SeriesId("wijkalliantie")
PUBLIC_AGENDA = replace(
    SETTINGS,
    series={**SETTINGS.series, ALLIANCE: replace(SETTINGS.series[ALLIANCE], public_agenda=True)},
)
PREVIOUS = meeting("wijkalliantie", local(2027, 2, 9, 19, 30))
NEXT = meeting("wijkalliantie", local(2027, 4, 6, 19, 30))


async def _decided(store: Store, title: str, *, confidential: bool) -> Item:
    at = local(2027, 2, 9, 21, 0)
    async with store.transaction() as tx:
        item = await file_item(tx, PREVIOUS.id, kind=Kind.AGENDAPUNT, title=title)
        if confidential:
            await tx.set_item_confidential(item.id, True, detail="test", at=at)
        await tx.add_decision(
            item=item.id, meeting=PREVIOUS.id, method="meeting", poll=None, outcome="adopted",
            counts={"bewoners": {"voor": 4, "tegen": 1, "onthouding": 0},
                    "partners": {"voor": 1, "tegen": 2, "onthouding": 0}},
            weights={"bewoners": 2, "partners": 1}, not_counted=[], recorded_by="@ayse:x",
            decided_at=at,
        )  # fmt: skip
    return item


async def _plan(store: Store, settings: EngineSettings) -> ManualClock:
    """Both meetings planned, their jobs materialised, early in January."""
    clock = ManualClock(local(2027, 1, 4, 9, 0))
    async with store.transaction() as tx:
        await tx.sync_meetings([PREVIOUS, NEXT], at=clock.now())
        await materialise(tx, await tx.meetings(), [], settings, clock.now())
    return clock


async def _partner_mails(
    store: Store, clock: ManualClock, settings: EngineSettings
) -> dict[str, str]:
    """Fire everything up to the next meeting's definitive agenda; the partner mails of
    the next meeting by moment."""
    for day in (local(2027, 2, 10, 9, 0), local(2027, 3, 17, 9, 0), local(2027, 3, 24, 9, 0)):
        await clock.set(day)
        await Scheduler(store, clock, settings).fire_due()
    async with store.reading() as tx:
        effects = await tx.effects()
    mails: dict[str, str] = {}
    for effect in effects:
        if NEXT.id in effect.key and effect.destination == PARTNERS[0]:
            assert isinstance(effect.payload, MailOut)
            moment = effect.key.split("/")[3]
            mails[moment] = effect.payload.text + (effect.payload.html or "")
    return mails


async def test_the_partner_mails_carry_the_previous_decisions_never_a_confidential_one(
    store: Store,
) -> None:
    clock = await _plan(store, PUBLIC_AGENDA)
    shown = await _decided(store, "Bankjes in het park", confidential=False)
    await _decided(store, "Burenruzie Dorpsstraat", confidential=True)
    mails = await _partner_mails(store, clock, PUBLIC_AGENDA)
    assert {"concept_agenda", "stuk"} <= set(mails), sorted(mails)
    for moment in ("concept_agenda", "stuk"):
        text = mails[moment]
        assert "Besluitenlijst van de vorige vergadering, Wijkalliantie op dinsdag 9 februari" in (
            text
        )
        assert f"WB-{shown.id} “Bankjes in het park”: aangenomen volgens de 50%+1-regel" in text
        assert "bewoners: voor 4, tegen 1, onthouding 0" in text
        assert "Gewichten: bewoners 2, partners 1." in text
        assert "Burenruzie" not in text


async def test_a_series_whose_agenda_is_not_public_mails_no_decisions(store: Store) -> None:
    clock = await _plan(store, SETTINGS)  # the alliance without public_agenda
    await _decided(store, "Bankjes in het park", confidential=False)
    mails = await _partner_mails(store, clock, SETTINGS)
    assert {"concept_agenda", "stuk"} <= set(mails), sorted(mails)
    assert not any("Bankjes" in text or "vorige vergadering" in text for text in mails.values())
