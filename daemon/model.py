"""The domain: meeting series, meetings, submissions, items, documents, afspraken.

Pure and frozen. Dutch words name the users' own things (see GLOSSARY.md);
times are always timezone-aware ``datetime`` values.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NewType

SeriesId = NewType("SeriesId", str)
MeetingId = NewType("MeetingId", str)
ItemId = NewType("ItemId", int)
AgreementId = NewType("AgreementId", int)
DocumentHash = NewType("DocumentHash", str)  # sha256 hex of the content


class Kind(enum.StrEnum):
    """What a submission is; the order is the agenda order of the kinds."""

    AGENDAPUNT = "agendapunt"
    STUK = "stuk"
    TER_KENNISGEVING = "ter_kennisgeving"
    ACTUALITEIT = "actualiteit"


class MeetingStatus(enum.StrEnum):
    PLANNED = "planned"
    CANCELLED = "cancelled"


class ItemStatus(enum.StrEnum):
    """Where an item stands; ``awaiting_acceptance`` is for unknown senders."""

    FILED = "filed"
    AWAITING_ACCEPTANCE = "awaiting_acceptance"
    TER_BESPREKING = "ter_bespreking"  # late stuk kept for discussion, no decision
    UNPLANNED = "unplanned"  # no meeting of the series is planned yet
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class AgreementStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    CANNOT = "cannot"  # closed with a motivation ("kan niet")


_OFFSET = re.compile(r"^(?P<amount>\d{1,4})(?P<unit>[dh])$")


class OffsetUnit(enum.StrEnum):
    DAYS = "d"  # same local wall-clock time N calendar days earlier
    HOURS = "h"  # exact elapsed time


@dataclass(frozen=True, slots=True)
class Offset:
    """A span before a moment, written ``14d`` or ``48h`` as in RULES.md."""

    amount: int
    unit: OffsetUnit

    @classmethod
    def parse(cls, text: str) -> Offset:
        """Parse ``14d``/``48h``; raise ``ValueError`` with a readable reason."""
        match = _OFFSET.match(text.strip())
        if match is None:
            raise ValueError(
                f"{text!r} is geen geldige termijn; schrijf bijvoorbeeld '14d' of '48h' "
                f"(not a valid offset; write e.g. '14d' or '48h')"
            )
        return cls(int(match["amount"]), OffsetUnit(match["unit"]))

    def __str__(self) -> str:
        return f"{self.amount}{self.unit.value}"

    @property
    def approximate(self) -> timedelta:
        """The span as elapsed time, for ordering only (DST can shift a day by an hour)."""
        if self.unit is OffsetUnit.DAYS:
            return timedelta(days=self.amount)
        return timedelta(hours=self.amount)


@dataclass(frozen=True, slots=True)
class SeriesRules:
    """The configured moments of one series; ``None`` means the series has no such moment.

    A kind missing from ``deadlines`` can be submitted until the meeting starts.
    ``decision_offset`` is the two-week rule: information must be there this long
    before the meeting for a decision.
    """

    concept_agenda: Offset | None
    deadlines: dict[Kind, Offset]
    deadline_reminders: tuple[Offset, ...]
    announce: Offset | None
    folder: Offset | None
    meeting_reminder: Offset | None
    decision_offset: Offset


@dataclass(frozen=True, slots=True)
class Series:
    id: SeriesId
    title: str
    public: bool
    rules: SeriesRules
    default_duration: timedelta
    default_location: str
    # Its agenda titles are public too (RULES.md; the configuration defaults it per series).
    # Only with ``public``: see daemon.rules.visibility. Left out here: private (fail closed).
    public_agenda: bool = False
    # RULES.md: in decisions the residents' votes weigh this much (1: equal to partners').
    resident_weight: int = 1


@dataclass(frozen=True, slots=True)
class Meeting:
    """One planned meeting. Its id stays the same when it is moved."""

    id: MeetingId
    series: SeriesId
    title: str
    start: datetime
    end: datetime
    location: str
    status: MeetingStatus = MeetingStatus.PLANNED

    @property
    def cancelled(self) -> bool:
        return self.status is MeetingStatus.CANCELLED


def meeting_id_for(series: SeriesId, planned_on: date) -> MeetingId:
    """A meeting's id: its series and the date the yearly plan first gave it."""
    return MeetingId(f"{series}-{planned_on.isoformat()}")


@dataclass(frozen=True, slots=True)
class Document:
    """A stored attachment; ``sha256`` names the content on disk, never the sender's name."""

    sha256: DocumentHash
    filename: str  # display name only, sanitised
    content_type: str
    size: int


@dataclass(frozen=True, slots=True)
class Item:
    """An agenda item: one submission, filed for one meeting (or none yet)."""

    id: ItemId
    kind: Kind
    title: str
    submitter: str
    received_at: datetime
    meeting: MeetingId | None
    late: bool
    decision_ready: bool
    status: ItemStatus
    source: str  # "mail", "chat", "cli"
    text: str = ""
    documents: tuple[Document, ...] = field(default=())
    moved_from: MeetingId | None = None  # the meeting it was meant for, when it moved
    position: int = 0  # order of filing within its meeting (0: not from the store)
    # "Possibly forged": the SPF/DKIM/DMARC failure our own mail server reported for
    # the mail that filed it (such an item waits for acceptance and got no receipt).
    auth_failure: str | None = None
    # Kept off every public surface by a core-group member (``!vertrouwelijk``).
    confidential: bool = False


@dataclass(frozen=True, slots=True)
class Agreement:
    """An afspraak: every agreement has an owner and a due date."""

    id: AgreementId
    what: str
    owner: str
    due: date
    status: AgreementStatus
    motivation: str | None
    created_at: datetime
    meeting: MeetingId | None = None
    closed_at: datetime | None = None
