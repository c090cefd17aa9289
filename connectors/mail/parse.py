"""Raw mail bytes to a ``ParsedMail``: pure, no I/O, never hangs, never crashes the caller.

We parse with ``email.policy.compat32`` rather than ``policy.default``: the
modern policy builds header objects while parsing and on every access, and
real mail makes them raise (see ``headers``). compat32 keeps each header as
the raw string it was, which ``headers`` decodes without raising. The MIME
structure (boundaries, transfer encodings) is the same parser either way.
Anything that still goes wrong becomes ``UnparseableMail`` with a reason, so
the intake can quarantine the mail instead of crashing.
"""

from __future__ import annotations

import re
from email import policy
from email.message import Message
from email.parser import BytesParser

from connectors.mail import headers
from connectors.mail.attachments import select_files
from connectors.mail.identity import identity_sha256
from connectors.mail.parts import walk
from connectors.mail.signals import auth_results, sender_signals
from daemon.ports.mail import MailLimits, ParsedMail, UnparseableMail

# At least one of these makes a block of headers a mail (and not, say, a PDF).
_MAIL_HEADERS = frozenset(
    {"from", "sender", "to", "cc", "subject", "date", "message-id", "received", "return-path",
     "delivered-to", "mime-version", "content-type", "in-reply-to", "references"}
)  # fmt: skip
SYNTHETIC_ID_DOMAIN = "wijkbode.invalid"
# Where a plus address may show, the envelope's own record first.
_RECIPIENT_HEADERS = ("delivered-to", "x-original-to", "to", "cc")
_OBSOLETE_NAME = re.compile(rb"^([\x21-\x39\x3b-\x7e]{1,76})[ \t]+:", re.MULTILINE)


def parse_mail(raw: bytes, *, our_address: str, limits: MailLimits) -> ParsedMail:
    """Understand one mail; raise ``UnparseableMail`` when it is not a mail at all."""
    if not raw.strip():
        raise UnparseableMail("empty: the message has no bytes")
    try:
        msg = _parse_structure(raw)
        _check_is_mail(msg)
        return _parsed(msg, raw, our_address.strip().lower(), limits)
    except UnparseableMail:
        raise
    except RecursionError as exc:
        raise UnparseableMail("too_deep: the MIME structure nests too deeply") from exc
    except Exception as exc:  # a parser bug on strange input must not take the intake down
        raise UnparseableMail(f"parser_error: {type(exc).__name__}: {exc}"[:300]) from exc


def _parse_structure(raw: bytes) -> Message:
    """Parse; if no header was found, once more with obsolete RFC 5322 syntax made modern."""
    parser = BytesParser(policy=policy.compat32)
    msg = parser.parsebytes(raw)
    if msg.keys():
        return msg
    modern = _modern_header_block(raw)
    return parser.parsebytes(modern) if modern != raw else msg


def _modern_header_block(raw: bytes) -> bytes:
    """Drop leading blank lines and the space RFC 5322 section 4.5 allows before a colon."""
    raw = raw.lstrip(b"\r\n")
    end = min((i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0), default=len(raw))
    return _OBSOLETE_NAME.sub(rb"\1:", raw[:end]) + raw[end:]


def _check_is_mail(msg: Message) -> None:
    names = {name.lower() for name, _ in msg.raw_items()}
    if not names:
        raise UnparseableMail("no_headers: no mail header found before the body")
    if not names & _MAIL_HEADERS:
        raise UnparseableMail("not_a_mail: none of From, To, Subject, Date, Message-ID, Received")


def _parsed(msg: Message, raw: bytes, our_address: str, limits: MailLimits) -> ParsedMail:
    content_sha256 = identity_sha256(raw)  # trace fields left out: a re-delivery is the same
    from_name, from_address = _sender(msg)
    return_path = headers.return_path(headers.first_raw(msg, "return-path"))
    message_id = _first_id(msg, "message-id")
    recipients = {name: _addresses(msg, name) for name in _RECIPIENT_HEADERS}
    content = walk(msg)
    files = select_files(content.leaves, content.shown_content_ids, limits)
    signals = sender_signals(msg, from_address, return_path, content.has_delivery_status)
    return ParsedMail(
        message_id=message_id or f"<{content_sha256}@{SYNTHETIC_ID_DOMAIN}>",
        message_id_synthesized=message_id is None,
        in_reply_to=_first_id(msg, "in-reply-to"),
        references=headers.references(headers.raw_values(msg, "references")),
        from_address=from_address,
        from_name=from_name,
        reply_to=_addresses(msg, "reply-to"),
        to_addresses=recipients["to"],
        cc_addresses=recipients["cc"],
        delivered_to=recipients["delivered-to"],
        return_path=return_path,
        subject=headers.display_text(headers.first_raw(msg, "subject")),
        date_header=headers.parse_date(headers.first_raw(msg, "date")),
        text=content.text or files.tnef_text,
        attachments=tuple(files.attachments),
        rejected_attachments=tuple(files.rejected),
        inline_count=files.inline_count,
        is_auto=signals.is_auto,
        is_bulk_or_list=signals.is_bulk_or_list,
        is_bounce=signals.is_bounce,
        auth_results=auth_results(msg),
        content_sha256=content_sha256,
        plus_tag=plus_tag(tuple(a for r in recipients.values() for a in r), our_address),
        defects=content.defects,
    )


def _sender(msg: Message) -> tuple[str, str]:
    """(display name, address) from From, else Sender; ("", "") when neither has one."""
    for name in ("from", "sender"):
        found = headers.addresses(headers.raw_values(msg, name)[:1])
        if found:
            return found[0]
    return "", ""


def _addresses(msg: Message, name: str) -> tuple[str, ...]:
    return headers.address_list(headers.raw_values(msg, name))


def _first_id(msg: Message, name: str) -> str | None:
    ids = headers.message_ids(headers.raw_values(msg, name)[:1])
    return ids[0] if ids else None


def plus_tag(recipients: tuple[str, ...], our_address: str) -> str | None:
    """``stuk`` when one recipient is ``<our local part>+stuk@<our domain>``."""
    local, at, domain = our_address.rpartition("@")
    if not at or not local:
        return None
    prefix = f"{local}+"
    for recipient in recipients:
        their_local, _, their_domain = recipient.rpartition("@")
        if (
            their_domain == domain
            and their_local.startswith(prefix)
            and len(their_local) > len(prefix)
        ):
            return their_local[len(prefix) :]
    return None
