"""What a parsed mail means: who sent it, what kind of submission, for which meeting.

Pure. Deadlines are judged at ``received_at``, our server's INTERNALDATE, never
the sender's ``Date:``. With ``authserv_id`` a partner is only a partner when our
own server's ``Authentication-Results`` verified the From domain (``from_verified``):
where the partner's domain has no DMARC and a soft SPF, a forgery fails nothing, so
"nothing failed" is not enough. Such an unverified partner mail waits for acceptance,
its post saying so. Without ``authserv_id`` nothing can be verified and the From
decides (``check-config`` warns). Any mail that failed at our server (partner or not)
is "possibly forged": it waits for acceptance with the failing result shown, and gets
no receipt (RFC 3834 §2). A non-partner's mail adds a version to their item only when
our server verified the From domain, likewise.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from daemon.config import Partner
from daemon.filing.submission import Submission
from daemon.filing.tags import kind_for, parse_subject
from daemon.model import Item
from daemon.ports.mail import ParsedMail, authentication_failure, authentication_verified
from daemon.publish.item_posts import Sender

__all__ = [
    "NO_SENDER",
    "Understood",
    "auth_failure",
    "from_verified",
    "may_add_version",
    "named_partner",
    "trusted_partner",
    "understand",
]

NO_SENDER = "(geen afzender / no sender)"
MAX_TEXT_CHARS = 50_000  # the mail's text on the item; the whole mail stays in the mailbox


@dataclass(frozen=True, slots=True)
class Understood:
    """A mail read as a submission, before the store says whether it continues a thread."""

    submission: Submission  # without documents: they are stored just before filing
    sender: Sender
    partner: Partner | None  # verified partner, or None (unknown, spoofed or automatic)
    thread_ids: tuple[str, ...]  # Message-IDs this mail answers, oldest first
    item_ref: int | None  # ``[WB-42]`` in the subject
    automatic: bool  # auto-reply, bounce, list or bulk mail
    auth_failure: str | None = None  # our server's failing SPF/DKIM/DMARC result: possibly forged
    # Our server positively verified the From domain (``from_verified``); None: no
    # ``authserv_id`` is configured, so nothing can be verified either way.
    verified: bool | None = None
    # The partner the From names, when our server neither verified nor failed it: not
    # trusted (``partner`` is None), shown to the core group as "not verified".
    unverified_partner: Partner | None = None


def trusted_partner(
    parsed: ParsedMail, partners: Sequence[Partner], authserv_id: str | None
) -> Partner | None:
    """The sender's partner, when our own server verified the From domain.

    With ``authserv_id`` only a positive verdict of ours makes a partner (an aligned
    DMARC pass, or without DMARC an aligned DKIM or SPF pass): the absence of a failure
    is not enough, as a forgery of a domain without DMARC and with SPF ``~all`` fails
    nothing. Without ``authserv_id`` nothing can be verified: the From decides.
    """
    partner = named_partner(parsed, partners)
    if partner is None or auth_failure(parsed, authserv_id) is not None:
        return None
    if from_verified(parsed, authserv_id) is False:
        return None
    return partner


def named_partner(parsed: ParsedMail, partners: Sequence[Partner]) -> Partner | None:
    """The partner the From address names, whether or not the mail is really theirs."""
    address = parsed.from_address
    return next((p for p in partners if p.matches(address)), None) if address else None


def auth_failure(parsed: ParsedMail, authserv_id: str | None) -> str | None:
    """What failed at our own server for the From domain, if anything did."""
    domain = parsed.from_address.rpartition("@")[2]
    if not authserv_id or not domain:
        return None
    return authentication_failure(parsed.auth_results, authserv_id, domain)


def from_verified(parsed: ParsedMail, authserv_id: str | None) -> bool | None:
    """Whether our own server verified the From domain (aligned DMARC, DKIM or SPF pass);
    ``None`` without ``authserv_id``."""
    if not authserv_id:
        return None
    domain = parsed.from_address.rpartition("@")[2]
    return bool(domain) and authentication_verified(parsed.auth_results, authserv_id, domain)


def understand(
    parsed: ParsedMail,
    received_at: datetime,
    *,
    partners: Sequence[Partner],
    authserv_id: str | None,
    known_series: Collection[str],
) -> Understood:
    """Read ``parsed`` (received by our server at ``received_at``) as a submission.

    Unknown, spoofed and automatic mail (auto-replies, bounces, lists) is filed
    too, so nothing is lost, but waits for a person to accept it.
    """
    info = parse_subject(parsed.subject, known_series)
    partner = trusted_partner(parsed, partners, authserv_id)
    failure = auth_failure(parsed, authserv_id)
    # Neither verified nor failed (a failure is shown as "possibly forged" instead).
    unverified = None
    if partner is None and failure is None:
        unverified = named_partner(parsed, partners)
    has_files = bool(parsed.attachments or parsed.rejected_attachments)
    submission = Submission(
        kind=kind_for(info.kind, parsed.plus_tag, has_files),
        title=info.title,
        submitter=parsed.from_address or NO_SENDER,
        received_at=received_at,
        source="mail",
        text=_capped(parsed.text),
        series=info.series,
        on_date=info.on_date,
        awaiting_acceptance=partner is None or parsed.auto_submitted or failure is not None,
        auth_failure=failure,
    )
    sender = Sender(
        name=parsed.from_name,
        address=parsed.from_address or NO_SENDER,
        partner=partner.name if partner else None,
        unverified_partner=unverified.name if unverified else None,
    )
    thread = tuple(dict.fromkeys([*parsed.references, *filter(None, [parsed.in_reply_to])]))
    return Understood(
        submission,
        sender,
        partner,
        thread,
        info.item_ref,
        parsed.auto_submitted,
        failure,
        from_verified(parsed, authserv_id),
        unverified,
    )


def may_add_version(item: Item, understood: Understood, partners: Sequence[Partner]) -> bool:
    """Whether this mail may add a version of ``item``'s stukken.

    A partner's item takes versions from that partner, verified; anyone else's
    only from the same address, and (with ``authserv_id``) only when our server
    verified its domain: where the domain publishes no DMARC, a From can be forged
    without any check failing. Automatic and possibly forged mail never adds a version.
    """
    sender = understood.submission.submitter
    if understood.automatic or understood.auth_failure is not None or sender == NO_SENDER:
        return False
    owner = next((p for p in partners if p.matches(item.submitter)), None)
    if owner is None:
        return sender == item.submitter and understood.verified is not False
    return understood.partner == owner


def _capped(text: str) -> str:
    if len(text) <= MAX_TEXT_CHARS:
        return text
    return text[: MAX_TEXT_CHARS - 1] + "…"
