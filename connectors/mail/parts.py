"""The MIME tree walked once: the readable text, and every other part as a ``Leaf``.

Text comes from ``text/plain`` (preferred) or ``text/html`` in each
``multipart/alternative``; the parts of ``multipart/mixed`` follow each other.
Signature parts of signed mail and the machine parts of delivery reports are
not files. Whether a leaf is a stuk or a picture inside the body is decided
later, once every HTML part has said which Content-IDs it shows.
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass, field
from email import policy
from email.message import Message

from connectors.mail.charsets import decode_surrogates, decode_text
from connectors.mail.headers import decode_words, display_text, first_raw, raw_values
from connectors.mail.html import (
    html_to_text,
    normalise_content_id,
    referenced_content_ids,
    tidy,
)

MAX_DEPTH = 40
MAX_PARTS = 1000
_BODY_TYPES = frozenset({"text/plain", "text/html"})
_EMBEDDED_MAIL = frozenset({"message/rfc822", "message/global"})
_SIGNATURES = frozenset(
    {"application/pgp-signature", "application/pkcs7-signature", "application/x-pkcs7-signature"}
)
# Machine-readable parts of bounces, read receipts and abuse reports.
_REPORT_PARTS = frozenset(
    {"message/delivery-status", "message/global-delivery-status", "text/rfc822-headers",
     "message/disposition-notification", "message/feedback-report"}
)  # fmt: skip
# Headers as they came, CRLF line ends, and no ">From " quoting of the body.
_EML_POLICY = policy.compat32.clone(linesep="\r\n", mangle_from_=False)
_META_CHARSET = re.compile(rb"<meta[^>]{0,200}charset=[\"']?([\w.:-]{1,40})", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Leaf:
    """A part that is not body text: a file, a forwarded mail, or a picture in the body.

    ``content`` is None when its transfer encoding could not be undone.
    """

    content_type: str
    filename: str | None  # decoded, not yet sanitised
    disposition: str | None  # "inline", "attachment" or None
    content_id: str | None
    in_related: bool
    content: bytes | None


@dataclass(frozen=True, slots=True)
class _Block:
    html: bool
    text: str


@dataclass(slots=True)
class _Found:
    blocks: list[_Block] = field(default_factory=list)
    leaves: list[Leaf] = field(default_factory=list)

    def add(self, other: _Found) -> None:
        self.blocks.extend(other.blocks)
        self.leaves.extend(other.leaves)


@dataclass(frozen=True, slots=True)
class MimeContent:
    text: str
    leaves: tuple[Leaf, ...]
    shown_content_ids: frozenset[str]
    has_delivery_status: bool
    defects: tuple[str, ...]


def walk(msg: Message) -> MimeContent:
    """Walk the whole tree of ``msg``; never raises for a broken part."""
    walker = _Walker()
    found = walker.collect(msg, 0, in_related=False)
    text = "\n\n".join(block.text for block in found.blocks if block.text.strip())
    return MimeContent(
        text=text,
        leaves=tuple(found.leaves),
        shown_content_ids=frozenset(walker.content_ids),
        has_delivery_status=walker.delivery_status,
        defects=tuple(dict.fromkeys(walker.defects)),
    )


class _Walker:
    def __init__(self) -> None:
        self.content_ids: set[str] = set()
        self.defects: list[str] = []
        self.delivery_status = False
        self.parts = 0

    def collect(self, part: Message, depth: int, in_related: bool) -> _Found:
        self.parts += 1
        if self.parts > MAX_PARTS:
            self.defects.append("too_many_parts")
            return _Found()
        found = self._dispatch(part, depth, in_related)
        # After the dispatch: undoing a transfer encoding adds defects too.
        self.defects.extend(type(defect).__name__ for defect in part.defects)
        return found

    def _dispatch(self, part: Message, depth: int, in_related: bool) -> _Found:
        content_type = part.get_content_type()
        if content_type in _REPORT_PARTS or content_type in _SIGNATURES:
            self.delivery_status |= content_type.endswith("delivery-status")
            return _Found()
        if content_type in _EMBEDDED_MAIL:
            return _Found(leaves=[self._embedded_mail(part)])
        if part.is_multipart():
            return self._multipart(part, content_type, depth)
        return self._leaf(part, content_type, in_related)

    def _multipart(self, part: Message, content_type: str, depth: int) -> _Found:
        if depth >= MAX_DEPTH:
            self.defects.append("too_deep")
            return _Found()
        payload = part.get_payload()
        children = (
            [c for c in payload if isinstance(c, Message)] if isinstance(payload, list) else []
        )
        if content_type == "multipart/alternative":
            return self._alternative(children, depth)
        found = _Found()
        for index, child in enumerate(children):
            # In multipart/related everything after the root is shown inside the root.
            related = content_type == "multipart/related" and index > 0
            found.add(self.collect(child, depth + 1, in_related=related))
        return found

    def _alternative(self, children: list[Message], depth: int) -> _Found:
        versions = [self.collect(child, depth + 1, in_related=False) for child in children]
        readable = [v for v in versions if any(b.text.strip() for b in v.blocks)]
        plain = [v for v in readable if not any(b.html for b in v.blocks)]
        chosen = plain[0] if plain else (readable[-1] if readable else _Found())
        # Files may hide inside any version (Apple Mail puts them in the HTML one),
        # but a version that is a lone unnamed part (an invitation's text/calendar)
        # is just another rendering of the same message.
        leaves = [
            leaf
            for child, version in zip(children, versions, strict=True)
            for leaf in version.leaves
            if child.is_multipart() or leaf.filename
        ]
        return _Found(chosen.blocks, leaves)

    def _leaf(self, part: Message, content_type: str, in_related: bool) -> _Found:
        view = params_view(part)
        filename = filename_of(view)
        disposition = view.get_content_disposition()
        if content_type.startswith("multipart/"):  # a multipart whose boundary never came
            content_type = "text/plain"
        content = payload_bytes(part)
        if content_type in _BODY_TYPES and disposition != "attachment" and not filename:
            if content is None:
                self.defects.append("undecodable_body")
                return _Found()
            return _Found(blocks=[self._body(content, content_type, view)])
        content_id = first_raw(part, "content-id")
        leaf = Leaf(
            content_type=content_type,
            filename=filename,
            disposition=disposition,
            content_id=normalise_content_id(decode_surrogates(content_id)) if content_id else None,
            in_related=in_related,
            content=content,
        )
        return _Found(leaves=[leaf])

    def _body(self, content: bytes, content_type: str, view: Message) -> _Block:
        label = param(view, "charset")
        if content_type == "text/plain":
            return _Block(False, tidy(decode_text(content, label)))
        if label is None:
            sniffed = _META_CHARSET.search(content[:4096])
            label = sniffed[1].decode("ascii") if sniffed else None
        markup = decode_text(content, label)
        self.content_ids |= referenced_content_ids(markup)
        return _Block(True, html_to_text(markup))

    def _embedded_mail(self, part: Message) -> Leaf:
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        content = message_bytes(inner) if isinstance(inner, Message) else None
        filename = filename_of(params_view(part))
        if not filename and isinstance(inner, Message):
            filename = display_text(first_raw(inner, "subject")) or None
        if not filename or not filename.lower().endswith(".eml"):
            filename = f"{filename or 'doorgestuurd-bericht'}.eml"
        return Leaf("message/rfc822", filename, "attachment", None, False, content)


def params_view(part: Message) -> Message:
    """A compat32 message holding only the part's two parameter headers, decoded to text.

    compat32 reads RFC 2231 parameters and keeps unquoted names with spaces
    (``name=This is a test.txt``) whole; raw 8-bit names are decoded first.
    """
    view = Message()
    for name in ("content-type", "content-disposition"):
        values = raw_values(part, name)
        if values:
            view[name] = decode_surrogates(values[0])
    return view


def param(view: Message, name: str, header: str = "content-type") -> str | None:
    """A parameter as text: RFC 2231 through our charset chain, RFC 2047 words decoded."""
    try:
        value = view.get_param(name, header=header)
    except (ValueError, IndexError, TypeError, UnicodeError):
        return None
    if value is None:
        return None
    if isinstance(value, tuple):
        charset, _language, text = value
        try:
            return decode_text(email.utils.unquote(text).encode("latin-1"), charset or None)
        except UnicodeEncodeError:
            return email.utils.unquote(text)
    return decode_words(email.utils.unquote(value)).strip() or None


def filename_of(view: Message) -> str | None:
    return param(view, "filename", "content-disposition") or param(view, "name")


def payload_bytes(part: Message) -> bytes | None:
    """The part's content with its transfer encoding undone; None when that fails."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # the email package's decoders raise assorted errors on junk
        return None
    return payload if isinstance(payload, bytes) else b""


def message_bytes(inner: Message) -> bytes | None:
    """An embedded mail as bytes for an ``.eml`` file, headers as the sender wrote them."""
    try:
        return inner.as_bytes(policy=_EML_POLICY)
    except Exception:  # a generator error on a broken part: fall back to text
        try:
            return inner.as_string().encode("utf-8", "surrogateescape")
        except Exception:
            return None
