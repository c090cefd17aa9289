"""The mailbox as the core sees it: a parsed mail, its attachments and the sender's checks.

``connectors/mail`` turns raw bytes into a ``ParsedMail`` (or raises
``UnparseableMail``, and the intake quarantines the mail with that reason).
The core never sees an ``email.message`` object, imap-tools or a charset.

The IMAP ``MailSource`` protocol and ``RawMail`` live in ``daemon.ports.mailbox``.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from daemon.errors import WijkbodeError

MIB = 1024 * 1024


class UnparseableMail(WijkbodeError):  # noqa: N818 (the name the intake and issue use)
    """The bytes cannot be understood as a mail at all; ``reason`` says why (for the log)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class MailLimits:
    """What one mail may bring in; anything beyond is listed as rejected, never stored.

    ``max_mail_bytes`` bounds the decoded files kept from one mail together; files
    are admitted in the mail's order until the next would pass a limit. (A
    fetcher may skip mails whose raw size is far beyond it: base64 adds a third.)
    """

    max_attachment_bytes: int = 20 * MIB
    max_mail_bytes: int = 40 * MIB
    max_attachments: int = 20

    def __post_init__(self) -> None:
        for name in ("max_attachment_bytes", "max_mail_bytes", "max_attachments"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} moet minstens 1 zijn (must be at least 1)")


class RejectReason(enum.StrEnum):
    """Why an attachment was not kept; the receipt tells the sender in plain words."""

    TOO_LARGE = "too_large"  # over max_attachment_bytes
    TOO_MANY = "too_many"  # beyond max_attachments
    MAIL_TOO_LARGE = "mail_too_large"  # the files kept so far plus this one over max_mail_bytes
    TNEF_UNREADABLE = "tnef_unreadable"  # a winmail.dat we could not open
    UNREADABLE = "unreadable"  # the part's transfer encoding could not be undone
    EMPTY = "empty"  # zero bytes: nothing to file


@dataclass(frozen=True, slots=True)
class ParsedAttachment:
    """One file from a mail. ``filename`` is for display only, never a storage path.

    ``inline`` is the sender's hint (``Content-Disposition: inline``); Apple Mail
    marks PDFs inline too, so an inline file is still a stuk. Signature images
    and pictures embedded in the HTML never get here (``ParsedMail.inline_count``).
    """

    filename: str
    content_type: str
    content: bytes
    size: int
    inline: bool = False

    @property
    def sha256(self) -> str:
        """The content's hash, the name it is stored under."""
        return hashlib.sha256(self.content).hexdigest()


class RejectedAttachment(NamedTuple):
    """An attachment not kept: its (sanitised) name, why, and its decoded size in bytes."""

    filename: str
    reason: RejectReason
    size: int


class AuthResult(NamedTuple):
    """One result from an ``Authentication-Results`` header (RFC 8601).

    ``domain`` is the domain the result speaks for: ``header.d`` (DKIM),
    ``header.from`` (DMARC) or the domain of ``smtp.mailfrom`` (SPF); ``None``
    when the header names none. All fields are lowercased. ``header`` is the
    header's place among the mail's ``Authentication-Results``, 0 the topmost:
    a receiving server prepends its own above whatever the sender wrote.
    """

    authserv_id: str
    method: str
    result: str
    domain: str | None
    header: int = 0


@dataclass(frozen=True, slots=True)
class ParsedMail:
    """Everything the intake needs from one mail, decoded and checked.

    ``message_id`` is always ``<...>``; when the mail has none it is made from
    the content hash (``message_id_synthesized``). ``date_header`` is the
    sender's claim and only informational: deadlines use our server's time.
    """

    message_id: str
    message_id_synthesized: bool
    in_reply_to: str | None
    references: tuple[str, ...]
    from_address: str  # lowercased addr-spec, "" when there is none (null sender)
    from_name: str
    reply_to: tuple[str, ...]
    to_addresses: tuple[str, ...]
    cc_addresses: tuple[str, ...]
    delivered_to: tuple[str, ...]
    return_path: str | None  # "" for the null sender "<>", None when absent
    subject: str
    date_header: datetime | None
    text: str
    attachments: tuple[ParsedAttachment, ...]
    rejected_attachments: tuple[RejectedAttachment, ...]
    inline_count: int  # signature images and other pictures shown inside the body
    is_auto: bool  # RFC 3834 Auto-Submitted, X-Autoreply, read receipts
    is_bulk_or_list: bool  # Precedence bulk/junk/list, List-Id, List-Unsubscribe
    is_bounce: bool  # null sender, delivery-status report, MAILER-DAEMON/postmaster
    auth_results: tuple[AuthResult, ...]
    # The mail's identity: sha256 of its bytes without the trace fields receiving
    # servers add (Received, Delivered-To, our Authentication-Results, ...), so the
    # same mail delivered twice has the same one (connectors/mail/identity.py).
    content_sha256: str
    plus_tag: str | None  # "stuk" for mail sent to wijkalliantie+stuk@...
    defects: tuple[str, ...] = ()  # what was wrong with the mail but worked around

    @property
    def auto_submitted(self) -> bool:
        """True when no automatic answer (receipt) may go to this mail (RFC 3834)."""
        return self.is_auto or self.is_bulk_or_list or self.is_bounce


# SPF "softfail" (~all) is not a failure here: domain owners publish it to say
# "do not reject", and ordinary forwarding produces it. "fail" is a clear no.
_FAILED = "fail"
_PASSED = "pass"


def _speaks_for(result_domain: str | None, domain: str) -> bool:
    """Relaxed alignment: a result for ``mail.gemeente.nl`` speaks for ``gemeente.nl``."""
    if not result_domain:
        return False
    return result_domain == domain or result_domain.endswith("." + domain)


def our_verdicts(auth_results: Iterable[AuthResult], authserv_id: str) -> list[AuthResult]:
    """Our own server's results: per method, those of the topmost header from ``authserv_id``
    that carries that method.

    A sender can write a header naming our server into their mail, below the ones our
    server prepends; they cannot put it above. So for each method (spf, dkim, dmarc)
    only the topmost header of ours with a result for it is our verdict, all its results
    (two DKIM signatures: two); lower ones for that method are the sender's words.
    Per method, not per header: OpenDKIM and OpenDMARC each write their own header.
    """
    server = authserv_id.strip().lower()
    ours = [r for r in auth_results if r.authserv_id == server]
    top: dict[str, int] = {}
    for result in ours:
        top[result.method] = min(top.get(result.method, result.header), result.header)
    return [r for r in ours if r.header == top[r.method]]


def authentication_failed(
    auth_results: Iterable[AuthResult], authserv_id: str, domain: str
) -> bool:
    """True when OUR receiving server says this mail failed authentication for ``domain``.

    Only our server's verdicts count (``our_verdicts``): any other
    ``Authentication-Results`` header, and any lower one naming our server, may have
    been written by the sender. A definite DMARC verdict decides, a ``fail`` before a
    ``pass``. Without one, a DKIM or SPF ``fail`` counts unless another DKIM or SPF
    result for the domain passed. ``softfail``, ``neutral``, ``none`` and errors are
    not failures.
    """
    return authentication_failure(auth_results, authserv_id, domain) is not None


def authentication_failure(
    auth_results: Iterable[AuthResult], authserv_id: str, domain: str
) -> str | None:
    """The failing results, as shown to the core group (``dmarc=fail (gemeente.nl)``),
    when ``authentication_failed``; else ``None``."""
    return _verdict(auth_results, authserv_id, domain).failure


def authentication_verified(
    auth_results: Iterable[AuthResult], authserv_id: str, domain: str
) -> bool:
    """True when OUR server positively verified ``domain``: an aligned DMARC ``pass``, or,
    without a DMARC verdict (pass or fail), an aligned DKIM or SPF ``pass``."""
    return _verdict(auth_results, authserv_id, domain).verified


class _Verdict(NamedTuple):
    verified: bool = False
    failure: str | None = None  # the failing results as text; None when nothing failed


def _verdict(auth_results: Iterable[AuthResult], authserv_id: str, domain: str) -> _Verdict:
    """What our server said about ``domain``: verified, failed (and how), or neither."""
    wanted = domain.strip().lower().rstrip(".")
    if not authserv_id.strip() or not wanted:
        return _Verdict()
    ours = [r for r in our_verdicts(auth_results, authserv_id) if _speaks_for(r.domain, wanted)]
    dmarc = [r for r in ours if r.method == "dmarc"]
    failed = [r for r in dmarc if r.result == _FAILED]
    # A fail beats a pass (Fixed 7 in docs/security.md), also within our one DMARC header.
    if not failed and any(r.result == _PASSED for r in dmarc):
        return _Verdict(verified=True)
    if not failed:
        checks = [r for r in ours if r.method in ("spf", "dkim")]
        if any(r.result == _PASSED for r in checks):
            return _Verdict(verified=True)
        failed = [r for r in checks if r.result == _FAILED]
    if not failed:
        return _Verdict()
    return _Verdict(
        failure=", ".join(dict.fromkeys(f"{r.method}={r.result} ({r.domain})" for r in failed))
    )


# --- MailSource (IMAP) -------------------------------------------------------
# The protocol the IMAP connector implements (UIDs, IDLE wake-ups, moves to
# the processed and quarantine folders) is in ``daemon.ports.mailbox``.
