"""Hostile HTTP against the real daemon's listener: each is answered, none with a traceback.

Path traversal (raw and %-encoded), a huge header, a slow client sending its
headers a line at a time (slowloris), and HEAD/OPTIONS/POST/PUT/DELETE and an
unknown method. While the slow client trickles, other clients are served; in
the end the server closes the slow connection itself (its header timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from daemon_runner import DaemonRunner, local
from feed_helpers import afetch, feed_config, feed_events, free_port

SERIES = """[series.bewonersbijeenkomst]
title = "Bewonersbijeenkomst"
public = true
location = "Buurthuis De Meeuw"

[series.bewonersbijeenkomst.plan]
dates = [2027-06-10T19:00:00]
"""
TRAVERSALS = [
    "/../../../../etc/passwd",
    "/agenda/../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/agenda/..%2f..%2f..%2fetc%2fpasswd.ics",
    "/agenda/%2e%2e.ics",
    "/agenda/",
    "/static/",
    "/daemon/",
    "/.git/config",
    "//etc/passwd",
]


async def raw(port: int, request: bytes) -> bytes:
    """Send ``request`` as bytes and read the whole answer (the server closes or answers)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(1 << 20), 60)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


async def test_hostile_requests_get_plain_answers(tmp_path: Path) -> None:
    port = free_port()
    runner = DaemonRunner(
        tmp_path,
        feed_config(SERIES, port, default_series="bewonersbijeenkomst"),
        start=local("2027-05-20T12:00:00"),
        speed=1,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        runner.start()
        await runner.wait_running()

        async def published() -> bool:
            return bool(await feed_events(runner, port))

        await runner.wait_until(published, "the meeting in the feed")

        for path in TRAVERSALS:
            answer = await raw(
                port, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
            )
            assert status_of(answer) in (400, 404), (path, answer[:300])
            assert b"root:" not in answer, path
            assert b"Traceback" not in answer, path
            assert b"[core]" not in answer, path
        missing = await afetch(f"{base}/nothing-here")
        assert missing.status == 404
        # The 404 page (the public page's own when it is served): HTML in Dutch, no traceback.
        assert missing.headers["Content-Type"].startswith("text/html")
        assert 'lang="nl"' in missing.body.decode()
        assert b"Traceback" not in missing.body
        assert missing.headers["X-Content-Type-Options"] == "nosniff"
        assert missing.headers["Content-Security-Policy"]
        assert missing.headers["Referrer-Policy"] == "no-referrer"

        huge = await raw(
            port, b"GET /agenda.ics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n"
        )
        assert status_of(huge) in (400, 431), huge[:300]
        assert b"Traceback" not in huge
        many = "".join(f"X-{n}: {n}\r\n" for n in range(500))
        crowded = await raw(port, f"GET /agenda.ics HTTP/1.1\r\nHost: x\r\n{many}\r\n".encode())
        assert status_of(crowded) in (400, 431), crowded[:300]

        head = await afetch(f"{base}/agenda.ics", method="HEAD")
        assert (head.status, head.body) == (200, b"")
        options = await afetch(f"{base}/agenda.ics", method="OPTIONS")
        assert options.status == 204
        assert options.headers["Allow"] == "GET, HEAD, OPTIONS"
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            refused = await raw(
                port,
                f"{method} /agenda.ics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                "Connection: close\r\n\r\nhello".encode(),
            )
            assert status_of(refused) == 405, (method, refused[:300])
            assert b"Allow: GET, HEAD, OPTIONS" in refused
            assert b"Traceback" not in refused
        big_post = await raw(
            port,
            b"POST /agenda.ics HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n"
            b"Connection: close\r\n\r\n" + b"x" * 1000,
        )
        assert status_of(big_post) == 405
        odd = await raw(port, b"BREW /agenda.ics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert status_of(odd) in (400, 405), odd[:300]
        assert b"Traceback" not in odd

        # A slow client: the request line, then a header line now and then, never the end.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /agenda.ics HTTP/1.1\r\nHost: x\r\n")
        await writer.drain()

        async def trickle() -> None:
            for n in range(120):
                await asyncio.sleep(0.5)
                writer.write(f"X-Slow-{n}: y\r\n".encode())
                await writer.drain()

        trickling = asyncio.create_task(trickle())
        try:
            # Meanwhile everyone else is served.
            for _ in range(3):
                assert (await afetch(f"{base}/agenda.ics")).status == 200
            # The server gives up on the slow client: the connection ends without an answer
            # to its never-finished request (or with a plain 4xx, never a traceback).
            rest = await asyncio.wait_for(reader.read(), 60)
            assert rest == b"" or status_of(rest) in (400, 408), rest[:300]
        finally:
            trickling.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await trickling
            writer.close()

        assert (await afetch(f"{base}/agenda.ics")).status == 200
        await runner.stop()
        assert "Traceback" not in runner.log()
    finally:
        runner.ensure_stopped()
