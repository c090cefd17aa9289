"""The core tables' rows as domain objects, and the store's own small record types."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime

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
from daemon.store.timefmt import (
    date_from_db,
    instant_from_db,
    instant_to_db,
    optional_instant_from_db,
)

# The agenda order of the kinds is the order of the ``Kind`` enum.
KIND_RANK: dict[Kind, int] = {kind: rank for rank, kind in enumerate(Kind)}


@dataclass(frozen=True, slots=True)
class MeetingChanges:
    """What ``sync_meetings`` changed; ``moved`` pairs are (before, after)."""

    added: list[Meeting] = field(default_factory=list)
    moved: list[tuple[Meeting, Meeting]] = field(default_factory=list)
    cancelled: list[Meeting] = field(default_factory=list)
    reinstated: list[Meeting] = field(default_factory=list)
    # Gone from the plan before anyone heard of them: deleted, not cancelled.
    removed: list[Meeting] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.moved or self.cancelled or self.reinstated or self.removed)


@dataclass(frozen=True, slots=True)
class ItemEvent:
    """One line of an item's audit trail: what happened to it, when, and why."""

    id: int
    item: ItemId
    at: datetime
    event: str  # "filed", "moved", "accepted", "ter_bespreking", "withdrawn", ...
    detail: str


def agenda_key(item: Item) -> tuple[int, int, int]:
    """Sort key for agenda order: kind, then order of filing."""
    return (KIND_RANK[item.kind], item.position, item.id)


def meeting_from_row(row: sqlite3.Row) -> Meeting:
    return Meeting(
        id=MeetingId(str(row["id"])),
        series=SeriesId(str(row["series"])),
        title=str(row["title"]),
        start=instant_from_db(row["start"]),
        end=instant_from_db(row["end"]),
        location=str(row["location"]),
        status=MeetingStatus(row["status"]),
    )


def meeting_to_row(meeting: Meeting) -> tuple[str, str, str, str, str, str, str]:
    """id, series, title, start, end, location, status: the order of the meetings columns."""
    return (
        meeting.id,
        meeting.series,
        meeting.title,
        instant_to_db(meeting.start),
        instant_to_db(meeting.end),
        meeting.location,
        meeting.status.value,
    )


def document_from_row(row: sqlite3.Row) -> Document:
    """A row with ``sha256``, ``filename``, ``content_type`` and ``size``."""
    return Document(
        sha256=DocumentHash(str(row["sha256"])),
        filename=str(row["filename"]),
        content_type=str(row["content_type"]),
        size=int(row["size"]),
    )


def item_from_row(row: sqlite3.Row, documents: tuple[Document, ...] = ()) -> Item:
    meeting = row["meeting_id"]
    moved_from = row["moved_from"]
    return Item(
        id=ItemId(int(row["id"])),
        kind=Kind(row["kind"]),
        title=str(row["title"]),
        submitter=str(row["submitter"]),
        received_at=instant_from_db(row["received_at"]),
        meeting=None if meeting is None else MeetingId(str(meeting)),
        late=bool(row["late"]),
        decision_ready=bool(row["decision_ready"]),
        status=ItemStatus(row["status"]),
        source=str(row["source"]),
        text=str(row["text"]),
        documents=documents,
        moved_from=None if moved_from is None else MeetingId(str(moved_from)),
        position=int(row["position"]),
        auth_failure=None if row["auth_failure"] is None else str(row["auth_failure"]),
        confidential=bool(row["confidential"]),
    )


def agreement_from_row(row: sqlite3.Row) -> Agreement:
    meeting = row["meeting_id"]
    motivation = row["motivation"]
    return Agreement(
        id=AgreementId(int(row["id"])),
        what=str(row["what"]),
        owner=str(row["owner"]),
        due=date_from_db(row["due"]),
        status=AgreementStatus(row["status"]),
        motivation=None if motivation is None else str(motivation),
        created_at=instant_from_db(row["created_at"]),
        meeting=None if meeting is None else MeetingId(str(meeting)),
        closed_at=optional_instant_from_db(row["closed_at"]),
    )


def item_event_from_row(row: sqlite3.Row) -> ItemEvent:
    return ItemEvent(
        id=int(row["id"]),
        item=ItemId(int(row["item_id"])),
        at=instant_from_db(row["at"]),
        event=str(row["event"]),
        detail=str(row["detail"]),
    )
