"""Malformed requests to the real daemon's HTTP port get our answer, not aiohttp's.

aiohttp answers a request its parser cannot read, and an unknown ``Expect``, itself,
before any of our code runs: a text that quotes the request, without our security
headers. ``connectors/http/protocol.py`` replaces those answers by subclassing aiohttp's
connection handler, which aiohttp does not promise to keep calling; this test is the
tripwire for an aiohttp upgrade (pyproject.toml pins the minor version it was checked
with). Each request carries a marker that must appear in no answer, and is followed on
the same connection by a valid request that must not be answered: one fixed answer
with our headers, then the connection is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
from daemon_runner import DaemonRunner, local
from feed_helpers import afetch, feed_config, feed_events, free_port

from connectors.http.server import fixed_answer

pytestmark = pytest.mark.integration

SERIES = """[series.bewonersbijeenkomst]
title = "Bewonersbijeenkomst"
public = true
location = "Buurthuis De Meeuw"

[series.bewonersbijeenkomst.plan]
dates = [2027-06-10T19:00:00]
"""
MARK = b"wijkbode<b>echo</b>probe"  # in every request below; in no answer
NEXT = b"GET /agenda.ics?after=" + b"x" * 8 + b" HTTP/1.1\r\nHost: x\r\n\r\n"  # never answered
MALFORMED = {
    "bad_request_line": b"GET /" + MARK + b" HTTP/1.1 extra\r\nHost: x\r\n\r\n",
    "bad_method": b"G<T /" + MARK + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "nul_in_header": b"GET /agenda.ics HTTP/1.1\r\nHost: x\r\nX-Probe: " + MARK + b"\x00\r\n\r\n",
    "header_of_20_kb": b"GET /agenda.ics HTTP/1.1\r\nHost: x\r\nX-Probe: " + MARK
    + b"a" * 20_000 + b"\r\n\r\n",
    "bad_chunk_size": b"POST /subscribe HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    + MARK + b"\r\nabc\r\n0\r\n\r\n",
    "content_length_and_transfer_encoding": b"POST /subscribe HTTP/1.1\r\nHost: x\r\n"
    b"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /" + MARK
    + b" HTTP/1.1\r\nHost: x\r\n\r\n",
}  # fmt: skip
SECURITY = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",
    b"content-security-policy": b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    b"x-frame-options": b"DENY",
    b"server": b"Wijkbode",
}


async def exchange(port: int, request: bytes) -> bytes:
    """Send ``request`` and read until the server closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(60):  # a safety bound: the server closes long before
            return await reader.read()
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def parts(answer: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
    """Status, headers (names lower case; each once) and body of one answer."""
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.split(b"\r\n")
    headers: dict[bytes, bytes] = {}
    for line in lines:
        name, _, value = line.partition(b":")
        assert name.lower() not in headers, answer[:600]
        headers[name.lower()] = value.strip()
    return int(status_line.split(b" ")[1]), headers, body


def assert_ours(case: str, answer: bytes, status: int) -> None:
    """Exactly our fixed answer for ``status``, with our headers, and nothing after it."""
    seen = (case, answer[:800])
    got, headers, body = parts(answer)
    assert got == status, seen
    for name, value in SECURITY.items():
        assert headers.get(name) == value, (name, *seen)
    assert headers[b"content-type"] == b"text/html; charset=utf-8", seen
    assert body == fixed_answer(status).body, seen
    assert int(headers[b"content-length"]) == len(body), seen  # NEXT was not answered
    assert b"aiohttp" not in answer.lower(), seen
    for echoed in (MARK, b"echo", b"after="):
        assert echoed not in answer, (echoed, *seen)


async def test_malformed_requests_get_our_fixed_answer_and_the_connection_closes(
    tmp_path: Path,
) -> None:
    port = free_port()
    runner = DaemonRunner(
        tmp_path,
        feed_config(SERIES, port, default_series="bewonersbijeenkomst"),
        start=local("2027-05-20T12:00:00"),
        speed=1,
    )
    try:
        runner.start()
        await runner.wait_running()

        async def published() -> bool:
            return bool(await feed_events(runner, port))

        await runner.wait_until(published, "the meeting in the feed")
        bilingual = fixed_answer(400).body
        assert bilingual.index(b"Dit verzoek kunnen we niet lezen") < bilingual.index(
            b"This request could not be read"
        )

        for case, request in MALFORMED.items():
            assert_ours(case, await exchange(port, request + NEXT), 400)

        # An unknown Expect: aiohttp refuses it (417) before our middleware, repeating the
        # header and keeping the connection open; ours closes it.
        expect = b"GET /agenda.ics HTTP/1.1\r\nHost: x\r\nExpect: " + MARK + b"\r\n\r\n"
        assert_ours("unknown_expect", await exchange(port, expect + NEXT), 417)

        assert (await afetch(f"http://127.0.0.1:{port}/agenda.ics")).status == 200
        await runner.stop()
        assert "Traceback" not in runner.log()
    finally:
        runner.ensure_stopped()
