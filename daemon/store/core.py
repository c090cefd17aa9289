"""SQL for the core concern: meetings, items and their documents, afspraken, item events.

Every method runs inside the caller's ``Store.transaction()`` (or ``reading()``),
so a change and the effects the caller records with it commit together. Objects
read back carry UTC datetimes. Times written come from the caller (its clock),
never from the store.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime

from daemon.model import (
    Agreement,
    AgreementId,
    AgreementStatus,
    Document,
    DocumentHash,
    Item,
    ItemId,
    ItemStatus,
    Kind,
    Meeting,
    MeetingId,
    MeetingStatus,
    SeriesId,
)
from daemon.store.base import QueriesBase
from daemon.store.rows import (
    ItemEvent,
    MeetingChanges,
    agenda_key,
    agreement_from_row,
    document_from_row,
    item_event_from_row,
    item_from_row,
    meeting_from_row,
    meeting_to_row,
)
from daemon.store.timefmt import date_to_db, instant_to_db

__all__ = ["CoreQueries", "ItemEvent", "MeetingChanges"]

_LATEST_DOCUMENTS_OF_ITEMS = """
    SELECT d.item_id, d.sha256, d.filename, doc.content_type, doc.size
    FROM item_documents AS d JOIN documents AS doc ON doc.sha256 = d.sha256
    WHERE d.item_id IN (SELECT value FROM json_each(?))
      AND d.version = (SELECT MAX(v.version) FROM item_documents AS v
                       WHERE v.item_id = d.item_id)
    ORDER BY d.item_id, d.rowid
"""


class CoreQueries(QueriesBase):
    # --- meetings -------------------------------------------------------------

    async def sync_meetings(self, planned: Sequence[Meeting], *, at: datetime) -> MeetingChanges:
        """Make the stored meetings match the whole plan (every series) and say what changed.

        A stored meeting missing from the plan that was published (a job of it
        fired on some channel, or an item or afspraak points at it) is marked
        cancelled, not deleted: people heard of it, so they hear it is off. One
        that nobody heard of yet (a mistake in the plan, taken out again) is
        deleted with its jobs, as if it never was. Calling again with the same
        plan changes nothing and returns no changes. The meetings reported carry
        UTC datetimes, like every meeting read from the store.
        """
        stored = {meeting.id: meeting for meeting in await self.meetings()}
        changes = MeetingChanges()
        seen: set[MeetingId] = set()
        for new in map(_in_utc, planned):
            if new.id in seen:
                raise ValueError(f"meeting {new.id} appears twice in the plan")
            seen.add(new.id)
            old = stored.get(new.id)
            if old is None:
                await self._insert_meeting(new, at)
                changes.added.append(new)
            elif old != new:
                await self._update_meeting(new, at)
                _classify_change(old, new, changes)
        for old in stored.values():
            if old.id in seen:
                continue
            if not await self._published(old.id):
                await self._delete_meeting(old.id)
                changes.removed.append(old)
            elif not old.cancelled:
                gone = replace(old, status=MeetingStatus.CANCELLED)
                await self._update_meeting(gone, at)
                changes.cancelled.append(gone)
        return changes

    async def _published(self, meeting_id: MeetingId) -> bool:
        """Whether anyone may have heard of the meeting: a job of it fired, or
        something filed refers to it (the submitter's receipt named it)."""
        row = await self._fetch_one(
            "SELECT EXISTS (SELECT 1 FROM jobs WHERE subject_type = 'meeting'"
            "   AND subject_id = ?1 AND status = 'fired')"
            " OR EXISTS (SELECT 1 FROM items WHERE meeting_id = ?1 OR moved_from = ?1)"
            " OR EXISTS (SELECT 1 FROM agreements WHERE meeting_id = ?1)",
            (meeting_id,),
        )
        return row is not None and bool(row[0])

    async def _delete_meeting(self, meeting_id: MeetingId) -> None:
        """A meeting nobody heard of, and its jobs (none of them fired)."""
        await self._conn.execute(
            "DELETE FROM jobs WHERE subject_type = 'meeting' AND subject_id = ?", (meeting_id,)
        )
        await self._conn.execute("DELETE FROM meetings WHERE id = ?", (meeting_id,))

    async def meetings(self, series: SeriesId | None = None) -> list[Meeting]:
        """All stored meetings (cancelled ones too), by start time."""
        rows = await self._fetch_all(
            "SELECT * FROM meetings WHERE ?1 IS NULL OR series = ?1 ORDER BY start, id",
            (series,),
        )
        return [meeting_from_row(row) for row in rows]

    async def meeting(self, meeting_id: MeetingId) -> Meeting | None:
        row = await self._fetch_one("SELECT * FROM meetings WHERE id = ?", (meeting_id,))
        return None if row is None else meeting_from_row(row)

    async def _insert_meeting(self, meeting: Meeting, at: datetime) -> None:
        await self._conn.execute(
            'INSERT INTO meetings (id, series, title, start, "end", location, status, updated_at)'
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (*meeting_to_row(meeting), instant_to_db(at)),
        )

    async def _update_meeting(self, meeting: Meeting, at: datetime) -> None:
        await self._conn.execute(
            'UPDATE meetings SET series = ?2, title = ?3, start = ?4, "end" = ?5,'
            " location = ?6, status = ?7, updated_at = ?8 WHERE id = ?1",
            (*meeting_to_row(meeting), instant_to_db(at)),
        )

    # --- items ----------------------------------------------------------------

    async def add_item(
        self,
        *,
        kind: Kind,
        title: str,
        submitter: str,
        received_at: datetime,
        meeting_id: MeetingId | None,
        late: bool,
        decision_ready: bool,
        status: ItemStatus,
        source: str,
        text: str = "",
        moved_from: MeetingId | None = None,
        filed_at: datetime | None = None,
        auth_failure: str | None = None,
    ) -> Item:
        """File an item last in its meeting's order and record the event ``filed``.

        ``filed_at`` (default ``received_at``) is when it was filed, for the audit trail.
        """
        filed = instant_to_db(received_at if filed_at is None else filed_at)
        row = await self._fetch_one(
            "INSERT INTO items (kind, title, text, submitter, received_at, meeting_id, late,"
            " decision_ready, status, source, moved_from, position, created_at, auth_failure)"
            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
            "  (SELECT COALESCE(MAX(position), 0) + 1 FROM items WHERE meeting_id IS ?6), ?12,"
            "  ?13)"
            " RETURNING *",
            (
                kind.value,
                title,
                text,
                submitter,
                instant_to_db(received_at),
                meeting_id,
                int(late),
                int(decision_ready),
                status.value,
                source,
                moved_from,
                filed,
                auth_failure,
            ),
        )
        assert row is not None  # INSERT ... RETURNING always yields the row
        item = item_from_row(row)
        await self._record_event(item.id, filed, "filed", _filed_detail(item))
        return item

    async def item(self, item_id: ItemId, *, document_version: int | None = None) -> Item | None:
        """One item with its documents (the latest version unless one is asked for)."""
        row = await self._fetch_one("SELECT * FROM items WHERE id = ?", (item_id,))
        if row is None:
            return None
        documents = await self.documents_of(item_id, document_version)
        return item_from_row(row, tuple(documents))

    async def items_for_meeting(self, meeting_id: MeetingId) -> list[Item]:
        """A meeting's items in agenda order: by kind (the ``Kind`` order), then as filed.

        Every status is included; each item carries its latest documents.
        """
        rows = await self._fetch_all("SELECT * FROM items WHERE meeting_id = ?", (meeting_id,))
        return sorted(await self._with_documents(rows), key=agenda_key)

    async def items_without_meeting(self) -> list[Item]:
        """Items no meeting takes yet (any status), oldest received first."""
        rows = await self._fetch_all(
            "SELECT * FROM items WHERE meeting_id IS NULL ORDER BY received_at, id"
        )
        return await self._with_documents(rows)

    async def update_item_assignment(
        self,
        item_id: ItemId,
        *,
        meeting_id: MeetingId | None,
        late: bool,
        decision_ready: bool,
        status: ItemStatus,
        event: str,
        detail: str,
        at: datetime,
    ) -> Item:
        """Re-file an item; a new meeting puts it last there and remembers where it came from."""
        current = await self._require_item(item_id)
        position = current.position
        moved_from = current.moved_from
        if meeting_id != current.meeting:
            position = await self._next_position(meeting_id)
            moved_from = current.meeting if current.meeting is not None else moved_from
        await self._conn.execute(
            "UPDATE items SET meeting_id = ?, late = ?, decision_ready = ?, status = ?,"
            " moved_from = ?, position = ? WHERE id = ?",
            (
                meeting_id,
                int(late),
                int(decision_ready),
                status.value,
                moved_from,
                position,
                item_id,
            ),
        )
        await self._record_event(item_id, instant_to_db(at), event, detail)
        return await self._require_item(item_id)

    async def set_item_status(
        self, item_id: ItemId, status: ItemStatus, *, event: str, detail: str, at: datetime
    ) -> Item:
        await self._require_item(item_id)
        await self._conn.execute(
            "UPDATE items SET status = ? WHERE id = ?", (status.value, item_id)
        )
        await self._record_event(item_id, instant_to_db(at), event, detail)
        return await self._require_item(item_id)

    async def set_item_confidential(
        self, item_id: ItemId, confidential: bool, *, detail: str, at: datetime
    ) -> Item:
        """Keep an item off every public surface (or let it back on), with its event
        ('confidential' or 'public') in the audit trail."""
        await self._require_item(item_id)
        await self._conn.execute(
            "UPDATE items SET confidential = ? WHERE id = ?", (int(confidential), item_id)
        )
        event = "confidential" if confidential else "public"
        await self._record_event(item_id, instant_to_db(at), event, detail)
        return await self._require_item(item_id)

    async def item_events(self, item_id: ItemId) -> list[ItemEvent]:
        """An item's audit trail, oldest first."""
        rows = await self._fetch_all(
            "SELECT * FROM item_events WHERE item_id = ? ORDER BY id", (item_id,)
        )
        return [item_event_from_row(row) for row in rows]

    async def _require_item(self, item_id: ItemId) -> Item:
        item = await self.item(item_id)
        if item is None:
            raise LookupError(f"item {item_id} bestaat niet (no item {item_id})")
        return item

    async def _next_position(self, meeting_id: MeetingId | None) -> int:
        row = await self._fetch_one(
            "SELECT COALESCE(MAX(position), 0) + 1 FROM items WHERE meeting_id IS ?",
            (meeting_id,),
        )
        assert row is not None  # an aggregate always yields one row
        return int(row[0])

    async def _record_event(self, item_id: ItemId, at: str, event: str, detail: str) -> None:
        await self._conn.execute(
            "INSERT INTO item_events (item_id, at, event, detail) VALUES (?, ?, ?, ?)",
            (item_id, at, event, detail),
        )

    async def _with_documents(self, rows: list[sqlite3.Row]) -> list[Item]:
        """Items from rows, each with its latest documents, in one extra query."""
        ids = [int(row["id"]) for row in rows]
        by_item: dict[int, list[Document]] = {item_id: [] for item_id in ids}
        for doc_row in await self._fetch_all(_LATEST_DOCUMENTS_OF_ITEMS, (json.dumps(ids),)):
            by_item[int(doc_row["item_id"])].append(document_from_row(doc_row))
        return [item_from_row(row, tuple(by_item[int(row["id"])])) for row in rows]

    # --- documents ------------------------------------------------------------

    async def add_document(self, sha256: DocumentHash, content_type: str, size: int) -> None:
        """Record stored content; content already known keeps its first content type."""
        await self._conn.execute(
            "INSERT INTO documents (sha256, content_type, size) VALUES (?, ?, ?)"
            " ON CONFLICT (sha256) DO NOTHING",
            (sha256, content_type, size),
        )

    async def attach_document(
        self,
        item_id: ItemId,
        sha256: DocumentHash,
        filename: str,
        version: int,
        *,
        added_at: datetime,
    ) -> Document:
        """Attach known content to an item as part of ``version``.

        Every name the content arrived under is kept (five copies of one PDF under five
        names are five documents, as the receipt lists them); the same content under
        the same name twice in one version is kept once.
        """
        await self._conn.execute(
            "INSERT INTO item_documents (item_id, sha256, version, filename, added_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (item_id, sha256, version, filename, instant_to_db(added_at)),
        )
        row = await self._fetch_one(
            "SELECT d.sha256, d.filename, doc.content_type, doc.size"
            " FROM item_documents AS d JOIN documents AS doc ON doc.sha256 = d.sha256"
            " WHERE d.item_id = ? AND d.sha256 = ? AND d.version = ? AND d.filename = ?",
            (item_id, sha256, version, filename),
        )
        assert row is not None  # inserted above, or already there
        return document_from_row(row)

    async def next_document_version(self, item_id: ItemId) -> int:
        """1 for an item without documents, else one more than its latest version."""
        row = await self._fetch_one(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM item_documents WHERE item_id = ?",
            (item_id,),
        )
        assert row is not None  # an aggregate always yields one row
        return int(row[0])

    async def documents_of(self, item_id: ItemId, version: int | None = None) -> list[Document]:
        """An item's documents of ``version`` (default: its latest), in the order attached."""
        rows = await self._fetch_all(
            "SELECT d.sha256, d.filename, doc.content_type, doc.size"
            " FROM item_documents AS d JOIN documents AS doc ON doc.sha256 = d.sha256"
            " WHERE d.item_id = ?1 AND d.version = COALESCE(?2,"
            "  (SELECT MAX(version) FROM item_documents WHERE item_id = ?1))"
            " ORDER BY d.rowid",
            (item_id, version),
        )
        return [document_from_row(row) for row in rows]

    # --- agreements (afspraken) -------------------------------------------------

    async def add_agreement(
        self,
        what: str,
        owner: str,
        due: date,
        created_at: datetime,
        meeting_id: MeetingId | None = None,
    ) -> Agreement:
        row = await self._fetch_one(
            "INSERT INTO agreements (what, owner, due, status, created_at, meeting_id)"
            " VALUES (?, ?, ?, 'open', ?, ?) RETURNING *",
            (what, owner, date_to_db(due), instant_to_db(created_at), meeting_id),
        )
        assert row is not None  # INSERT ... RETURNING always yields the row
        return agreement_from_row(row)

    async def agreement(self, agreement_id: AgreementId) -> Agreement | None:
        row = await self._fetch_one("SELECT * FROM agreements WHERE id = ?", (agreement_id,))
        return None if row is None else agreement_from_row(row)

    async def open_agreements(self) -> list[Agreement]:
        """Open afspraken, soonest due first."""
        rows = await self._fetch_all(
            "SELECT * FROM agreements WHERE status = 'open' ORDER BY due, id"
        )
        return [agreement_from_row(row) for row in rows]

    async def agreements(self) -> list[Agreement]:
        """All afspraken, open and closed, by due date."""
        rows = await self._fetch_all("SELECT * FROM agreements ORDER BY due, id")
        return [agreement_from_row(row) for row in rows]

    async def close_agreement(
        self,
        agreement_id: AgreementId,
        status: AgreementStatus,
        motivation: str | None,
        closed_at: datetime,
    ) -> Agreement:
        """Close an open afspraak as done, or as ``cannot`` with a motivation (RULES.md).

        Raises ``ValueError`` for a missing motivation, a non-closing status or an
        afspraak already closed, and ``LookupError`` for an unknown id.
        """
        _check_closing(status, motivation)
        row = await self._fetch_one(
            "UPDATE agreements SET status = ?, motivation = ?, closed_at = ?"
            " WHERE id = ? AND status = 'open' RETURNING *",
            (status.value, motivation, instant_to_db(closed_at), agreement_id),
        )
        if row is not None:
            return agreement_from_row(row)
        if await self.agreement(agreement_id) is None:
            raise LookupError(f"afspraak {agreement_id} bestaat niet (no agreement {agreement_id})")
        raise ValueError(
            f"afspraak {agreement_id} is al gesloten (agreement {agreement_id} is already closed)"
        )


def _in_utc(meeting: Meeting) -> Meeting:
    """The meeting with UTC times: Python never calls an ambiguous local time (the
    repeated hour in autumn) equal to a time in another zone, even the same instant."""
    return replace(meeting, start=meeting.start.astimezone(UTC), end=meeting.end.astimezone(UTC))


def _classify_change(old: Meeting, new: Meeting, changes: MeetingChanges) -> None:
    """Sort one changed meeting into the lists; a title-only change is no news."""
    if old.cancelled and not new.cancelled:
        changes.reinstated.append(new)
    elif new.cancelled and not old.cancelled:
        changes.cancelled.append(new)
    elif not new.cancelled and (old.start, old.end, old.location) != (
        new.start,
        new.end,
        new.location,
    ):
        changes.moved.append((old, new))


def _filed_detail(item: Item) -> str:
    if item.meeting is None:
        return "no meeting planned yet"
    return f"meeting {item.meeting}"


def _check_closing(status: AgreementStatus, motivation: str | None) -> None:
    if status is AgreementStatus.OPEN:
        raise ValueError(
            "een afspraak sluiten kan alleen als done of cannot (close as done or cannot)"
        )
    if status is AgreementStatus.CANNOT and (motivation is None or not motivation.strip()):
        raise ValueError(
            "een afspraak die niet kan, sluit je met een motivatie "
            "(an agreement that cannot be kept needs a motivation)"
        )
