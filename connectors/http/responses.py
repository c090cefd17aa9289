"""Responses made once and served many times: bytes, their gzip copy, ETags, headers.

A ``Representation`` is built when the content changes (never per request):
the body, one gzip copy of it, a strong ETag of each (RFC 9110 8.8.3: the
gzip bytes differ, so their tag does too) and the response headers, security
headers included. ``respond`` answers a GET or HEAD from it: ``304`` when the
client's ``If-None-Match`` names either tag (or, without it, when
``If-Modified-Since`` is not older than ``Last-Modified``), else the body,
gzipped when the client accepts it. Nothing here reads the store.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

SERVER_NAME = "Wijkbode"
# Every response: no MIME sniffing, no referrer to other sites, nothing framed or run.
SECURITY_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "cross-origin",  # calendar apps fetch the feed from anywhere
    "Server": SERVER_NAME,
}
_GZIP_LEVEL = 9  # made once per change, so the smallest copy is worth its milliseconds


@dataclass(frozen=True, slots=True)
class Representation:
    """One resource's current bytes, ready to serve."""

    body: bytes
    gzipped: bytes
    etag: str  # '"<sha256 prefix>"' of ``body``
    gzip_etag: str  # of ``gzipped``
    last_modified: datetime  # whole seconds, UTC
    plain_headers: CIMultiDictProxy[str]
    gzip_headers: CIMultiDictProxy[str]
    not_modified_headers: CIMultiDictProxy[str]
    not_modified_gzip_headers: CIMultiDictProxy[str]


def representation(
    body: bytes, content_type: str, last_modified: datetime, cache_control: str
) -> Representation:
    """``body`` with its gzip copy, tags and headers (computed here, once)."""
    digest = hashlib.sha256(body).hexdigest()[:40]
    etag, gzip_etag = f'"{digest}"', f'"{digest}-gz"'
    # mtime=0: the same body always gives the same gzip bytes (and tag).
    gzipped = gzip.compress(body, compresslevel=_GZIP_LEVEL, mtime=0)
    modified = last_modified.astimezone(UTC).replace(microsecond=0)
    common = {
        **SECURITY_HEADERS,
        "Cache-Control": cache_control,
        "Last-Modified": format_datetime(modified, usegmt=True),
        "Vary": "Accept-Encoding",
    }

    def headers(tag: str, *, encoded: bool, full: bool) -> CIMultiDictProxy[str]:
        found = CIMultiDict(common)
        found["ETag"] = tag
        if full:
            found["Content-Type"] = content_type
            if encoded:
                found["Content-Encoding"] = "gzip"
        return CIMultiDictProxy(found)

    return Representation(
        body=body,
        gzipped=gzipped,
        etag=etag,
        gzip_etag=gzip_etag,
        last_modified=modified,
        plain_headers=headers(etag, encoded=False, full=True),
        gzip_headers=headers(gzip_etag, encoded=True, full=True),
        not_modified_headers=headers(etag, encoded=False, full=False),
        not_modified_gzip_headers=headers(gzip_etag, encoded=True, full=False),
    )


def respond(request: web.BaseRequest, rep: Representation) -> web.Response:
    """The answer to a GET or HEAD of ``rep`` (aiohttp leaves the body out for HEAD)."""
    wants_gzip = accepts_gzip(request.headers.get("Accept-Encoding", ""))
    if not_modified(request, rep):
        headers = rep.not_modified_gzip_headers if wants_gzip else rep.not_modified_headers
        return web.Response(status=304, headers=headers)
    if wants_gzip:
        return web.Response(body=rep.gzipped, headers=rep.gzip_headers)
    return web.Response(body=rep.body, headers=rep.plain_headers)


def not_modified(request: web.BaseRequest, rep: Representation) -> bool:
    """RFC 9110 13.1.2/13.1.3: If-None-Match decides when present, else If-Modified-Since."""
    tags = request.headers.get("If-None-Match")
    if tags is not None:
        return _names_tag(tags, (rep.etag, rep.gzip_etag))
    since = request.headers.get("If-Modified-Since")
    if since is None:
        return False
    try:
        when = parsedate_to_datetime(since)
    except (TypeError, ValueError, IndexError):
        return False  # an unreadable date is ignored (RFC 9110 13.1.3)
    if when.tzinfo is None:
        return False
    return rep.last_modified <= when


def _names_tag(header: str, tags: tuple[str, ...]) -> bool:
    """Whether an If-None-Match list holds ``*`` or one of ``tags`` (weak comparison)."""
    for candidate in header.split(","):
        listed = candidate.strip()
        if listed == "*":
            return True
        if listed.removeprefix("W/") in tags:
            return True
    return False


def accepts_gzip(header: str) -> bool:
    """Whether Accept-Encoding allows gzip (``gzip;q=0`` refuses it)."""
    for part in header.lower().split(","):
        name, _, params = part.strip().partition(";")
        if name.strip() not in ("gzip", "x-gzip", "*"):
            continue
        quality = params.strip().removeprefix("q=")
        if params and quality.replace(".", "", 1).isdigit():
            return float(quality) > 0
        return True
    return False
