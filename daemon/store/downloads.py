"""SQL for the download tokens of the stukken package (migration 0011).

A token is minted for one document of one meeting's package, for one outbox row
(the partner mail that carries the link), inside the transaction that enqueues
that row: both commit or neither does. The HTTP service looks a token up and
serves only that document, and only until the meeting (as it stands now) is
over; an unknown or expired token is a plain 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from daemon.model import DocumentHash, MeetingId
from daemon.store.base import QueriesBase
from daemon.store.timefmt import instant_from_db, instant_to_db, optional_instant_from_db

__all__ = ["DownloadQueries", "DownloadToken", "link_works"]


@dataclass(frozen=True, slots=True)
class DownloadToken:
    """One link: ``token`` opens ``sha256`` (shown as ``filename``) until the meeting ends."""

    token: str
    meeting: MeetingId
    effect_key: str  # the outbox row (a partner's package mail) that carries the link
    sha256: DocumentHash
    filename: str
    content_type: str
    expires_at: datetime  # the meeting's end when minted


def link_works(expires_at: datetime, meeting_end: datetime | None, now: datetime) -> bool:
    """Whether a link still opens at ``now``: until the meeting's end as it stands now
    (a moved meeting takes its links along), or the end it had when minted when the
    meeting is no longer stored. At the end itself it no longer works."""
    end = expires_at if meeting_end is None else meeting_end
    return now < end


class DownloadQueries(QueriesBase):
    async def add_download_tokens(self, tokens: list[DownloadToken], *, now: datetime) -> None:
        """Store the links of enqueued mails; a link already stored for the same row and
        document is kept as it was (the row can only have been sent with that one)."""
        await self._conn.executemany(
            "INSERT INTO download_tokens (token, meeting_id, effect_key, sha256, filename,"
            " content_type, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (effect_key, sha256) DO NOTHING",
            [
                (t.token, t.meeting, t.effect_key, t.sha256, t.filename, t.content_type,
                 instant_to_db(t.expires_at), instant_to_db(now))
                for t in tokens
            ],
        )  # fmt: skip

    async def usable_download(self, token: str, now: datetime) -> DownloadToken | None:
        """The link ``token`` names if it still works at ``now``; else ``None``."""
        row = await self._fetch_one(
            'SELECT t.*, m."end" AS meeting_end FROM download_tokens AS t'
            " LEFT JOIN meetings AS m ON m.id = t.meeting_id WHERE t.token = ?",
            (token,),
        )
        if row is None:
            return None
        expires_at = instant_from_db(row["expires_at"])
        if not link_works(expires_at, optional_instant_from_db(row["meeting_end"]), now):
            return None
        return DownloadToken(
            token=str(row["token"]),
            meeting=MeetingId(str(row["meeting_id"])),
            effect_key=str(row["effect_key"]),
            sha256=DocumentHash(str(row["sha256"])),
            filename=str(row["filename"]),
            content_type=str(row["content_type"]),
            expires_at=expires_at,
        )

    async def count_download(self, token: str) -> None:
        await self._conn.execute(
            "UPDATE download_tokens SET downloads = downloads + 1 WHERE token = ?", (token,)
        )

    async def download_tokens(self, meeting: MeetingId) -> list[DownloadToken]:
        """Every link minted for ``meeting``'s package (tests, and what was sent where)."""
        rows = await self._fetch_all(
            "SELECT * FROM download_tokens WHERE meeting_id = ? ORDER BY effect_key, rowid",
            (meeting,),
        )
        return [
            DownloadToken(
                token=str(r["token"]),
                meeting=MeetingId(str(r["meeting_id"])),
                effect_key=str(r["effect_key"]),
                sha256=DocumentHash(str(r["sha256"])),
                filename=str(r["filename"]),
                content_type=str(r["content_type"]),
                expires_at=instant_from_db(r["expires_at"]),
            )
            for r in rows
        ]
