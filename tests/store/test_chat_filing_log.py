"""Filing from chat logs one line at info naming the event, room and item, and never the
sender (issue 13, point 6: no personal data at the info level). A real SQLite store;
``file_from_chat`` as the chat intake calls it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from store_samples import planned_meeting

from daemon.chat.actions import ChatSettings, Origin, Target, file_from_chat
from daemon.chat.parsing import FileItem
from daemon.engine.scheduler import EngineSettings
from daemon.filing.submission import FilingRules
from daemon.model import Kind, Series, SeriesId
from daemon.publish.scheduled import Targets
from daemon.rules.defaults import AGREEMENT_REMINDERS, WIJKALLIANTIE
from daemon.store import Store

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
MEETING = planned_meeting(6)
SENDER = "@anna.devries:wijk.nl"
PINNED_AUTHOR = "@whatsapp_31612345678:wijk.nl"


def settings() -> ChatSettings:
    alliance = SeriesId("wijkalliantie")
    series = {
        alliance: Series(alliance, "Wijkalliantie", True, WIJKALLIANTIE, timedelta(hours=2), "")
    }
    return ChatSettings(
        FilingRules(AMS, alliance, {alliance: WIJKALLIANTIE}),
        EngineSettings(AMS, series, AGREEMENT_REMINDERS, Targets()),
    )


async def test_a_chat_filing_logs_its_ids_and_not_who_sent_it(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    async with store.transaction() as tx:
        await tx.sync_meetings([MEETING], at=NOW)
    origin = Origin("!kern:wijk.nl", "$pin", SENDER, NOW)
    with caplog.at_level(logging.INFO, logger="wijkbode"):
        async with store.transaction() as tx:
            item_id = await file_from_chat(
                tx,
                FileItem(Kind.AGENDAPUNT, "Bankjes in het park", ""),
                origin,
                Target("$bericht"),
                settings(),
                NOW,
                submitter=PINNED_AUTHOR,
            )

    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert said == [
        f"chat event $bericht in !kern:wijk.nl filed as item {item_id} "
        f"(agendapunt, meeting {MEETING.id}, filed)"
    ]
    for person in (SENDER, PINNED_AUTHOR, "anna", "31612345678"):
        assert all(person not in line for line in said)
