"""Room posts about mail that did not become a new item: quarantined, or a reply with no files.

The core group hears of every mail, so nothing waits unseen in a folder.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from daemon.i18n import mark
from daemon.model import Item
from daemon.ports.outbox import ChatPost
from daemon.publish.item_posts import PostLines, Sender, bilingual_post

__all__ = ["quarantine_key", "quarantine_post", "reply_post", "reply_post_key"]


def quarantine_key(quarantine_id: int) -> str:
    return f"mail/quarantine/{quarantine_id}/post"


def reply_post_key(uidvalidity: int, uid: int) -> str:
    return f"mail/reply/{uidvalidity}/{uid}/post"


def quarantine_post(
    quarantine_id: int, sender: str, subject: str, reason: str, folder: str, tz: ZoneInfo
) -> ChatPost:
    """A mail Wijkbode could not read is waiting in the quarantine folder for a person."""

    def build(lines: PostLines) -> None:
        lines.add(
            mark("A mail could not be read and is in the folder {folder} (quarantine {id})."),
            {"folder": folder, "id": str(quarantine_id)},
        )
        lines.add(
            mark("From: {sender}; subject: {subject}"),
            None,
            {"sender": sender or "—", "subject": subject or "—"},
        )
        lines.add(mark("Reason: {reason}"), None, {"reason": reason})
        lines.add(
            mark("After a fix: wijkbode quarantine retry {id}"),
            {"id": str(quarantine_id)},
        )

    return bilingual_post(build, tz)


def reply_post(item: Item, sender: Sender, subject: str, tz: ZoneInfo) -> ChatPost:
    """A reply about an item brought no new documents; a person may want to read it."""

    def build(lines: PostLines) -> None:
        lines.add(
            mark("A reply about submission {number} brought no new documents: {title}"),
            {"number": f"WB-{item.id}"},
            {"title": subject},
        )
        shown = f"{sender.name} <{sender.address}>" if sender.name else sender.address
        lines.add(mark("From: {sender}"), None, {"sender": shown})

    return bilingual_post(build, tz)
