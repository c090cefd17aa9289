"""SQL for the public events: each meeting as the public feed and page last published it.

The feed channel records a delivery here (``record_publication``); the public
view reads it back (``publications``). A delivery is applied only when it is not
older than what is stored (its ``sequence`` at least the stored one), so a
repeated delivery after a crash changes nothing and an old one never undoes a
newer one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from daemon.model import MeetingId
from daemon.ports.outbox import CalendarWrite, decode_payload
from daemon.store.base import QueriesBase
from daemon.store.timefmt import (
    instant_from_db,
    instant_to_db,
    optional_instant_from_db,
    optional_instant_to_db,
)

__all__ = ["PublicQueries", "Publication"]


@dataclass(frozen=True, slots=True)
class Publication:
    """One meeting's event as last published on a public feed."""

    meeting: MeetingId
    feed: str
    event: CalendarWrite  # uid, action (upsert/cancel), times, texts, sequence
    moved_from: datetime | None  # the start before the last published move
    published_at: datetime  # first published (the publication moment's effect)
    changed_at: datetime  # the effect that wrote this version (DTSTAMP, Last-Modified)


class PublicQueries(QueriesBase):
    async def record_publication(
        self, meeting: MeetingId, feed: str, event: CalendarWrite, *, key: str, at: datetime
    ) -> bool:
        """Store ``event`` as the meeting's published state; ``False`` when not newer.

        ``at`` is when the effect was written (its ``created_at``), so delivering
        the same effect twice stores the same row.
        """
        row = await self._fetch_one(
            "SELECT event, sequence, moved_from, effect_key FROM public_events WHERE uid = ?",
            (event.uid,),
        )
        if row is None:
            await self._conn.execute(
                "INSERT INTO public_events (uid, meeting_id, feed, event, sequence, moved_from,"
                " effect_key, published_at, changed_at) VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?)",
                (event.uid, meeting, feed, event.to_json(), event.sequence, key,
                 instant_to_db(at), instant_to_db(at)),
            )  # fmt: skip
            return True
        if row["effect_key"] == key or int(row["sequence"]) > event.sequence:
            return False
        before = _event(str(row["event"]))
        moved_from = optional_instant_from_db(row["moved_from"])
        if event.action == "upsert" and before.start != event.start:
            moved_from = before.start
        await self._conn.execute(
            "UPDATE public_events SET event = ?, sequence = ?, moved_from = ?, effect_key = ?,"
            " changed_at = ? WHERE uid = ?",
            (event.to_json(), event.sequence, optional_instant_to_db(moved_from), key,
             instant_to_db(at), event.uid),
        )  # fmt: skip
        return True

    async def publications(self, feed: str | None = None) -> list[Publication]:
        """Every published event (of ``feed``), by start."""
        rows = await self._fetch_all(
            "SELECT * FROM public_events WHERE ?1 IS NULL OR feed = ?1 ORDER BY uid", (feed,)
        )
        found = [
            Publication(
                meeting=MeetingId(str(row["meeting_id"])),
                feed=str(row["feed"]),
                event=_event(str(row["event"])),
                moved_from=optional_instant_from_db(row["moved_from"]),
                published_at=instant_from_db(row["published_at"]),
                changed_at=instant_from_db(row["changed_at"]),
            )
            for row in rows
        ]
        return sorted(found, key=lambda p: (p.event.start, p.event.uid))


def _event(text: str) -> CalendarWrite:
    payload = decode_payload(text)
    if not isinstance(payload, CalendarWrite):
        raise ValueError(f"public event holds a {json.loads(text).get('type')!r}")
    return payload
