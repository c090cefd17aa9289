"""The stukken package (T-14d, RULES.md): which documents go out, and how. Pure.

The definitive agenda's message (:mod:`daemon.publish.scheduled`) is composed
first; this module adds the package to each of its outbox rows:

- the core group's room gets the files themselves (``ChatPost.documents``), each
  posted; its listing of a large package ends in "… en nog N" so the post fits one
  Matrix event (the mail lists everything);
- a partner's mail gets them attached while the package's total is at most
  ``[mail.limits] package_attach_max_bytes`` (default 10 MiB), and otherwise one
  download link per document (``/stukken/<token>``, served by ``[http]``),
  working until the meeting is over. A token is ``secrets.token_urlsafe(32)``,
  minted here for one document and one outbox row; the scheduler stores the
  tokens in the transaction that enqueues the rows, so a link is sent exactly
  when it is stored;
- a document that must never be reachable over the public HTTP service (a
  confidential item's, or any of a series that is not public) is attached,
  never linked; without ``[http]`` there are no links at all, so all is attached;
- late items and items not ready for decision are not in the package: they are
  listed as "niet besluitrijp" with their reason (RULES.md, the two-week rule).

Every title and file name a sender chose is made safe with :mod:`daemon.safe_text`.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from daemon.i18n import Translator, mark
from daemon.model import DocumentHash, Item, ItemStatus, Kind, Meeting, Series
from daemon.ports.chat_limit import MATRIX_CONTENT_LIMIT, matrix_content_size
from daemon.ports.outbox import ChatPost, DocumentRef, MailOut, NewEffect
from daemon.safe_text import untrusted
from daemon.store.downloads import DownloadToken

if TYPE_CHECKING:
    from daemon.config.schema import Config

__all__ = [
    "DOWNLOAD_PATH",
    "PACKAGE_MOMENT",
    "Package",
    "PackageSettings",
    "attach_all",
    "download_url",
    "stukken_package",
    "with_package",
]

# The moment the package goes out: the stuk deadline (T-14d).
PACKAGE_MOMENT = Kind.STUK.value
# Where the HTTP service serves one document by its token.
DOWNLOAD_PATH = "/stukken/"
DEFAULT_ATTACH_MAX_BYTES = 10 * 1024 * 1024
_TITLE_CHARS = 120
_ENGLISH_RULE = "— English —"
# What the definitive agenda holds; the addenda (ter kennisgeving, actualiteit) come later.
_PACKAGE_KINDS = frozenset({Kind.AGENDAPUNT, Kind.STUK})
_ON_AGENDA = frozenset({ItemStatus.FILED, ItemStatus.TER_BESPREKING})


@dataclass(frozen=True, slots=True)
class PackageSettings:
    """``[mail.limits] package_attach_max_bytes`` and where links point (``[http]``)."""

    attach_max_bytes: int = DEFAULT_ATTACH_MAX_BYTES
    base_url: str | None = None  # the HTTP service as people reach it; None: no links

    @classmethod
    def from_config(cls, config: Config) -> PackageSettings:
        limit = (
            DEFAULT_ATTACH_MAX_BYTES
            if config.mail is None
            else config.mail.limits.package_attach_max_bytes
        )
        http = config.http
        base = None if http is None else (http.public_url or f"http://{http.listen}")
        return cls(limit, None if base is None else base.rstrip("/"))


@dataclass(frozen=True, slots=True)
class PackedDocument:
    item: Item
    ref: DocumentRef
    size: int
    linkable: bool  # may be reached over the public HTTP service by a token


@dataclass(frozen=True, slots=True)
class Package:
    """One meeting's stukken package: its documents, and what is not ready for decision."""

    meeting: Meeting
    documents: tuple[PackedDocument, ...]
    not_ready: tuple[Item, ...]

    @property
    def total_bytes(self) -> int:
        return sum(d.size for d in self.documents)


def stukken_package(meeting: Meeting, series: Series, agenda: Sequence[Item]) -> Package:
    """The package of ``meeting`` from its agenda: the documents of the items ready for
    decision (each document once), and the items that are not."""
    ready: list[PackedDocument] = []
    not_ready: list[Item] = []
    seen: set[DocumentHash] = set()
    for item in agenda:
        if item.status not in _ON_AGENDA or item.kind not in _PACKAGE_KINDS:
            continue
        if item.late or not item.decision_ready or item.status is ItemStatus.TER_BESPREKING:
            not_ready.append(item)
            continue
        for document in item.documents:
            if document.sha256 in seen:
                continue
            seen.add(document.sha256)
            ref = DocumentRef(
                document.sha256, untrusted(document.filename, _TITLE_CHARS), document.content_type
            )
            linkable = series.public and not item.confidential
            ready.append(PackedDocument(item, ref, document.size, linkable))
    return Package(meeting, tuple(ready), tuple(not_ready))


def attach_all(package: Package, settings: PackageSettings) -> bool:
    """Whether a partner's mail carries the whole package attached (else: links for what
    may be linked). Attached when the total is within the limit, or when no link can be
    made (no ``[http]``, or no document that may be linked)."""
    if package.total_bytes <= settings.attach_max_bytes or settings.base_url is None:
        return True
    return not any(d.linkable for d in package.documents)


def download_url(base_url: str, token: str) -> str:
    return f"{base_url}{DOWNLOAD_PATH}{token}"


def with_package(
    effects: Sequence[NewEffect],
    package: Package,
    settings: PackageSettings,
    tz: ZoneInfo,
    mint: Callable[[], str],
) -> tuple[list[NewEffect], list[DownloadToken]]:
    """``effects`` (the definitive agenda's rows) with the package added to each, and
    the download tokens their links use (to be stored with the rows)."""
    attach = attach_all(package, settings)
    out: list[NewEffect] = []
    tokens: list[DownloadToken] = []
    for effect in effects:
        payload = effect.payload
        if isinstance(payload, ChatPost):
            payload = _room_post(payload, package, tz)
        elif isinstance(payload, MailOut):
            links: dict[DocumentHash, str] = {}
            if not attach and settings.base_url is not None:
                for document in package.documents:
                    if document.linkable:
                        token = mint()
                        links[DocumentHash(document.ref.sha256)] = download_url(
                            settings.base_url, token
                        )
                        tokens.append(_token(token, package, effect.key, document))
            attached = tuple(
                d.ref for d in package.documents if DocumentHash(d.ref.sha256) not in links
            )
            section = _section(package, tz, "mail", links)
            payload = replace(
                payload,
                text=_join(payload.text, section.plain),
                html=None if payload.html is None else payload.html + section.html,
                attachments=payload.attachments + attached,
            )
        out.append(replace(effect, payload=payload))
    return out, tokens


def _room_post(post: ChatPost, package: Package, tz: ZoneInfo) -> ChatPost:
    """The room's post with the package: every file still posted, but the listing of
    a large package shortened ("… en nog N") until the event fits Matrix's limit (an
    event over 64 KiB is refused, and would be parked: a message lost). The partners'
    mail and the page keep the whole list."""
    listed = max(len(package.documents), len(package.not_ready))
    while True:
        section = _section(package, tz, "room", {}, listed)
        shown = replace(
            post,
            body=_join(post.body, section.plain),
            html=post.html + section.html,
            documents=post.documents + tuple(d.ref for d in package.documents),
        )
        if listed == 0 or matrix_content_size(shown.body, shown.html) <= MATRIX_CONTENT_LIMIT:
            return shown
        listed //= 2


def _token(token: str, package: Package, key: str, document: PackedDocument) -> DownloadToken:
    return DownloadToken(
        token=token,
        meeting=package.meeting.id,
        effect_key=key,
        sha256=DocumentHash(document.ref.sha256),
        filename=document.ref.filename,
        content_type=document.ref.content_type,
        expires_at=package.meeting.end,
    )


def _join(text: str, section: str) -> str:
    return f"{text.rstrip()}\n\n{section}" if text.strip() else section


# --- wording ----------------------------------------------------------------------

_ROOM_HEAD = mark("Stukken package ({count} documents, {size}): the files follow below.")
_ATTACHED_HEAD = mark("Stukken package ({count} documents, {size}): attached to this mail.")
_LINKS_HEAD = mark(
    "Stukken package ({count} documents, {size}): too large to attach, so each document"
    " has its own download link, which works until the meeting is over ({until})."
)
_ATTACHED_BESIDE_LINKS = mark("Attached (these are not shared by link):")
_MORE = mark("… and {count} more.")
_NO_DOCUMENTS = mark("Stukken package: no documents.")
_NOT_READY_HEAD = mark("Not ready for decision (niet besluitrijp), not in the package:")
_REASON_DISCUSSION = mark(
    "came in after the deadline; on the agenda for discussion only, no decision"
)
_REASON_LATE = mark("came in after the deadline of the meeting it was meant for")
_REASON_TWO_WEEKS = mark("its information was not available 14 days before the meeting")


@dataclass(frozen=True, slots=True)
class _Section:
    plain: str
    html: str


def _section(
    package: Package,
    tz: ZoneInfo,
    audience: str,
    links: dict[DocumentHash, str],
    listed: int | None = None,
) -> _Section:
    plain: list[str] = []
    markup: list[str] = []
    for language in ("nl", "en"):
        t = Translator(language, tz)
        lines = _lines(t, package, audience, links, listed)
        if language == "en":
            plain += ["", _ENGLISH_RULE]
            markup.append(f"<p><em>{_ENGLISH_RULE}</em></p>")
        plain += [text for text, _ in lines]
        markup.append("<p>" + "<br/>".join(markup_line for _, markup_line in lines) + "</p>")
    return _Section("\n".join(plain), "".join(markup))


def _lines(
    t: Translator,
    package: Package,
    audience: str,
    links: dict[DocumentHash, str],
    listed: int | None = None,
) -> list[tuple[str, str]]:
    """(plain, html) lines of the package section in one language; each list at most
    ``listed`` long (``None``: all), the rest counted ("… en nog N")."""
    lines: list[tuple[str, str]] = []

    def add(text: str, url: str | None = None) -> None:
        if url is None:
            lines.append((text, html.escape(text)))
        else:
            lines.append(
                (
                    f"{text}\n  {url}",
                    f'{html.escape(text)} <a href="{html.escape(url)}">{html.escape(url)}</a>',
                )
            )

    fields = {"count": str(len(package.documents)), "size": _size(package.total_bytes, t)}
    if not package.documents:
        add(t(_NO_DOCUMENTS))
    elif audience == "room":
        add(t(_ROOM_HEAD, **fields))
    elif links:
        add(t(_LINKS_HEAD, **fields, until=t.when(package.meeting.end)))
    else:
        add(t(_ATTACHED_HEAD, **fields))
    if audience == "mail" and links:
        for document in package.documents:
            url = links.get(DocumentHash(document.ref.sha256))
            if url is not None:
                add(_document_line(t, document), url)
        kept = [d for d in package.documents if DocumentHash(d.ref.sha256) not in links]
        if kept:
            add(t(_ATTACHED_BESIDE_LINKS))
            for document in kept:
                add(_document_line(t, document))
    else:
        for document in package.documents[:listed]:
            add(_document_line(t, document))
        if listed is not None and len(package.documents) > listed:
            add(t(_MORE, count=len(package.documents) - listed))
    if package.not_ready:
        add(t(_NOT_READY_HEAD))
        for item in package.not_ready[:listed]:
            add(f"- WB-{item.id} {untrusted(item.title, _TITLE_CHARS)}: {t(_reason(item))}")
        if listed is not None and len(package.not_ready) > listed:
            add(t(_MORE, count=len(package.not_ready) - listed))
    return lines


def _document_line(t: Translator, document: PackedDocument) -> str:
    title = untrusted(document.item.title, _TITLE_CHARS)
    return f"- WB-{document.item.id} {title}: {document.ref.filename} ({_size(document.size, t)})"


def _reason(item: Item) -> str:
    if item.status is ItemStatus.TER_BESPREKING:
        return _REASON_DISCUSSION
    if item.late:
        return _REASON_LATE
    return _REASON_TWO_WEEKS


def _size(size: int, t: Translator) -> str:
    """'1,2 MB' in Dutch, '1.2 MB' in English (decimal units, as people read them)."""
    if size < 1000:
        return f"{size} B"
    value, unit = (size / 1000, "kB") if size < 1_000_000 else (size / 1_000_000, "MB")
    shown = f"{value:.1f}"
    return f"{shown.replace('.', ',') if t.language == 'nl' else shown} {unit}"
