"""SQL for planning from outside sources: plan overrides and the planning calendar's sync state."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Mapping
from datetime import datetime

from daemon.model import MeetingId, SeriesId
from daemon.ports.outbox import Payload, decode_payload
from daemon.ports.planning import PlanOverride, PlanSource, PlanState, SyncState
from daemon.store.base import QueriesBase
from daemon.store.timefmt import instant_from_db, instant_to_db


class PlanningQueries(QueriesBase):
    # --- plan overrides --------------------------------------------------------

    async def plan_overrides(self, source: PlanSource | None = None) -> list[PlanOverride]:
        """Every override (of ``source``), by meeting."""
        rows = await self._fetch_all(
            "SELECT * FROM plan_overrides WHERE ?1 IS NULL OR source = ?1"
            " ORDER BY meeting_id, source",
            (None if source is None else source.value,),
        )
        return [_override_from_row(row) for row in rows]

    async def put_plan_override(self, override: PlanOverride, *, at: datetime) -> None:
        """Record what a source says now; the row of its event is replaced, ``applied`` kept."""
        base = override.base
        await self._conn.execute(
            "INSERT INTO plan_overrides (source, external_id, meeting_id, series, start,"
            ' "end", location, cancelled, base_start, base_cancelled, updated_at)'
            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
            " ON CONFLICT (source, external_id) DO UPDATE SET meeting_id = ?3, series = ?4,"
            ' start = ?5, "end" = ?6, location = ?7, cancelled = ?8, base_start = ?9,'
            " base_cancelled = ?10, updated_at = ?11",
            (
                override.source.value,
                override.external_id,
                override.meeting,
                override.series,
                instant_to_db(override.start),
                instant_to_db(override.end),
                override.location,
                int(override.cancelled),
                None if base is None else instant_to_db(base.start),
                None if base is None else int(base.cancelled),
                instant_to_db(at),
            ),
        )

    async def delete_plan_override(self, source: PlanSource, external_id: str) -> None:
        await self._conn.execute(
            "DELETE FROM plan_overrides WHERE source = ? AND external_id = ?",
            (source.value, external_id),
        )

    async def agree_plan_overrides(self, agreed: Mapping[MeetingId, PlanState]) -> None:
        """The configuration and the sources of these meetings now agree: the new bases."""
        await self._conn.executemany(
            "UPDATE plan_overrides SET base_start = ?, base_cancelled = ? WHERE meeting_id = ?",
            [
                (instant_to_db(state.start), int(state.cancelled), meeting)
                for meeting, state in agreed.items()
            ],
        )

    async def mark_plan_overrides_applied(self, applied: Collection[MeetingId]) -> None:
        """Exactly the overrides of ``applied`` meetings hold in the stored plan now."""
        await self._conn.execute(
            "UPDATE plan_overrides SET applied = (meeting_id IN (SELECT value FROM json_each(?)))",
            (_json_list(applied),),
        )

    async def meeting_sources(self) -> dict[MeetingId, PlanSource]:
        """The meetings whose stored date comes from another source than the configuration."""
        rows = await self._fetch_all(
            "SELECT meeting_id, source FROM plan_overrides WHERE applied = 1 ORDER BY source"
        )
        return {MeetingId(str(row[0])): PlanSource(row[1]) for row in rows}

    async def last_payload(self, key_prefix: str) -> Payload | None:
        """The payload of the newest outbox row with a key under ``key_prefix``."""
        row = await self._fetch_one(
            "SELECT payload FROM outbox WHERE substr(key, 1, length(?1)) = ?1"
            " ORDER BY id DESC LIMIT 1",
            (key_prefix,),
        )
        return None if row is None else decode_payload(str(row[0]))

    # --- the planning calendar's sync state -------------------------------------

    async def planning_state(self, calendar: str) -> SyncState:
        """The sync token, ctag and event ETags the last read of ``calendar`` left."""
        row = await self._fetch_one(
            "SELECT sync_token, ctag FROM planning_calendars WHERE calendar = ?", (calendar,)
        )
        events = await self.planning_events(calendar)
        etags = {href: etag for href, (etag, _) in events.items()}
        if row is None:
            return SyncState(etags=etags)
        return SyncState(row["sync_token"], row["ctag"], etags)

    async def save_planning_state(self, calendar: str, state: SyncState, *, at: datetime) -> None:
        await self._conn.execute(
            "INSERT INTO planning_calendars (calendar, sync_token, ctag, read_at)"
            " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (calendar) DO UPDATE"
            " SET sync_token = ?2, ctag = ?3, read_at = ?4",
            (calendar, state.token, state.ctag, instant_to_db(at)),
        )

    async def planning_events(self, calendar: str) -> dict[str, tuple[str, str]]:
        """href -> (ETag, UID) of every event of ``calendar`` as last read."""
        rows = await self._fetch_all(
            "SELECT href, etag, uid FROM planning_events WHERE calendar = ? ORDER BY href",
            (calendar,),
        )
        return {str(row["href"]): (str(row["etag"]), str(row["uid"])) for row in rows}

    async def put_planning_event(self, calendar: str, href: str, etag: str, uid: str) -> None:
        await self._conn.execute(
            "INSERT INTO planning_events (calendar, href, etag, uid) VALUES (?1, ?2, ?3, ?4)"
            " ON CONFLICT (calendar, href) DO UPDATE SET etag = ?3, uid = ?4",
            (calendar, href, etag, uid),
        )

    async def delete_planning_event(self, calendar: str, href: str) -> None:
        await self._conn.execute(
            "DELETE FROM planning_events WHERE calendar = ? AND href = ?", (calendar, href)
        )


def _override_from_row(row: sqlite3.Row) -> PlanOverride:
    base = None
    if row["base_start"] is not None:
        base = PlanState(instant_from_db(row["base_start"]), bool(row["base_cancelled"]))
    return PlanOverride(
        meeting=MeetingId(str(row["meeting_id"])),
        series=SeriesId(str(row["series"])),
        source=PlanSource(row["source"]),
        external_id=str(row["external_id"]),
        start=instant_from_db(row["start"]),
        end=instant_from_db(row["end"]),
        location=str(row["location"]),
        cancelled=bool(row["cancelled"]),
        base=base,
    )


def _json_list(values: Collection[str]) -> str:
    return json.dumps(sorted(values))
