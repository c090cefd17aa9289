"""The bytes of an outgoing mail, built with the email package's ``compat32`` API.

Wijkbode sends a receipt for every mail it files, so in a backlog the message
builder runs once per mail. ``EmailMessage`` with a modern policy parses every
header into a typed object when it is set and refolds it through a parse tree
when the message is written: about 2 ms of CPU for a receipt, more than reading
and parsing the incoming mail costs. The same package's ``email.mime`` classes
with ``compat32`` write the same standard message (RFC 2047 encoded words for
non-ASCII header text, RFC 2231 file names, quoted-printable or base64 bodies,
CRLF line ends) in about a tenth of that.

``compat32`` does not refuse a line break inside a header value, so this module
refuses it itself: a title can never add a header. A mail to an address that
needs SMTPUTF8 is rare and is built by the modern policy, which can write UTF-8
headers (``build_utf8``).
"""

from __future__ import annotations

import email.policy
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime
from email import encoders
from email.base64mime import header_encode
from email.charset import QP, Charset
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.utils import format_datetime, formataddr

from daemon.ports.outbox import MailOut

__all__ = ["POLICY", "SENDER_NAME", "build_bytes", "build_utf8"]

SENDER_NAME = "Wijkbode"

# CRLF line ends, and 8-bit text encoded (quoted-printable or base64), so the
# mail needs no 8BITMIME from any server on its way.
POLICY = email.policy.SMTP.clone(cte_type="7bit")
_FOLD_AT = 78
_WORD_LINE = 76  # the longest line that holds an encoded word (RFC 2047 §2)
_WORD_OVERHEAD = len("=?utf-8?b??=")
_WORD_BYTES = 45  # UTF-8 bytes per word on a folded line: 1 + 12 + 60 characters


class _Written(email.policy.Compat32):
    """compat32 that writes each header as ``_set`` left it: ASCII, already folded.

    compat32 would run every value through ``Header`` again to fold it, which is
    most of the time spent writing a small mail.
    """

    def fold(self, name: str, value: str) -> str:
        return f"{name}: {value}{self.linesep}"

    def fold_binary(self, name: str, value: str) -> bytes:
        return self.fold(name, value).encode("ascii")


_COMPAT = _Written(linesep="\r\n")
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP  # readable in any mail client's source view, and 7-bit safe


def build_bytes(
    mail: MailOut,
    sender: str,
    documents: Mapping[str, bytes],
    now: datetime,
    *,
    to: Sequence[str],
) -> bytes:
    """The mail ``mail`` from ``sender`` to the ASCII addresses ``to``, ready for SMTP.

    ``documents`` holds each attachment by sha256. Raises ``ValueError`` for a header
    value with a line break in it.
    """
    body = _body(mail, documents)
    body["From"] = formataddr((SENDER_NAME, sender))
    _set(body, "To", ", ".join(to))
    _set(body, "Subject", mail.subject)
    body["Date"] = format_datetime(now)
    _set(body, "Message-ID", mail.message_id)
    if mail.in_reply_to:
        _set(body, "In-Reply-To", mail.in_reply_to)
    if mail.references:
        _set(body, "References", " ".join(mail.references))
    if mail.auto_submitted:
        _set(body, "Auto-Submitted", mail.auto_submitted)  # RFC 3834
        body["X-Auto-Response-Suppress"] = "All"  # no out-of-office replies to it
    for name, value in mail.headers:
        _set(body, _header_name(name), value)
    return body.as_bytes(policy=_COMPAT)


def build_utf8(
    mail: MailOut,
    sender: str,
    documents: Mapping[str, bytes],
    now: datetime,
    *,
    to: Sequence[str],
) -> bytes:
    """The same mail with UTF-8 headers, for a session with SMTPUTF8 (an address with a
    local part outside ASCII, which no encoded word can carry)."""
    message = EmailMessage(policy=POLICY)
    message["From"] = Address(display_name=SENDER_NAME, addr_spec=sender)
    message["To"] = ", ".join(to)
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = mail.message_id
    if mail.in_reply_to:
        message["In-Reply-To"] = mail.in_reply_to
    if mail.references:
        message["References"] = " ".join(mail.references)
    if mail.auto_submitted:
        message["Auto-Submitted"] = mail.auto_submitted
        message["X-Auto-Response-Suppress"] = "All"
    for name, value in mail.headers:
        message[name] = value
    message.set_content(mail.text)
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
    for document in mail.attachments:
        maintype, subtype = _content_type(document.content_type)
        message.add_attachment(
            documents[document.sha256], maintype=maintype, subtype=subtype,
            filename=document.filename,
        )  # fmt: skip
    return message.as_bytes(policy=POLICY.clone(utf8=True))


def _body(mail: MailOut, documents: Mapping[str, bytes]) -> Message:
    """The text (with its HTML alternative), then the attachments, as MIME parts."""
    text = _text_part(mail.text, "plain")
    if mail.html is not None:
        text = _multipart("alternative", [text, _text_part(mail.html, "html")])
    if not mail.attachments:
        return text
    files = [_file_part(documents[d.sha256], d.content_type, d.filename) for d in mail.attachments]
    return _multipart("mixed", [text, *files])


def _text_part(text: str, subtype: str) -> Message:
    part = MIMENonMultipart("text", subtype)
    # Ending in a line break, as EmailMessage.set_content writes text too.
    part.set_payload(text if text.endswith("\n") else text + "\n", charset=_UTF8_QP)
    return part


def _multipart(subtype: str, parts: list[Message]) -> Message:
    # "=_" never occurs in quoted-printable or base64 text, so this boundary cannot
    # collide with a body, and the generator need not search the bodies for one.
    whole = MIMEMultipart(subtype, boundary=f"=_wijkbode_{secrets.token_hex(12)}")
    for part in parts:
        del part["MIME-Version"]  # only the top of a message carries it
        whole.attach(part)
    return whole


def _file_part(data: bytes, content_type: str, filename: str) -> Message:
    part = MIMEBase(*_content_type(content_type))
    part.set_payload(data)
    encoders.encode_base64(part)
    name: str | tuple[str, str, str] = filename if filename.isascii() else ("utf-8", "", filename)
    part.add_header("Content-Disposition", "attachment", filename=name)
    return part


def _content_type(declared: str) -> tuple[str, str]:
    maintype, _, subtype = declared.partition("/")
    if not (maintype and subtype) or maintype == "multipart":
        return "application", "octet-stream"
    return maintype, subtype


def _set(message: Message, name: str, value: str) -> None:
    """Add the header: as is when ASCII, else as RFC 2047 encoded words."""
    if "\r" in value or "\n" in value:
        raise ValueError("a header value may not contain a line break")
    if not value.isascii():
        value = _encoded_words(name, value)
    elif len(name) + 2 + len(value) > _FOLD_AT and " " in value:
        # A long list (References) folded at its spaces; a single long token (a URL)
        # stays on its line, which may be up to 998 characters (RFC 5322).
        value = Header(value, header_name=name).encode(linesep="\r\n", maxlinelen=_FOLD_AT)
    message[name] = value


def _encoded_words(name: str, value: str) -> str:
    """``value`` as RFC 2047 encoded words, one per line of at most 76 characters.

    ``Header`` does the same but measures the encoded length character by
    character; base64 words of whole characters are as standard and far quicker.
    """
    words: list[str] = []
    chunk: list[str] = []
    size = 0
    # The first line also holds "Name: "; base64 takes 4 characters per 3 bytes.
    budget = max(3, 3 * ((_WORD_LINE - len(name) - 2 - _WORD_OVERHEAD) // 4))
    for char in value:
        length = len(char.encode("utf-8"))
        if chunk and size + length > budget:
            budget = _WORD_BYTES
            words.append(header_encode("".join(chunk), "utf-8"))
            chunk, size = [], 0
        chunk.append(char)
        size += length
    words.append(header_encode("".join(chunk), "utf-8"))
    return "\r\n ".join(words)


def _header_name(name: str) -> str:
    if not name or not name.isascii() or any(c in name for c in ":\r\n "):
        raise ValueError(f"not a header field name: {name!r}")
    return name
