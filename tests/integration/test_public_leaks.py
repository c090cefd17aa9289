"""Nothing private reaches a public URL: the real daemon over a store holding secrets.

The store (tests/integration/public_site.py) holds a private series with a meeting,
its place and its agenda (and a publication of it), a confidential item, an item
awaiting acceptance from a submitter who is not a partner, and partner addresses.
Every public URL is fetched, plain and gzipped, and none of those appears in a
body or a header. The public item does appear, so the check is not vacuous.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from public_site import HOSTILE, NEVER_PUBLIC, PUBLIC_ITEM, public_site

pytestmark = pytest.mark.integration

PUBLIC_URLS = (
    "/",
    "/en",
    "/agenda.ics",
    "/agenda/bewonersbijeenkomst.ics",
    "/agenda/kerngroep.ics",  # the private series' own feed: a 404, saying nothing
    "/healthz",
    "/metrics",
    "/nope",
    "/en/nope",
    "/../../wijkbode.toml",
)


def _readable(body: bytes, headers: dict[str, str]) -> str:
    if headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    text = body.decode("utf-8")
    # iCalendar folds long lines (RFC 5545 3.1): unfold, or a secret could hide across a fold.
    return text.replace("\r\n ", "").replace("\r\n\t", "")


def test_no_public_url_shows_anything_private(tmp_path: Path) -> None:
    seen: dict[str, str] = {}
    # /metrics is off by default (below); switched on, it too shows nothing private.
    with public_site(tmp_path, "metrics = true\n") as site:
        for path in PUBLIC_URLS:
            for encoding in ("identity", "gzip"):
                status, headers, body = site.get(path, {"Accept-Encoding": encoding})
                assert status in (200, 404), (path, status)
                seen[f"{path} ({encoding})"] = (
                    "\n".join(f"{k}: {v}" for k, v in headers.items())
                    + "\n\n"
                    + _readable(body, headers)
                )
    leaks = [
        f"{what} in {url}"
        for url, text in seen.items()
        for what, secret in NEVER_PUBLIC.items()
        if secret.lower() in text.lower()
    ]
    assert leaks == []
    # What is public is there (the check above looked at real pages and feeds).
    assert PUBLIC_ITEM in seen["/ (identity)"]
    assert PUBLIC_ITEM in seen["/en (gzip)"]
    assert "BEGIN:VEVENT" in seen["/agenda.ics (identity)"]
    assert "wijkbode_items_filed_total" in seen["/metrics (identity)"]
    # A hostile title is on the page as escaped text only.
    assert "&lt;script&gt;document.title=" in seen["/ (identity)"]
    assert HOSTILE not in seen["/ (identity)"]


def test_metrics_are_off_by_default_and_linked_nowhere(tmp_path: Path) -> None:
    # Security finding 6: without `[http] metrics = true` there are no counts to read.
    with public_site(tmp_path) as site:
        metrics = site.get("/metrics", {"Accept-Encoding": "identity"})
        unknown = site.get("/nope", {"Accept-Encoding": "identity"})
        pages = [site.get(path, {"Accept-Encoding": "identity"}) for path in ("/", "/en")]
    status, _, body = metrics
    assert status == 404
    assert body == unknown[2]  # the same 404 as any unknown path
    assert b"wijkbode_" not in body
    assert [page[0] for page in pages] == [200, 200]
    assert all(b"/metrics" not in page[2] for page in pages)
