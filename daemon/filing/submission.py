"""Filing a submission: one place that turns "something was submitted" into an agenda item.

Mail, chat and the CLI all come through ``file_submission``. It runs inside the
caller's store transaction, so the item, its documents and every effect the
caller adds (a receipt, a confirmation, the handled mail UID) commit together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from daemon.config import Config
from daemon.model import (
    DocumentHash,
    Item,
    ItemStatus,
    Kind,
    Meeting,
    SeriesId,
    SeriesRules,
)
from daemon.rules.assignment import Assignment, assign
from daemon.store import Tx


@dataclass(frozen=True, slots=True)
class IncomingDocument:
    """A document already written to the document store, to attach to the item."""

    sha256: DocumentHash
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True, slots=True)
class Submission:
    """Something submitted for the agenda, from any source.

    ``series``/``on_date`` come from a subject tag or a chat command naming a
    meeting; ``direct`` is an agendapunt put straight on the next meeting's agenda
    by a core-group member during the previous meeting.
    """

    kind: Kind
    title: str
    submitter: str
    received_at: datetime
    source: str  # "mail", "chat" or "cli"
    text: str = ""
    series: SeriesId | None = None
    on_date: date | None = None
    direct: bool = False
    awaiting_acceptance: bool = False
    documents: tuple[IncomingDocument, ...] = field(default=())
    auth_failure: str | None = None  # a mail that failed SPF/DKIM/DMARC at our server


@dataclass(frozen=True, slots=True)
class DateHint:
    """A date the submitter gave (subject tag, chat tag) and the meeting it named.

    ``named`` is ``None`` when no meeting (of the tagged series, or of any series
    for a date alone) is on that date: the item went where it would have gone
    without the date, and the submitter is told so.
    """

    on: date
    named: Meeting | None


@dataclass(frozen=True, slots=True)
class Filed:
    item: Item
    assignment: Assignment
    intended: Meeting | None  # the meeting it was meant for (differs when it moved on)
    hint: DateHint | None = None  # the date the submitter gave, if any


@dataclass(frozen=True, slots=True)
class FilingRules:
    """What filing needs from the configuration."""

    timezone: ZoneInfo
    default_series: SeriesId
    rules: dict[SeriesId, SeriesRules]

    @classmethod
    def from_config(cls, config: Config) -> FilingRules:
        return cls(
            config.timezone,
            config.default_series,
            {sid: entry.series.rules for sid, entry in config.series.items()},
        )


async def file_submission(tx: Tx, submission: Submission, rules: FilingRules) -> Filed:
    """Assign the submission to its meeting and store it as an item with its documents.

    A date without a series names a meeting of the default series, else of any
    series: a ``[2027-01-12]`` for a kerngroep meeting goes there, under the
    kerngroep's own deadlines (late or cancelled, it moves on in that series, as
    a ``[kerngroep 12-01-2027]`` would).
    """
    series, target = await _hinted_meeting(tx, submission, rules)
    meetings = await tx.meetings(series)
    assignment = assign(
        submission.kind,
        submission.received_at,
        meetings,
        rules.rules[series],
        rules.timezone,
        target=target.id if target else None,
        direct=submission.direct,
    )
    status = assignment.status
    if submission.awaiting_acceptance and status is ItemStatus.FILED:
        status = ItemStatus.AWAITING_ACCEPTANCE
    item = await tx.add_item(
        kind=submission.kind,
        title=submission.title,
        text=submission.text,
        submitter=submission.submitter,
        received_at=submission.received_at,
        meeting_id=assignment.meeting.id if assignment.meeting else None,
        late=assignment.late,
        decision_ready=assignment.decision_ready,
        status=status,
        source=submission.source,
        moved_from=assignment.moved_from.id if assignment.moved_from else None,
        auth_failure=submission.auth_failure,
    )
    await attach_documents(tx, item, submission.documents, submission.received_at)
    stored = await tx.item(item.id)
    assert stored is not None  # just written in this transaction
    hint = None if submission.on_date is None else DateHint(submission.on_date, target)
    return Filed(stored, assignment, assignment.moved_from or assignment.meeting, hint)


async def _hinted_meeting(
    tx: Tx, submission: Submission, rules: FilingRules
) -> tuple[SeriesId, Meeting | None]:
    """The series to file in and the meeting a date tag names (``None``: no date, or no
    meeting on it)."""
    series = submission.series or rules.default_series
    if submission.on_date is None:
        return series, None
    own = _meeting_on(await tx.meetings(series), submission.on_date, rules.timezone)
    if own is not None or submission.series is not None:
        return series, own
    others = [m for m in await tx.meetings() if m.series != series and m.series in rules.rules]
    other = _meeting_on(others, submission.on_date, rules.timezone)
    return (series, None) if other is None else (other.series, other)


async def attach_documents(
    tx: Tx, item: Item, documents: Sequence[IncomingDocument], at: datetime
) -> int:
    """Attach ``documents`` as the item's next version; returns that version (0: nothing)."""
    if not documents:
        return 0
    version = await tx.next_document_version(item.id)
    for document in documents:
        await tx.add_document(document.sha256, document.content_type, document.size)
        await tx.attach_document(item.id, document.sha256, document.filename, version, added_at=at)
    return version


def _meeting_on(meetings: Sequence[Meeting], on_date: date | None, tz: ZoneInfo) -> Meeting | None:
    """The meeting a date tag names: by its (possibly moved) local date, else its planned date."""
    if on_date is None:
        return None
    for meeting in meetings:
        if meeting.start.astimezone(tz).date() == on_date:
            return meeting
    planned_id_suffix = on_date.isoformat()
    return next((m for m in meetings if m.id.endswith(planned_id_suffix)), None)
