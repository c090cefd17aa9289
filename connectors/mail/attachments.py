"""From the walked leaves to the files kept and the files refused, within the limits.

Pictures shown inside the body (signature logos) are counted, not kept.
``winmail.dat`` is opened and its files take its place. Every file the mail
brought that is not kept is listed with a reason, so the sender can be told.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from connectors.mail.filenames import content_type_for, sanitise_filename
from connectors.mail.parts import Leaf
from connectors.mail.tnef import TnefUnreadableError, extract_tnef, is_tnef
from daemon.ports.mail import MailLimits, ParsedAttachment, RejectedAttachment, RejectReason

# A small unnamed picture in multipart/related is a logo or an inline image.
MAX_UNNAMED_RELATED_IMAGE_BYTES = 50_000
_SIMPLE_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")


@dataclass(frozen=True, slots=True)
class _File:
    name: str | None
    content_type: str
    content: bytes | None  # None: the transfer encoding could not be undone
    inline: bool
    unreadable_reason: RejectReason = RejectReason.UNREADABLE
    unreadable_size: int = 0


@dataclass(slots=True)
class FileSelection:
    attachments: list[ParsedAttachment] = field(default_factory=list)
    rejected: list[RejectedAttachment] = field(default_factory=list)
    inline_count: int = 0
    tnef_text: str = ""
    kept_bytes: int = 0
    seen: set[tuple[str, str]] = field(default_factory=set)


def select_files(
    leaves: tuple[Leaf, ...], shown_content_ids: frozenset[str], limits: MailLimits
) -> FileSelection:
    """Apply the inline rules, open TNEF, then the limits, in the order the mail has them."""
    selection = FileSelection()
    for leaf in leaves:
        if is_shown_inline(leaf, shown_content_ids):
            selection.inline_count += 1
            continue
        for file in _files_of(leaf, limits, selection):
            _admit(file, selection, limits)
    return selection


def is_shown_inline(leaf: Leaf, shown_content_ids: frozenset[str]) -> bool:
    """A picture in the body: referenced by cid from the HTML, or a small unnamed related image."""
    if leaf.disposition != "attachment" and leaf.content_id in shown_content_ids:
        return True
    return (
        leaf.in_related
        and leaf.content_type.startswith("image/")
        and not leaf.filename
        and len(leaf.content or b"") <= MAX_UNNAMED_RELATED_IMAGE_BYTES
    )


def _files_of(leaf: Leaf, limits: MailLimits, selection: FileSelection) -> list[_File]:
    content_type = _clean_type(leaf.content_type)
    inline = leaf.disposition == "inline"
    if not is_tnef(content_type, leaf.filename) or leaf.content is None:
        return [
            _File(
                leaf.filename, content_type_for(content_type, leaf.filename), leaf.content, inline
            )
        ]
    if len(leaf.content) > limits.max_mail_bytes:
        return [_File(leaf.filename, content_type, leaf.content, inline)]  # refused as too large
    try:
        contents = extract_tnef(leaf.content)
    except TnefUnreadableError:
        name = leaf.filename or "winmail.dat"
        return [
            _File(name, content_type, None, inline, RejectReason.TNEF_UNREADABLE, len(leaf.content))
        ]
    selection.tnef_text = selection.tnef_text or contents.body_text
    return [_File(f.filename, f.content_type, f.content, False) for f in contents.files]


def _admit(file: _File, selection: FileSelection, limits: MailLimits) -> None:
    index = len(selection.attachments) + len(selection.rejected) + 1
    name = sanitise_filename(file.name, index, file.content_type)
    if file.content is None:
        selection.rejected.append(
            RejectedAttachment(name, file.unreadable_reason, file.unreadable_size)
        )
        return
    size = len(file.content)
    key = (hashlib.sha256(file.content).hexdigest(), name)
    if key in selection.seen:  # the same file twice, e.g. in both alternatives of the body
        return
    reason = _refusal(size, selection, limits)
    if reason is not None:
        selection.rejected.append(RejectedAttachment(name, reason, size))
        return
    selection.seen.add(key)
    selection.kept_bytes += size
    selection.attachments.append(
        ParsedAttachment(name, file.content_type, file.content, size, file.inline)
    )


def _refusal(size: int, selection: FileSelection, limits: MailLimits) -> RejectReason | None:
    if size == 0:
        return RejectReason.EMPTY
    if size > limits.max_attachment_bytes:
        return RejectReason.TOO_LARGE
    if len(selection.attachments) >= limits.max_attachments:
        return RejectReason.TOO_MANY
    if selection.kept_bytes + size > limits.max_mail_bytes:
        return RejectReason.MAIL_TOO_LARGE
    return None


def _clean_type(content_type: str) -> str:
    """A plain ``type/subtype``; anything odd becomes application/octet-stream."""
    content_type = content_type.strip().lower()
    return content_type if _SIMPLE_TYPE.match(content_type) else "application/octet-stream"
