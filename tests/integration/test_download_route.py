"""``/stukken/<token>`` on the real HTTP service (aiohttp on loopback) and a real store.

Only a stored, unexpired token opens its one document; everything else is the same
404 (malformed, unknown, expired, a path beside it), nothing is listed; a type a
browser could run on our origin is served as plain bytes, always as an attachment;
a GET counts a download, a HEAD does not. The whole flow with the daemon is
tests/integration/test_publication_package.py.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from connectors.http.downloads import DownloadService
from connectors.http.server import HttpService
from daemon.model import DocumentHash, Meeting, MeetingId, SeriesId
from daemon.store import Store
from daemon.store.downloads import DownloadToken

START = datetime(2027, 3, 9, 18, 30, tzinfo=UTC)
MEETING = Meeting(
    MeetingId("wijkalliantie-2027-03-09"), SeriesId("wijkalliantie"), "Wijkalliantie",
    START, START + timedelta(hours=2), "Buurthuis",
)  # fmt: skip
HOSTILE = b"<html><script>alert(1)</script></html>"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[str, Store, Clock, dict[str, str]]]:
    store = await Store.open(tmp_path / "state")
    clock = Clock(START - timedelta(days=1))
    tokens: dict[str, str] = {}
    async with store.transaction() as tx:
        await tx.sync_meetings([MEETING], at=clock.now)
    for name, content, kind in (
        ("plan.pdf", b"%PDF-1.4 plan", "application/pdf"),
        ("page.html", HOSTILE, "text/html"),
    ):
        digest = await store.documents.put(content)
        token = secrets.token_urlsafe(32)
        tokens[name] = token
        async with store.transaction() as tx:
            await tx.add_download_tokens(
                [DownloadToken(token, MEETING.id, f"job/x/{name}", DocumentHash(digest), name,
                               kind, MEETING.end)],
                now=clock.now,
            )  # fmt: skip
    service = HttpService("127.0.0.1", 0, [DownloadService(store, clock).routes()])
    await service.start()
    try:
        yield f"http://127.0.0.1:{service.port}", store, clock, tokens
    finally:
        await service.stop()
        await store.close()


async def get(url: str, method: str = "GET") -> tuple[int, bytes, dict[str, str]]:
    async with aiohttp.ClientSession() as session, session.request(method, url) as response:
        return response.status, await response.read(), dict(response.headers)


async def counts(store: Store) -> dict[str, int]:
    async with store.reading() as tx:
        rows = await tx._fetch_all("SELECT filename, downloads FROM download_tokens")
    return {str(r["filename"]): int(r["downloads"]) for r in rows}


async def test_a_token_opens_only_its_document_until_the_meeting_is_over(
    site: tuple[str, Store, Clock, dict[str, str]],
) -> None:
    base, store, clock, tokens = site
    status, body, headers = await get(f"{base}/stukken/{tokens['plan.pdf']}")
    assert status == 200
    assert body == b"%PDF-1.4 plan"
    assert headers["Content-Type"] == "application/pdf"
    assert headers["Content-Disposition"].startswith('attachment; filename="plan.pdf"')
    assert headers["Cache-Control"] == "private, no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert (await get(f"{base}/stukken/{tokens['plan.pdf']}", "HEAD"))[0] == 200
    assert (await counts(store))["plan.pdf"] == 1  # the HEAD is no download

    clock.now = MEETING.end
    assert (await get(f"{base}/stukken/{tokens['plan.pdf']}"))[0] == 404


async def test_what_a_browser_could_run_is_served_as_bytes_to_save(
    site: tuple[str, Store, Clock, dict[str, str]],
) -> None:
    base, _, _, tokens = site
    status, body, headers = await get(f"{base}/stukken/{tokens['page.html']}")
    assert status == 200
    assert body == HOSTILE
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"].startswith("attachment;")
    assert "default-src 'none'" in headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "path",
    [
        "/stukken/",
        "/stukken",
        "/stukken/" + "A" * 43,
        "/stukken/short",
        "/stukken/..%2F..%2Fwijkbode.sqlite3",
        "/stukken/{plan}/extra",
        "/stukken/{plan}%00",
        "/stukken/{plan}.pdf",
    ],
)
async def test_anything_else_is_the_same_404(
    site: tuple[str, Store, Clock, dict[str, str]], path: str
) -> None:
    base, store, _, tokens = site
    status, body, _ = await get(base + path.format(plan=tokens["plan.pdf"]))
    assert status == 404
    assert b"Traceback" not in body
    assert b"%PDF" not in body
    assert (await counts(store))["plan.pdf"] == 0
