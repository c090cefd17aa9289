"""Receipts: what a sender hears back about a mail, and whether we may answer at all.

RULES.md: everyone who submits something gets a receipt saying what happens
with it and when. RFC 3834 bounds that: no answer to automatic, bounce or
list mail, none to ourselves, and only a few per sender per hour, so two
auto-responders can never keep each other busy. Senders outside the partners
together get at most so many an hour, so a spammer forging many From addresses
cannot make us send receipts to each (backscatter); the mail is filed all the
same. Pure: the intake passes in what it read from the store (the counts of
recent receipts).

A receipt is an outbox ``MailOut`` keyed ``receipt/mail/<uidvalidity>/<uid>``;
its Message-ID comes from that key, so a resend after a crash is the same mail.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from daemon.filing.submission import Filed
from daemon.i18n import Translator, bilingual, mark
from daemon.model import Item, ItemStatus, Kind, Meeting, SeriesRules
from daemon.ports.mail import MailLimits, RejectedAttachment, RejectReason
from daemon.ports.outbox import MailOut, message_id_for
from daemon.rules.assignment import apply_offset, deadline
from daemon.safe_text import untrusted

__all__ = [
    "AUTO_REPLIED",
    "NoReceipt",
    "ReceiptTo",
    "filed_receipt",
    "is_own_address",
    "item_number",
    "receipt_blocker",
    "receipt_key",
    "unreadable_receipt",
    "version_receipt",
]

AUTO_REPLIED = "auto-replied"  # RFC 3834 Auto-Submitted value of a receipt
RECEIPT_WINDOW_HOURS = 1
_SUBJECT_TITLE_CHARS = 150
_FILE_NAME_CHARS = 120
# A mail with thousands of parts must not get a receipt of thousands of lines
# (to an unknown sender too): every list shows this many entries and counts the rest,
# and each language's text is cut at this length as a last bound.
MAX_LISTED = 20
MAX_TEXT_CHARS = 8_000


class NoReceipt(enum.StrEnum):
    """Why a mail gets no receipt (RFC 3834 section 2, and our rate limit)."""

    NO_SENDER = "no_sender"
    AUTO_SUBMITTED = "auto_submitted"  # Auto-Submitted, X-Autoreply, read receipts
    BOUNCE = "bounce"  # null sender, delivery report, MAILER-DAEMON
    LIST_OR_BULK = "list_or_bulk"  # List-Id, Precedence bulk/list/junk
    OURSELVES = "ourselves"  # our own address, also with a +tag
    FORGED = "possibly_forged"  # failed SPF/DKIM/DMARC at our server: likely not the sender's
    RATE_LIMITED = "rate_limited"  # enough receipts to this sender this hour
    # enough receipts to all senders outside the partners together this hour
    OUTSIDE_PARTNERS_LIMITED = "outside_partners_limited"


def receipt_key(uidvalidity: int, uid: int) -> str:
    """The outbox key of the receipt for one mail."""
    return f"receipt/mail/{uidvalidity}/{uid}"


def item_number(item_id: int) -> str:
    """How an item is named to people and in subjects: ``WB-42``."""
    return f"WB-{item_id}"


def is_own_address(address: str, our_address: str) -> bool:
    """``address`` is ours, or ours with a ``+tag`` (``wijkalliantie+stuk@...``)."""
    local, _, domain = address.strip().lower().rpartition("@")
    our_local, _, our_domain = our_address.strip().lower().rpartition("@")
    if not domain or domain != our_domain:
        return False
    return local == our_local or local.startswith(our_local + "+")


def receipt_blocker(
    address: str,
    *,
    is_auto: bool,
    is_bounce: bool,
    is_bulk_or_list: bool,
    our_address: str,
    sent_this_hour: int,
    per_hour: int,
    auth_failed: bool = False,
    partner: bool = False,
    sent_outside_partners: int = 0,
    outside_partners_per_hour: int = 0,
) -> NoReceipt | None:
    """Why no receipt may go to ``address``; ``None`` when one may.

    ``auth_failed``: our server says the mail failed authentication for its From
    domain; the address is likely forged, and a receipt would be backscatter.
    ``sent_outside_partners``: receipts to senders outside the partners in the last
    hour, all together; at ``outside_partners_per_hour`` (0: no limit) a sender who
    is not a ``partner`` gets none. A partner's receipt is never held back by it.
    """
    if not address or "@" not in address:
        return NoReceipt.NO_SENDER
    if auth_failed:
        return NoReceipt.FORGED
    if is_bounce:
        return NoReceipt.BOUNCE
    if is_auto:
        return NoReceipt.AUTO_SUBMITTED
    if is_bulk_or_list:
        return NoReceipt.LIST_OR_BULK
    if is_own_address(address, our_address):
        return NoReceipt.OURSELVES
    if sent_this_hour >= per_hour:
        return NoReceipt.RATE_LIMITED
    if not partner and 0 < outside_partners_per_hour <= sent_outside_partners:
        return NoReceipt.OUTSIDE_PARTNERS_LIMITED
    return None


@dataclass(frozen=True, slots=True)
class ReceiptTo:
    """Where a receipt goes and what it answers (for threading)."""

    key: str  # outbox key, e.g. receipt_key(uidvalidity, uid)
    address: str
    message_id: str | None  # the mail answered; None when it had none of its own
    references: tuple[str, ...]
    domain: str  # our mail domain, for the receipt's own Message-ID
    tz: ZoneInfo

    def mail(self, subject: str, text: str) -> MailOut:
        references = self.references
        if self.message_id is not None and self.message_id not in references:
            references = (*references, self.message_id)
        return MailOut(
            to=(self.address,),
            subject=subject,
            text=text,
            message_id=message_id_for(self.key, self.domain),
            in_reply_to=self.message_id,
            references=references,
            auto_submitted=AUTO_REPLIED,
        )


# --- wording -------------------------------------------------------------------

KIND_NAMES = {
    Kind.AGENDAPUNT: mark("agenda point"),
    Kind.STUK: mark("document"),
    Kind.TER_KENNISGEVING: mark("for information"),
    Kind.ACTUALITEIT: mark("current affair"),
}
_REJECTED = {
    RejectReason.TOO_LARGE: mark("larger than the limit of {limit} per file"),
    RejectReason.TOO_MANY: mark("more than {count} files in one mail"),
    RejectReason.MAIL_TOO_LARGE: mark("all files together are larger than {limit}"),
    RejectReason.TNEF_UNREADABLE: mark(
        "an Outlook winmail.dat we could not open; please send the files as ordinary"
        " attachments (in Outlook: send the mail as HTML or plain text, not Rich Text)"
    ),
    RejectReason.UNREADABLE: mark("the attachment could not be decoded"),
    RejectReason.EMPTY: mark("the file is empty"),
}
_AUTOMATIC = mark("This is an automatic message from Wijkbode.")


def _size(limit: int) -> str:
    return f"{limit / (1024 * 1024):.0f} MB" if limit >= 1024 * 1024 else f"{limit} bytes"


def _subject(title: str, item_id: int) -> str:
    clean = untrusted(title, _SUBJECT_TITLE_CHARS)
    return f"Ontvangen / Received: {clean} [{item_number(item_id)}]"


def _meeting_line(_: Translator, meeting: Meeting | None) -> str:
    if meeting is None:
        return _(
            "Meeting: not planned yet. We will let you know as soon as a meeting is planned"
            " that can take it."
        )
    return _("Meeting: {title}, {when}.", title=meeting.title, when=_.when(meeting.start))


def _stukken_line(_: Translator, meeting: Meeting | None, rules: SeriesRules) -> list[str]:
    if meeting is None or Kind.STUK not in rules.deadlines:
        return []
    goes_out = deadline(meeting, Kind.STUK, rules, _.tz)
    return [
        _("The stukken for this meeting go out to the partners on {when}.", when=_.when(goes_out))
    ]


def _files_lines(
    _: Translator, stored: Sequence[str], rejected: Sequence[RejectedAttachment], limits: MailLimits
) -> list[str]:
    lines: list[str] = []
    if stored:
        names = ", ".join(f"“{untrusted(n, _FILE_NAME_CHARS)}”" for n in stored[:MAX_LISTED])
        if len(stored) > MAX_LISTED:
            names += _(" and {count} more", count=len(stored) - MAX_LISTED)
        lines.append(_("Stored documents: {names}.", names=names))
    for file in rejected[:MAX_LISTED]:
        reason = _(
            _REJECTED[file.reason],
            limit=_size(
                limits.max_mail_bytes
                if file.reason is RejectReason.MAIL_TOO_LARGE
                else limits.max_attachment_bytes
            ),
            count=limits.max_attachments,
        )
        lines.append(
            _(
                "Not stored: “{name}”: {reason}.",
                name=untrusted(file.filename, _FILE_NAME_CHARS),
                reason=reason,
            )
        )
    if len(rejected) > MAX_LISTED:
        lines.append(_("And {count} more files not stored.", count=len(rejected) - MAX_LISTED))
    if rejected:
        lines.append(
            _(
                "Please send what was not stored in another way, for example in smaller parts"
                " or as a download link, in a reply to this mail."
            )
        )
    return lines


def _lateness_lines(_: Translator, filed: Filed, rules: SeriesRules) -> list[str]:
    item, intended, meeting = filed.item, filed.intended, filed.assignment.meeting
    kind = _(KIND_NAMES[item.kind])
    if item.late and intended is not None:
        missed = deadline(intended, item.kind, rules, _.tz)
        lines = [
            _(
                "Your {kind} came in after the deadline of {deadline} for the meeting of {when}.",
                kind=kind,
                deadline=_.when(missed),
                when=_.when(intended.start),
            )
        ]
        if meeting is not None:
            lines.append(
                _("It therefore moves to the next meeting, on {when}.", when=_.when(meeting.start))
            )
        else:
            lines.append(
                _("No later meeting is planned yet; we will let you know when there is one.")
            )
        if item.kind is Kind.STUK:
            lines.append(
                _(
                    "It is not in the package of stukken and is not ready for decision"
                    " (two-week rule). The core group may still put it on the agenda of"
                    " {when} for discussion, without a decision.",
                    when=_.when(intended.start),
                )
            )
        return lines
    if meeting is not None and not item.decision_ready and item.kind is not Kind.TER_KENNISGEVING:
        cutoff = apply_offset(meeting.start, rules.decision_offset, _.tz)
        return [
            _(
                "On time, but it came in after {when}, so no decision can be taken on it at"
                " this meeting (two-week rule).",
                when=_.when(cutoff),
            )
        ]
    return [_("On time.")]


def elsewhere_lines(_: Translator, filed: Filed) -> list[str]:
    """Why the item is not on the meeting the sender named or meant: no meeting on the
    date they gave, or that meeting is cancelled. (Too late for it: ``_lateness_lines``.)"""
    hint, meeting, intended = filed.hint, filed.assignment.meeting, filed.intended
    if hint is not None and hint.named is None:
        return [
            _(
                "No meeting is planned on {day}, the date you gave, so it went to the first"
                " meeting that can take it.",
                day=_.day(hint.on),
            )
        ]
    if intended is not None and intended.cancelled and meeting != intended:
        return [
            _(
                "The meeting of {when} is cancelled, so it went to the next meeting.",
                when=_.when(intended.start),
            )
        ]
    return []


def _awaiting_lines(_: Translator, item: Item, *, unverified: bool = False) -> list[str]:
    if item.status is not ItemStatus.AWAITING_ACCEPTANCE:
        return []
    if unverified:
        # A partner's address, but our server could not verify the mail: saying "not on
        # the list" would be wrong, and this tells a real partner what to look into.
        return [
            _(
                "Our mail server could not confirm that this mail really comes from your"
                " address (no SPF, DKIM or DMARC check passed), so a member of the core group"
                " will look at your submission first. You will hear from us when it is"
                " accepted."
            )
        ]
    return [
        _(
            "Your address is not on the list of partners, so a member of the core group"
            " will look at your submission first. You will hear from us when it is accepted."
        )
    ]


def _footer(_: Translator, item_id: int) -> list[str]:
    return [
        "",
        _(
            "To send a new version, reply to this mail and keep [{number}] in the subject.",
            number=item_number(item_id),
        ),
        _(_AUTOMATIC),
    ]


def _bounded(_: Translator, lines: Sequence[str], tail: Sequence[str] = ()) -> str:
    """``lines`` then ``tail`` as one text of at most ``MAX_TEXT_CHARS`` (about that,
    for a ``tail`` of a few short lines): lines are dropped from the end of ``lines``,
    never cut in two, and the text says it was shortened."""
    text = "\n".join([*lines, *tail])
    if len(text) <= MAX_TEXT_CHARS:
        return text
    note = _("(This message was shortened.)")
    room = MAX_TEXT_CHARS - len("\n".join([note, *tail])) - 1
    kept: list[str] = []
    for line in lines:
        room -= len(line) + 1
        if room < 0:
            break
        kept.append(line)
    return "\n".join([*kept, note, *tail])


# --- the receipts ----------------------------------------------------------------


def filed_receipt(
    to: ReceiptTo,
    filed: Filed,
    rules: SeriesRules,
    *,
    stored: Sequence[str] = (),
    rejected: Sequence[RejectedAttachment] = (),
    limits: MailLimits | None = None,
    unverified: bool = False,
) -> MailOut:
    """The receipt for a new item: number, kind, meeting, when the stukken go out, lateness.

    ``unverified``: from a partner's address, but our mail server did not verify it."""
    item, meeting = filed.item, filed.assignment.meeting
    limits = limits or MailLimits()

    def render(_: Translator) -> str:
        lines = [
            _(
                "Thank you for your mail. We have filed it as item {number}: “{title}”.",
                number=item_number(item.id),
                title=untrusted(item.title),
            ),
            _("Kind: {kind}.", kind=_(KIND_NAMES[item.kind])),
            _meeting_line(_, meeting),
            *elsewhere_lines(_, filed),
            *_lateness_lines(_, filed, rules),
            *_stukken_line(_, meeting, rules),
            *_awaiting_lines(_, item, unverified=unverified),
            *_files_lines(_, stored, rejected, limits),
        ]
        return _bounded(_, lines, _footer(_, item.id))

    return to.mail(_subject(item.title, item.id), bilingual(render, to.tz))


def version_receipt(
    to: ReceiptTo,
    item: Item,
    version: int | None,
    meeting: Meeting | None,
    rules: SeriesRules,
    *,
    received_at: datetime,
    stored: Sequence[str] = (),
    rejected: Sequence[RejectedAttachment] = (),
    limits: MailLimits | None = None,
) -> MailOut:
    """The receipt for a reply with new versions of an item's documents (``version``).

    ``version`` is ``None`` when none of its files could be stored: the sender
    is told which and why.
    """
    limits = limits or MailLimits()

    def render(_: Translator) -> str:
        fields = {"number": item_number(item.id), "title": untrusted(item.title)}
        if version is None:
            first = _(
                "Thank you. Your mail about item {number} (“{title}”) brought no new documents.",
                **fields,
            )
        else:
            first = _(
                "Thank you. We have added the documents of your mail to item {number}"
                " (“{title}”) as version {version}.",
                **fields,
                version=version,
            )
        lines = [
            first,
            _meeting_line(_, meeting),
            *(_late_version_lines(_, item, meeting, rules, received_at) if version else []),
            *_files_lines(_, stored, rejected, limits),
        ]
        return _bounded(_, lines, _footer(_, item.id))

    return to.mail(_subject(item.title, item.id), bilingual(render, to.tz))


def _late_version_lines(
    _: Translator, item: Item, meeting: Meeting | None, rules: SeriesRules, received_at: datetime
) -> list[str]:
    if meeting is None:
        return []
    closed = deadline(meeting, item.kind, rules, _.tz)
    if received_at <= closed:
        return []
    return [
        _(
            "Note: this version came in after the deadline of {deadline}; the stukken"
            " that went out may hold an earlier version.",
            deadline=_.when(closed),
        )
    ]


def unreadable_receipt(to: ReceiptTo, subject: str) -> MailOut:
    """The short receipt for a mail in quarantine: received, not read, a person will look."""
    shown = untrusted(subject, _SUBJECT_TITLE_CHARS)

    def render(_: Translator) -> str:
        lines = [
            _(
                "We received your mail “{subject}”, but Wijkbode could not read it."
                " A volunteer will look at it; you do not need to do anything for now.",
                subject=shown or "—",
            ),
            "",
            _(_AUTOMATIC),
        ]
        return _bounded(_, lines)

    return to.mail(
        f"Ontvangen, niet gelezen / Received, not read: {shown}".rstrip(": "),
        bilingual(render, to.tz),
    )
