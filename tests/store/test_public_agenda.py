"""What goes into a public meeting's ``agenda`` (issue 16, point 2): the one visibility rule,
asked by ``public_view`` per item. A real store, a configuration parsed from TOML.

Public: the titles of a series with ``public_agenda`` once its agenda is out, never a
confidential item, one awaiting acceptance, a withdrawn one, a submitter or an address;
``None`` where the series' agenda is not public (or not yet).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from store_samples import file_item

from daemon.config import Config, parse_config
from daemon.model import Item, ItemStatus, Kind, Meeting, MeetingId, SeriesId
from daemon.ports.outbox import CalendarWrite
from daemon.publish.public_view import next_publication, public_view
from daemon.rules.visibility import Surface
from daemon.store import Store

CONFIG = """\
timezone = "Europe/Amsterdam"
default_series = "wijkalliantie"

[series.wijkalliantie]
public = true
[series.wijkalliantie.plan]
dates = [2027-04-06T19:30:00]

[series.bewonersbijeenkomst]
public = true
{bewoners_agenda}
[series.bewonersbijeenkomst.plan]
dates = [2027-04-08T19:00:00]
"""
ALLIANCE = MeetingId("wijkalliantie-2027-04-06")  # Tue 19:30 CEST = 17:30 UTC
BEWONERS = MeetingId("bewonersbijeenkomst-2027-04-08")  # Thu 19:00 CEST = 17:00 UTC
CONCEPT_OUT = datetime(2027, 3, 16, 18, 30, tzinfo=UTC)  # the alliance's T-21d, 19:30 CET
ANNOUNCED = datetime(2027, 3, 11, 18, 0, tzinfo=UTC)  # the bewonersbijeenkomst's T-28d
SECOND = timedelta(seconds=1)


def config(bewoners_agenda: str = "") -> Config:
    return parse_config(CONFIG.format(bewoners_agenda=bewoners_agenda), Path("wijkbode.toml"))


def _meeting(meeting_id: MeetingId, start: datetime) -> Meeting:
    series, _, _ = meeting_id.partition("-")
    return Meeting(meeting_id, SeriesId(series), series, start, start + timedelta(hours=2), "")


MEETINGS = [
    _meeting(ALLIANCE, datetime(2027, 4, 6, 17, 30, tzinfo=UTC)),
    _meeting(BEWONERS, datetime(2027, 4, 8, 17, 0, tzinfo=UTC)),
]


async def _world(store: Store) -> dict[str, Item]:
    """Both meetings published (as the feed channel records them), each with a plain, a
    confidential, an unvetted and a withdrawn item."""
    items: dict[str, Item] = {}
    async with store.transaction() as tx:
        await tx.sync_meetings(MEETINGS, at=ANNOUNCED - timedelta(days=60))
        for meeting in MEETINGS:
            write = CalendarWrite(
                uid=f"{meeting.id}@wijk.test", action="upsert", summary=meeting.title,
                start=meeting.start, end=meeting.end, location="", description="", sequence=0,
            )  # fmt: skip
            await tx.record_publication(meeting.id, "agenda", write, key=meeting.id, at=ANNOUNCED)
            for name, status in (
                ("open", ItemStatus.FILED),
                ("secret", ItemStatus.FILED),
                ("unvetted", ItemStatus.AWAITING_ACCEPTANCE),
                ("gone", ItemStatus.WITHDRAWN),
            ):
                title = f"{meeting.series} {name}"
                item = await file_item(tx, meeting.id, kind=Kind.AGENDAPUNT, title=title)
                if status is not ItemStatus.FILED:
                    item = await tx.set_item_status(
                        item.id, status, event="t", detail="", at=ANNOUNCED
                    )
                items[title] = item
        secret = [items["wijkalliantie secret"], items["bewonersbijeenkomst secret"]]
        for item in secret:
            await tx.set_item_confidential(item.id, True, detail="test", at=ANNOUNCED)
    return items


async def _agendas(
    store: Store, cfg: Config, now: datetime, surface: Surface = Surface.PUBLIC_FEED
) -> dict[MeetingId, list[str] | None]:
    view = await public_view(store, cfg, now, surface=surface)
    return {m.id: None if m.agenda is None else [item.title for item in m.agenda] for m in view}


async def test_public_agenda_has_only_titles_the_rule_lets_out(store: Store) -> None:
    items = await _world(store)
    for surface in (Surface.PUBLIC_FEED, Surface.PUBLIC_PAGE):
        agendas = await _agendas(store, config(), CONCEPT_OUT, surface)
        assert agendas == {
            ALLIANCE: ["wijkalliantie open"],
            BEWONERS: ["bewonersbijeenkomst open"],
        }
    view = await public_view(store, config(), CONCEPT_OUT)
    shown = " ".join(repr(m) for m in view)
    assert "partner@" not in shown  # no submitter, no address
    assert f"WB-{items['wijkalliantie open'].id}" in shown


async def test_the_alliance_titles_are_public_only_from_its_concept_agenda(store: Store) -> None:
    await _world(store)
    before = await _agendas(store, config(), CONCEPT_OUT - SECOND)
    assert before[ALLIANCE] is None  # the dates are public, the titles not yet
    assert before[BEWONERS] == ["bewonersbijeenkomst open"]
    assert (await _agendas(store, config(), CONCEPT_OUT))[ALLIANCE] == ["wijkalliantie open"]


async def test_a_series_without_public_agenda_has_none(store: Store) -> None:
    await _world(store)
    agendas = await _agendas(store, config("public_agenda = false"), CONCEPT_OUT)
    assert agendas[BEWONERS] is None
    assert agendas[ALLIANCE] == ["wijkalliantie open"]


async def test_making_an_item_public_again_puts_it_back(store: Store) -> None:
    items = await _world(store)
    async with store.transaction() as tx:
        secret = items["wijkalliantie secret"]
        await tx.set_item_confidential(secret.id, False, detail="test", at=CONCEPT_OUT)
    agendas = await _agendas(store, config(), CONCEPT_OUT)
    assert agendas[ALLIANCE] == ["wijkalliantie open", "wijkalliantie secret"]


def test_the_cache_is_refreshed_when_the_concept_agenda_goes_out() -> None:
    """The alliance's titles become public at T-21d by time alone: ``next_publication``
    names that moment, so a cached feed or page is rebuilt then."""
    alliance_only = [MEETINGS[0]]
    assert next_publication(config(), alliance_only, CONCEPT_OUT - SECOND) == CONCEPT_OUT
