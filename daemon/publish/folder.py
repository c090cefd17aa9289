"""The paper folder: a printable A5 PDF of one meeting, for the core group to print (T-14d).

Date, time, place, the agenda so far in plain language, the page's address and a
QR code to it; one page in Dutch, then one in English. It is the public page's own
HTML (``templates/folder.html`` includes the same ``meeting_facts.html`` and
``meeting_agenda.html`` and inlines the same ``page.css``), so the two never drift
apart. What it may show is decided as for the page: :func:`public_meetings` asks
:func:`daemon.rules.visibility.may_show` for the page's surface, so a folder holds
nothing the page would not (no agenda of a series whose agenda is not public, no
confidential item); a series that is not public has no folder at all.

WeasyPrint (HTML and CSS to PDF) runs in a short-lived child process
(:mod:`daemon.publish.folder_render`), never in the daemon: with Pango, HarfBuzz and
fontconfig it would stay in the daemon's memory for good after one folder. The child
has a time limit; a failed or overdue render raises ``FolderError`` (bilingual), so
the folder moment's job fails like any other. It fetches nothing (every URL is
refused): the style is inline and the QR code a ``data:`` URI.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from daemon.errors import WijkbodeError
from daemon.i18n import Translator
from daemon.model import Meeting, MeetingId
from daemon.ports.outbox import CalendarWrite, ChatPost, DocumentRef, MailOut, NewEffect
from daemon.ports.public import FEED_NAME, PublicMeeting
from daemon.publish.public_page import STYLE, SiteLinks, _environment, meeting_cards
from daemon.publish.public_view import public_meetings
from daemon.rules.moments import FOLDER
from daemon.rules.visibility import Surface
from daemon.store.public import Publication

if TYPE_CHECKING:
    from daemon.config.schema import Config
    from daemon.store import Tx
    from daemon.store.documents import DocumentStore

__all__ = [
    "FOLDER_MOMENT",
    "FolderError",
    "folder_effects",
    "folder_html",
    "folder_meeting",
    "folder_pdf",
    "render_pdf",
    "site_links",
]

CONTENT_TYPE = "application/pdf"
# The moment the folder goes out (T-14d of a bewonersbijeenkomst).
FOLDER_MOMENT = FOLDER
LANGUAGES = ("nl", "en")
# A render takes a second or two; the child also starts Python and WeasyPrint. Far
# beyond that the child is stuck (a pathological page, a starved machine): kill it.
RENDER_TIMEOUT_SECONDS = 120.0
_RENDER_MODULE = "daemon.publish.folder_render"

log = logging.getLogger("wijkbode.folder")


class FolderError(WijkbodeError):
    """No folder can be made for this meeting (unknown, or its series is not public)."""


@dataclass(frozen=True, slots=True)
class _Page:
    lang: str
    t: Translator
    m: Any  # the page's MeetingCard
    url: str
    qr: str


def site_links(config: Config) -> SiteLinks:
    """The page's address as the page itself gives it (``[http] public_url``)."""
    http = config.http
    if http is None:
        return SiteLinks("http://127.0.0.1:8080")
    return SiteLinks((http.public_url or f"http://{http.listen}").rstrip("/"))


def folder_meeting(
    meeting: Meeting, agenda: list[Any], config: Config, now: datetime
) -> PublicMeeting:
    """``meeting`` as the public page would show it at ``now`` (even before it is on the
    feed: the folder may be printed early); ``FolderError`` when it may not be shown."""
    event = CalendarWrite(
        uid=f"{meeting.id}@folder",
        action="cancel" if meeting.cancelled else "upsert",
        summary=meeting.title,
        start=meeting.start,
        end=meeting.end,
        location=meeting.location,
        description="",
        sequence=0,
    )
    publication = Publication(meeting.id, FEED_NAME, event, None, now, now)
    shown = public_meetings(
        [publication], {meeting.id: meeting}, {meeting.id: agenda}, config, now,
        surface=Surface.PUBLIC_PAGE,
    )  # fmt: skip
    if not shown:
        raise FolderError(
            f"{meeting.id}: deze reeks is niet openbaar, dus er is geen folder "
            f"({meeting.id}: this series is not public, so there is no folder)"
        )
    return shown[0]


def folder_html(meeting: PublicMeeting, links: SiteLinks, config: Config, now: datetime) -> str:
    """The folder as HTML: the same templates and style as the public page."""
    from markupsafe import Markup

    pages = []
    http = config.http
    # The page's languages ([http] languages, further ones from their catalogs), one
    # folder page each; without [http] Dutch and English.
    languages = LANGUAGES if http is None else http.languages
    catalogs = None if http is None or http.locale_dir is None else str(http.locale_dir)
    for language in languages:
        t = Translator(language, config.timezone, catalogs)
        # A card as the page words it; the folder is printed, so a past "now" never
        # hides it (meeting_cards lists only meetings not yet ended).
        card = meeting_cards([meeting], t, min(now, meeting.start))[0]
        url = links.page_url(language)
        pages.append(_Page(language, t, card, url, _qr_data_uri(url)))
    return (
        _environment()
        .get_template("folder.html")
        .render(
            pages=pages,
            style=Markup(STYLE),  # noqa: S704 (our own stylesheet, shipped with the code)
            folder_style=Markup(_folder_style()),  # noqa: S704 (ours too)
        )
    )


async def render_pdf(html: str, limit_seconds: float = RENDER_TIMEOUT_SECONDS) -> bytes:
    """``html`` as PDF, rendered by ``python -m daemon.publish.folder_render`` (see the
    module docstring); ``FolderError`` when the child fails or takes over ``limit_seconds``."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        _RENDER_MODULE,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(limit_seconds):
            pdf, stderr = await process.communicate(html.encode("utf-8"))
    except TimeoutError:
        await _kill(process)
        raise _render_failed(
            f"na {limit_seconds:g} s afgebroken", f"stopped after {limit_seconds:g} s"
        ) from None
    except BaseException:
        # Cancelled (the daemon stops): leave no child behind.
        await asyncio.shield(_kill(process))
        raise
    if process.returncode != 0 or not pdf.startswith(b"%PDF"):
        lines = stderr.decode("utf-8", "replace").strip().splitlines()
        last = lines[-1] if lines else ""
        code = process.returncode
        raise _render_failed(f"afsluitcode {code}: {last}", f"exit code {code}: {last}")
    return pdf


async def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    await process.wait()


def _render_failed(dutch: str, english: str) -> FolderError:
    """The operator's log line and the job's error, both Dutch first, then English."""
    message = (
        f"de folder-PDF kon niet gemaakt worden ({dutch}) "
        f"(the folder PDF could not be rendered ({english}))"
    )
    log.error("%s", message)
    return FolderError(message)


async def folder_pdf(tx: Tx, config: Config, meeting_id: MeetingId, now: datetime) -> bytes:
    """The folder of ``meeting_id`` as PDF bytes; ``FolderError`` for an unknown meeting
    or one that is not public, or when the render fails (see :func:`render_pdf`)."""
    meeting = await tx.meeting(meeting_id)
    if meeting is None:
        raise FolderError(
            f"vergadering {meeting_id} bestaat niet (meeting {meeting_id} does not exist)"
        )
    shown = folder_meeting(meeting, await tx.items_for_meeting(meeting.id), config, now)
    html = folder_html(shown, site_links(config), config, now)
    return await render_pdf(html)


def folder_filename(meeting: Meeting) -> str:
    return f"folder-{meeting.id}.pdf"


async def folder_effects(
    tx: Tx,
    documents: DocumentStore,
    meeting: Meeting,
    effects: list[NewEffect],
    config: Config,
    now: datetime,
) -> list[NewEffect]:
    """The folder moment's rows with the PDF as a file (room) or attachment (mail)."""
    if not effects:
        return effects
    sha256 = await documents.put(await folder_pdf(tx, config, meeting.id, now))
    ref = DocumentRef(sha256, folder_filename(meeting), CONTENT_TYPE)
    out: list[NewEffect] = []
    for effect in effects:
        payload = effect.payload
        if isinstance(payload, ChatPost):
            payload = replace(payload, documents=(*payload.documents, ref))
        elif isinstance(payload, MailOut):
            payload = replace(payload, attachments=(*payload.attachments, ref))
        out.append(replace(effect, payload=payload))
    return out


def _qr_data_uri(url: str) -> str:
    import segno

    # A wide quiet zone (4 modules, as the standard asks) so a phone reads it from paper.
    uri: str = segno.make(url, error="m").svg_data_uri(scale=10, border=4)
    return uri


@cache
def _folder_style() -> str:
    return (
        resources.files("daemon.publish")
        .joinpath("templates")
        .joinpath("folder.css")
        .read_text("utf-8")
    )
