"""SQL for the mail concern: where the intake is, what it handled, quarantine, threads.

The intake writes ``record_handled`` (and ``set_last_uid``) in the same
transaction as the item and its effects; ``mark_moved`` only after the IMAP
move. Tables come with migration ``0003_mail.sql``.
"""

from __future__ import annotations

import enum
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from daemon.model import ItemId
from daemon.store.base import QueriesBase
from daemon.store.timefmt import (
    instant_from_db,
    instant_to_db,
    optional_instant_from_db,
)

__all__ = [
    "FolderState",
    "HandledMail",
    "MailOutcome",
    "MailQueries",
    "QuarantineRetry",
    "QuarantineStatus",
    "QuarantinedMail",
]

_MAX_ERROR_CHARS = 500


# Served by outbox_by_channel_destination_created (0007): asked once per mail.
RECEIPTS_SINCE_SQL = (
    "SELECT COUNT(*) FROM outbox WHERE channel = 'mail' AND destination = ?"
    " AND substr(key, 1, 8) = 'receipt/' AND created_at >= ?"
)
# The WHERE has the partial index's (0016) term as it is written there, so SQLite uses it.
# ``IS NOT 0``: a verified partner's receipt (0) is left out; an outsider's (1) and one
# queued before 0017 marked them (NULL) are read.
OUTSIDER_RECEIPTS_SINCE_SQL = (
    "SELECT destination, outside_partners FROM outbox WHERE channel = 'mail'"
    " AND substr(key, 1, 8) = 'receipt/' AND created_at >= ?"
    " AND outside_partners IS NOT 0"
)


class MailOutcome(enum.StrEnum):
    FILED = "filed"  # a new item
    VERSION = "version"  # new document version of an existing item
    REPEAT = "repeat"  # the same mail again (renumbered folder, moved back): nothing new
    QUARANTINED = "quarantined"  # could not be understood; in the quarantine folder
    IGNORED = "ignored"  # understood, but nothing to file (a reply without documents)


class QuarantineStatus(enum.StrEnum):
    QUARANTINED = "quarantined"
    RETRY = "retry"  # the operator asked for another try
    RETRIED = "retried"  # moved back to the inbox for that try


class QuarantineRetry(enum.StrEnum):
    REQUESTED = "requested"
    UNKNOWN = "unknown"  # no such quarantine id
    NOT_QUARANTINED = "not_quarantined"  # already asked for, or already retried


@dataclass(frozen=True, slots=True)
class FolderState:
    folder: str
    uidvalidity: int
    last_uid: int


@dataclass(frozen=True, slots=True)
class HandledMail:
    folder: str
    uidvalidity: int
    uid: int
    message_id: str
    content_sha256: str
    outcome: MailOutcome
    item_id: ItemId | None
    sender: str
    at: datetime
    moved_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class QuarantinedMail:
    id: int
    folder: str
    uidvalidity: int
    uid: int
    message_id: str
    content_sha256: str
    sender: str
    subject: str
    reason: str
    at: datetime
    status: QuarantineStatus
    retried_at: datetime | None


def _handled_from_row(row: sqlite3.Row) -> HandledMail:
    item_id = row["item_id"]
    return HandledMail(
        folder=str(row["folder"]),
        uidvalidity=int(row["uidvalidity"]),
        uid=int(row["uid"]),
        message_id=str(row["message_id"]),
        content_sha256=str(row["content_sha256"]),
        outcome=MailOutcome(row["outcome"]),
        item_id=None if item_id is None else ItemId(int(item_id)),
        sender=str(row["sender"]),
        at=instant_from_db(row["at"]),
        moved_at=optional_instant_from_db(row["moved_at"]),
    )


def _quarantined_from_row(row: sqlite3.Row) -> QuarantinedMail:
    return QuarantinedMail(
        id=int(row["id"]),
        folder=str(row["folder"]),
        uidvalidity=int(row["uidvalidity"]),
        uid=int(row["uid"]),
        message_id=str(row["message_id"]),
        content_sha256=str(row["content_sha256"]),
        sender=str(row["sender"]),
        subject=str(row["subject"]),
        reason=str(row["reason"]),
        at=instant_from_db(row["at"]),
        status=QuarantineStatus(row["status"]),
        retried_at=optional_instant_from_db(row["retried_at"]),
    )


class MailQueries(QueriesBase):
    # --- position in the folder -----------------------------------------------

    async def folder_state(self, folder: str) -> FolderState | None:
        row = await self._fetch_one("SELECT * FROM mail_folder_state WHERE folder = ?", (folder,))
        if row is None:
            return None
        return FolderState(str(row["folder"]), int(row["uidvalidity"]), int(row["last_uid"]))

    async def set_folder_state(
        self, folder: str, uidvalidity: int, last_uid: int, *, at: datetime
    ) -> None:
        """Set the position outright (a new folder, or a renumbered one starting at 0)."""
        await self._conn.execute(
            "INSERT INTO mail_folder_state (folder, uidvalidity, last_uid, updated_at)"
            " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (folder) DO UPDATE"
            " SET uidvalidity = ?2, last_uid = ?3, updated_at = ?4",
            (folder, uidvalidity, last_uid, instant_to_db(at)),
        )

    async def advance_last_uid(
        self, folder: str, uidvalidity: int, uid: int, *, at: datetime
    ) -> None:
        """Move the position forward to ``uid`` (never back) within the same numbering."""
        await self._conn.execute(
            "UPDATE mail_folder_state SET last_uid = MAX(last_uid, ?3), updated_at = ?4"
            " WHERE folder = ?1 AND uidvalidity = ?2",
            (folder, uidvalidity, uid, instant_to_db(at)),
        )

    # --- handled mail ---------------------------------------------------------

    async def handled_mail(self, folder: str, uidvalidity: int, uid: int) -> HandledMail | None:
        row = await self._fetch_one(
            "SELECT * FROM mail_handled WHERE folder = ? AND uidvalidity = ? AND uid = ?",
            (folder, uidvalidity, uid),
        )
        return None if row is None else _handled_from_row(row)

    async def filed_before(self, message_id: str, *content_sha256: str) -> HandledMail | None:
        """The first filing of this mail (a new item or a version), if any: the same
        Message-ID with one of the hashes ``content_sha256``."""
        row = await self._fetch_one(
            "SELECT * FROM mail_handled WHERE message_id = ?"
            " AND content_sha256 IN (SELECT value FROM json_each(?))"
            " AND outcome IN ('filed', 'version') ORDER BY at, rowid LIMIT 1",
            (message_id, json.dumps(content_sha256)),
        )
        return None if row is None else _handled_from_row(row)

    async def record_handled(self, mail: HandledMail) -> None:
        """Remember a mail as handled; its attempts are no longer needed."""
        await self._conn.execute(
            "INSERT INTO mail_handled (folder, uidvalidity, uid, message_id, content_sha256,"
            " outcome, item_id, sender, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                mail.folder,
                mail.uidvalidity,
                mail.uid,
                mail.message_id,
                mail.content_sha256,
                mail.outcome.value,
                mail.item_id,
                mail.sender,
                instant_to_db(mail.at),
            ),
        )
        await self._conn.execute(
            "DELETE FROM mail_attempts WHERE folder = ? AND uidvalidity = ? AND uid = ?",
            (mail.folder, mail.uidvalidity, mail.uid),
        )

    async def unmoved_mail(self, folder: str, uidvalidity: int) -> list[HandledMail]:
        """Handled mail of the folder's current numbering whose move is not confirmed yet."""
        rows = await self._fetch_all(
            "SELECT * FROM mail_handled WHERE folder = ? AND uidvalidity = ?"
            " AND moved_at IS NULL ORDER BY uid",
            (folder, uidvalidity),
        )
        return [_handled_from_row(row) for row in rows]

    async def mark_moved(self, folder: str, uidvalidity: int, uid: int, *, at: datetime) -> None:
        await self._conn.execute(
            "UPDATE mail_handled SET moved_at = ? WHERE folder = ? AND uidvalidity = ? AND uid = ?",
            (instant_to_db(at), folder, uidvalidity, uid),
        )

    async def handled_count(self, outcome: MailOutcome | None = None) -> int:
        """How many mails were handled (with ``outcome``); for tests and inspection."""
        row = await self._fetch_one(
            "SELECT COUNT(*) FROM mail_handled WHERE ?1 IS NULL OR outcome = ?1",
            (None if outcome is None else outcome.value,),
        )
        assert row is not None  # an aggregate always yields one row
        return int(row[0])

    async def handled_mails(self) -> list[HandledMail]:
        """Every handled mail, oldest first; for tests and inspection."""
        rows = await self._fetch_all("SELECT * FROM mail_handled ORDER BY at, rowid")
        return [_handled_from_row(row) for row in rows]

    # --- parse attempts -------------------------------------------------------

    async def count_attempt(self, folder: str, uidvalidity: int, uid: int, *, at: datetime) -> int:
        """Count one more parse attempt (before making it) and return the new total."""
        row = await self._fetch_one(
            "INSERT INTO mail_attempts (folder, uidvalidity, uid, attempts, updated_at)"
            " VALUES (?1, ?2, ?3, 1, ?4) ON CONFLICT (folder, uidvalidity, uid)"
            " DO UPDATE SET attempts = attempts + 1, updated_at = ?4 RETURNING attempts",
            (folder, uidvalidity, uid, instant_to_db(at)),
        )
        assert row is not None  # INSERT ... RETURNING always yields the row
        return int(row[0])

    async def settle_attempt(self, folder: str, uidvalidity: int, uid: int) -> None:
        """Take back the attempt counted for a parse that finished: a crash after it (while
        filing) is no evidence against this mail. The row stays, so the mail is still
        tried alone next time."""
        await self._conn.execute(
            "UPDATE mail_attempts SET attempts = attempts - 1"
            " WHERE folder = ? AND uidvalidity = ? AND uid = ? AND attempts > 0",
            (folder, uidvalidity, uid),
        )

    async def mark_batch_try(
        self, folder: str, uidvalidity: int, uid: int, *, at: datetime
    ) -> None:
        """Note that a mail is about to be parsed together with others, charging it nothing:
        a crash then is no evidence against this mail, but it is tried alone next time."""
        await self._conn.execute(
            "INSERT INTO mail_attempts (folder, uidvalidity, uid, attempts, updated_at)"
            " VALUES (?1, ?2, ?3, 0, ?4) ON CONFLICT (folder, uidvalidity, uid)"
            " DO UPDATE SET updated_at = ?4",
            (folder, uidvalidity, uid, instant_to_db(at)),
        )

    async def tried_before(self, folder: str, uidvalidity: int, uid: int) -> bool:
        """Whether a try to read this mail started before and it is not handled yet."""
        row = await self._fetch_one(
            "SELECT 1 FROM mail_attempts WHERE folder = ? AND uidvalidity = ? AND uid = ?",
            (folder, uidvalidity, uid),
        )
        return row is not None

    async def record_attempt_error(
        self, folder: str, uidvalidity: int, uid: int, error: str
    ) -> None:
        await self._conn.execute(
            "UPDATE mail_attempts SET last_error = ? WHERE folder = ? AND uidvalidity = ?"
            " AND uid = ?",
            (error[:_MAX_ERROR_CHARS], folder, uidvalidity, uid),
        )

    async def attempt_state(self, folder: str, uidvalidity: int, uid: int) -> tuple[int, str]:
        """(attempts so far, the last error) of a mail not yet handled."""
        row = await self._fetch_one(
            "SELECT attempts, last_error FROM mail_attempts"
            " WHERE folder = ? AND uidvalidity = ? AND uid = ?",
            (folder, uidvalidity, uid),
        )
        return (0, "") if row is None else (int(row[0]), str(row[1]))

    # --- quarantine -----------------------------------------------------------

    async def add_quarantine(
        self,
        *,
        folder: str,
        uidvalidity: int,
        uid: int,
        message_id: str,
        content_sha256: str,
        sender: str,
        subject: str,
        reason: str,
        at: datetime,
    ) -> int:
        """Record a quarantined mail and return its id (what ``quarantine retry ID`` takes)."""
        row = await self._fetch_one(
            "INSERT INTO mail_quarantine (folder, uidvalidity, uid, message_id, content_sha256,"
            " sender, subject, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                folder,
                uidvalidity,
                uid,
                message_id,
                content_sha256,
                sender,
                subject,
                reason[:_MAX_ERROR_CHARS],
                instant_to_db(at),
            ),
        )
        assert row is not None  # INSERT ... RETURNING always yields the row
        return int(row[0])

    async def quarantined(self, statuses: Iterable[QuarantineStatus] = ()) -> list[QuarantinedMail]:
        """Quarantined mail (with one of ``statuses``; all when empty), oldest first."""
        wanted = [s.value for s in statuses]
        rows = await self._fetch_all(
            "SELECT * FROM mail_quarantine WHERE ?1 = '[]'"
            " OR status IN (SELECT value FROM json_each(?1)) ORDER BY id",
            (json.dumps(wanted),),
        )
        return [_quarantined_from_row(row) for row in rows]

    async def quarantined_mail(self, quarantine_id: int) -> QuarantinedMail | None:
        row = await self._fetch_one("SELECT * FROM mail_quarantine WHERE id = ?", (quarantine_id,))
        return None if row is None else _quarantined_from_row(row)

    async def request_quarantine_retry(self, quarantine_id: int) -> QuarantineRetry:
        """Ask the running intake to put the mail back in the inbox for another try."""
        async with self._conn.execute(
            "UPDATE mail_quarantine SET status = 'retry' WHERE id = ? AND status = 'quarantined'",
            (quarantine_id,),
        ) as cursor:
            if cursor.rowcount == 1:
                return QuarantineRetry.REQUESTED
        if await self.quarantined_mail(quarantine_id) is None:
            return QuarantineRetry.UNKNOWN
        return QuarantineRetry.NOT_QUARANTINED

    async def mark_quarantine_retried(self, quarantine_id: int, *, at: datetime) -> None:
        await self._conn.execute(
            "UPDATE mail_quarantine SET status = 'retried', retried_at = ?"
            " WHERE id = ? AND status = 'retry'",
            (instant_to_db(at), quarantine_id),
        )

    # --- threads and receipts ---------------------------------------------------

    async def link_thread(self, message_id: str, item_id: ItemId) -> None:
        """Let replies naming ``message_id`` reach ``item_id``; the first link stays."""
        await self._conn.execute(
            "INSERT INTO mail_thread_ids (message_id, item_id) VALUES (?, ?)"
            " ON CONFLICT (message_id) DO NOTHING",
            (message_id, item_id),
        )

    async def item_for_thread(self, message_ids: Iterable[str]) -> ItemId | None:
        """The item of the most recent of ``message_ids`` (References are oldest first)."""
        ordered = list(message_ids)
        if not ordered:
            return None
        rows = await self._fetch_all(
            "SELECT message_id, item_id FROM mail_thread_ids"
            " WHERE message_id IN (SELECT value FROM json_each(?))",
            (json.dumps(ordered),),
        )
        found = {str(row["message_id"]): ItemId(int(row["item_id"])) for row in rows}
        return next((found[m] for m in reversed(ordered) if m in found), None)

    async def filing_mail(self, item_id: ItemId) -> HandledMail | None:
        """The mail that filed ``item_id`` (the first, if it came in more than once)."""
        row = await self._fetch_one(
            "SELECT * FROM mail_handled WHERE item_id = ? AND outcome = 'filed'"
            " ORDER BY at, rowid LIMIT 1",
            (item_id,),
        )
        return None if row is None else _handled_from_row(row)

    async def receipts_since(self, address: str, since: datetime) -> int:
        """How many receipts went (or wait to go) to ``address`` since ``since``."""
        row = await self._fetch_one(RECEIPTS_SINCE_SQL, (address, instant_to_db(since)))
        assert row is not None  # an aggregate always yields one row
        return int(row[0])

    async def mark_receipt(self, key: str, *, outside_partners: bool) -> None:
        """Record how the receipt ``key`` was sent: as an outsider's, so that it counts
        toward the overall limit whatever its address, or as a verified partner's."""
        await self._conn.execute(
            "UPDATE outbox SET outside_partners = ? WHERE key = ?", (int(outside_partners), key)
        )

    async def outsider_receipts_since(self, since: datetime) -> list[tuple[str, bool | None]]:
        """The receipts since ``since`` that may count toward the overall limit on
        receipts to senders outside the partners, as (destination, outside_partners).

        ``True``: sent as an outsider's (``mark_receipt``), whatever its address. ``None``:
        queued before migration 0017, unmarked: the caller judges it by its destination
        against the configured partners, which the store does not know. A verified
        partner's receipt is left out. Under the limit these are few: the limit's worth."""
        rows = await self._fetch_all(OUTSIDER_RECEIPTS_SINCE_SQL, (instant_to_db(since),))
        return [(str(row[0]), None if row[1] is None else bool(row[1])) for row in rows]
