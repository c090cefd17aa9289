"""Hostile HTTP against the running daemon's listener, as raw bytes on a socket: request
smuggling shapes, header injection, malformed framing, huge and odd request lines, hostile
subscribe-form posts and tokens, a slow body and a crowd of idle connections.

tests/integration/test_feed_hostile_http.py covers path traversal, one huge header, 500
headers, the methods and a slow header trickle; these are the others. Each is answered
with a plain status (never a traceback) or the connection is closed, and no second,
smuggled request is ever answered. Every answer is ours, also where aiohttp's parser
refused the request before our code ran (connectors/http/protocol.py): our security
headers, our Server name, and nothing of the request quoted back
(tests/integration/test_http_malformed.py checks that answer exactly).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from dataclasses import dataclass

import pytest
import pytest_asyncio
from feed_helpers import afetch
from hostile_world import Baseline, Hostile

from daemon.store import DATABASE_NAME

REFUSED = frozenset({400, 405, 411, 413, 414, 417, 431, 501, 505})
# On every answer, whoever made it (aiohttp's own carried none of these, and its Server).
OUR_HEADERS = (
    b"\r\nX-Content-Type-Options: nosniff\r\n",
    b"\r\nContent-Security-Policy: default-src 'none'",
    b"\r\nReferrer-Policy: no-referrer\r\n",
    b"\r\nServer: Wijkbode\r\n",
)
# Bytes of the requests that no answer may quote back.
NEVER_ECHOED = (b"smuggled", b"xchunked", b"evil.test", b"a=b;a=b", b"ffffffffffffffffffff")
NOT_FOUND = frozenset({404})
OK = frozenset({200})
CLOSED = 0  # the server closed the connection without an answer


@dataclass(frozen=True)
class HttpCase:
    name: str
    request: bytes
    statuses: frozenset[int]  # acceptable answers (CLOSED: no answer at all)


def form(body: str, extra: str = "") -> bytes:
    data = body.encode()
    return (
        f"POST /subscribe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(data)}\r\n\r\n"
    ).encode() + data


SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
CASES = [
    HttpCase("cl_and_te", b"POST /subscribe HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n"
             b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED, REFUSED),
    HttpCase("te_and_cl", b"POST /subscribe HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
             b"Content-Length: 3\r\n\r\n0\r\n\r\n" + SMUGGLED, REFUSED),
    HttpCase("duplicate_content_length", b"POST /subscribe HTTP/1.1\r\nHost: x\r\n"
             b"Content-Length: 0\r\nContent-Length: 40\r\n\r\n" + SMUGGLED, REFUSED),
    HttpCase("duplicate_equal_content_length", b"POST /subscribe HTTP/1.1\r\nHost: x\r\n"
             b"Content-Length: 0\r\nContent-Length: 0\r\n\r\n" + SMUGGLED, REFUSED),
    HttpCase("content_length_list", b"POST /subscribe HTTP/1.1\r\nHost: x\r\n"
             b"Content-Length: 0, 40\r\n\r\n" + SMUGGLED, REFUSED),
    HttpCase("content_length_negative", b"POST /subscribe HTTP/1.1\r\nHost: x\r\n"
             b"Content-Length: -1\r\n\r\n" + SMUGGLED, REFUSED),
    HttpCase("content_length_plus", b"POST /subscribe HTTP/1.1\r\nHost: x\r\n"
             b"Content-Length: +0\r\n\r\n" + SMUGGLED, REFUSED),
    HttpCase("te_obfuscated", b"POST /subscribe HTTP/1.1\r\nHost: x\r\n"
             b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n" + SMUGGLED, REFUSED),
    HttpCase("te_space_before_colon", b"POST /subscribe HTTP/1.1\r\nHost: x\r\n"
             b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n" + SMUGGLED, REFUSED),
    HttpCase("te_folded", b"POST /subscribe HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n"
             b" chunked\r\n\r\n0\r\n\r\n" + SMUGGLED, REFUSED),
    HttpCase("te_chunked_not_last", b"POST /subscribe HTTP/1.1\r\nHost: x\r\n"
             b"Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + SMUGGLED, REFUSED),
    HttpCase("chunk_size_garbage", b"POST /subscribe HTTP/1.1\r\nHost: x\r\n"
             b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n" + SMUGGLED, REFUSED),
    HttpCase("chunk_size_overflow", b"POST /subscribe HTTP/1.1\r\nHost: x\r\n"
             b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nabc\r\n" + SMUGGLED,
             REFUSED),
    HttpCase("chunk_extension_flood", b"POST /subscribe HTTP/1.1\r\nHost: x\r\n"
             b"Transfer-Encoding: chunked\r\n\r\n1;" + b"a=b;" * 5000 + b"\r\nx\r\n0\r\n\r\n",
             REFUSED),
    HttpCase("bare_lf_line_ends", b"GET /agenda.ics HTTP/1.1\nHost: x\nConnection: close\n\n",
             REFUSED | OK),
    HttpCase("bare_cr_in_header", b"GET /agenda.ics HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n"
             b"Connection: close\r\n\r\n", REFUSED),
    HttpCase("nul_in_header", b"GET /agenda.ics HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n"
             b"Connection: close\r\n\r\n", REFUSED),
    HttpCase("nul_in_target", b"GET /agenda\x00.ics HTTP/1.1\r\nHost: x\r\nConnection: close"
             b"\r\n\r\n", REFUSED),
    HttpCase("crlf_injection_in_path", b"GET /agenda.ics%0d%0aSet-Cookie:%20x=1 HTTP/1.1\r\n"
             b"Host: x\r\nConnection: close\r\n\r\n", NOT_FOUND | REFUSED),
    HttpCase("header_name_with_space", b"GET /agenda.ics HTTP/1.1\r\nHost: x\r\nX A: b\r\n"
             b"Connection: close\r\n\r\n", REFUSED),
    HttpCase("absolute_uri_other_host", b"GET http://evil.test/agenda.ics HTTP/1.1\r\n"
             b"Host: evil.test\r\nConnection: close\r\n\r\n", OK | NOT_FOUND | REFUSED),
    HttpCase("connect_method", b"CONNECT evil.test:443 HTTP/1.1\r\nHost: evil.test:443\r\n"
             b"Connection: close\r\n\r\n", REFUSED | NOT_FOUND),
    HttpCase("trace_method", b"TRACE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
             REFUSED),
    HttpCase("url_100k", b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", REFUSED),
    HttpCase("query_flood", b"GET /agenda.ics?" + b"&".join(b"a%d=1" % n for n in range(900))
             + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", OK),
    # aiohttp answers HTTP/0.9 with the public page: nothing a browser request would not get.
    HttpCase("http_0_9", b"GET /\r\n\r\n", REFUSED | OK | {CLOSED}),
    HttpCase("http2_preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", REFUSED | {CLOSED}),
    HttpCase("http_9_9", b"GET / HTTP/9.9\r\nHost: x\r\nConnection: close\r\n\r\n", REFUSED),
    HttpCase("no_host", b"GET /agenda.ics HTTP/1.1\r\nConnection: close\r\n\r\n", OK | REFUSED),
    HttpCase("two_hosts", b"GET /agenda.ics HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close"
             b"\r\n\r\n", OK | REFUSED),
    HttpCase("range_flood", b"GET /agenda.ics HTTP/1.1\r\nHost: x\r\nRange: bytes="
             + b",".join(b"%d-%d" % (n, n) for n in range(1000)) + b"\r\nConnection: close\r\n\r\n",
             OK | {206, 416}),
    HttpCase("if_none_match_flood", b"GET /agenda.ics HTTP/1.1\r\nHost: x\r\nIf-None-Match: "
             + b", ".join(b'"e%d"' % n for n in range(700)) + b"\r\nConnection: close\r\n\r\n", OK),
    HttpCase("accept_encoding_odd", b"GET /agenda.ics HTTP/1.1\r\nHost: x\r\n"
             b"Accept-Encoding: gzip;q=999, br;q=-1, *;q=NaN\r\nConnection: close\r\n\r\n", OK),
    HttpCase("form_too_big", form("email=" + "a" * 70_000), {413}),
    HttpCase("form_header_injection", form("email=a%40b.test%0d%0aBcc%3a+slachtoffer%40x.test"),
             REFUSED),
    # "{0}%s%n" is a valid local part (RFC 5322 atext): a subscription waiting for its
    # confirmation, the text taken literally (test_the_format_string_address_stayed_text).
    HttpCase("form_format_string", form("email=%7B0%7D%25s%25n%40x.test&lang=%25s"), OK),
    HttpCase("form_field_flood", form("&".join(f"f{n}=1" for n in range(800))), REFUSED),
    HttpCase("form_honeypot_filled", form("email=bot%40spam.test&website=http%3a%2f%2fspam"), OK),
    HttpCase("form_not_a_form", b"POST /subscribe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
             b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}", REFUSED),
    HttpCase("form_multipart_bomb", b"POST /subscribe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
             b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 3000\r\n\r\n"
             + (b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n" * 60)[:3000],
             REFUSED),
    HttpCase("confirm_token_traversal", b"GET /subscribe/confirm?t=..%2f..%2fetc%2fpasswd HTTP/1.1"
             b"\r\nHost: x\r\nConnection: close\r\n\r\n", NOT_FOUND | REFUSED),
    # An unknown token gets the same "unsubscribed" page as a known one: nothing to learn.
    HttpCase("unsubscribe_token_sql", b"POST /unsubscribe?t=%27%20OR%201%3D1%20-- HTTP/1.1\r\n"
             b"Host: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", OK),
    HttpCase("download_token_sql", b"GET /stukken/'%20OR%20'1'='1 HTTP/1.1\r\nHost: x\r\n"
             b"Connection: close\r\n\r\n", NOT_FOUND),
    HttpCase("download_token_huge", b"GET /stukken/" + b"A" * 7000 + b" HTTP/1.1\r\nHost: x\r\n"
             b"Connection: close\r\n\r\n", NOT_FOUND | REFUSED),
]  # fmt: skip


async def exchange(port: int, request: bytes, within: float = 30) -> bytes:
    """Send ``request`` and read until the server closes (or ``within`` seconds pass)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    chunks: list[bytes] = []
    try:
        writer.write(request)
        await writer.drain()
        with contextlib.suppress(TimeoutError, ConnectionError):
            async with asyncio.timeout(within):
                while chunk := await reader.read(65536):
                    chunks.append(chunk)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return b"".join(chunks)


def nothing_after_the_answer(answer: bytes) -> bool:
    """One response and no more: its body is exactly its Content-Length."""
    head, _, body = answer.partition(b"\r\n\r\n")
    lengths = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
    if not lengths:
        return b"\r\nHTTP/1." not in body  # read to the end: no response line inside it
    return len(body) == int(lengths[0].split(b":")[1])


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else CLOSED


def subscribers(hostile: Hostile) -> list[tuple[str, str | None]]:
    """(address, confirmed_at) of every row, read-only beside the running daemon."""
    path = hostile.runner.state_dir / DATABASE_NAME
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return list(db.execute("SELECT address, confirmed_at FROM subscribers"))


@pytest_asyncio.fixture(scope="module", autouse=True)
async def before(hostile: Hostile) -> Baseline:
    return hostile.baseline()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_hostile_request(hostile: Hostile, case: HttpCase) -> None:
    answer = await exchange(hostile.port, case.request)
    assert status_of(answer) in case.statuses, answer[:400]
    assert nothing_after_the_answer(answer), answer[:800]  # never a second, smuggled answer
    assert b"Traceback" not in answer
    assert b"Set-Cookie" not in answer
    head = answer.partition(b"\r\n\r\n")[0]
    assert b"slachtoffer" not in head
    if status_of(answer) != CLOSED:
        for header in OUR_HEADERS:
            assert header in head + b"\r\n", (header, answer[:600])
        assert b"aiohttp" not in answer.lower(), answer[:600]
    if status_of(answer) in REFUSED:
        for sent in NEVER_ECHOED:
            assert sent not in answer, (sent, answer[:600])


async def test_the_format_string_address_stayed_text(hostile: Hostile) -> None:
    """After every post above, one row: the format-string address, unconfirmed, literally as
    typed (the SQL in the unsubscribe token deleted nothing, the honeypot stored nothing);
    its confirmation mail went to exactly that address."""
    assert subscribers(hostile) == [("{0}%s%n@x.test", None)]

    async def confirmation_sent() -> bool:
        return any("{0}%s%n@x.test" in m.rcpt_tos for m in hostile.mail.captured())

    await hostile.runner.wait_until(confirmation_sent, "the confirmation mail")


async def test_a_slow_body_is_cut_off_while_others_are_served(hostile: Hostile) -> None:
    """A form post that promises 100 bytes and sends one every half second: the server ends
    the connection by its request timeout (never answering the half request with a
    traceback), and serves everyone else meanwhile."""
    reader, writer = await asyncio.open_connection("127.0.0.1", hostile.port)
    writer.write(b"POST /subscribe HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                 b"Content-Type: application/x-www-form-urlencoded\r\n\r\nemail=")  # fmt: skip
    await writer.drain()

    async def trickle() -> None:
        for _ in range(90):
            await asyncio.sleep(0.5)
            writer.write(b"a")
            await writer.drain()

    trickling = asyncio.create_task(trickle())
    try:
        for _ in range(3):
            assert (await afetch(f"{hostile.base}/agenda.ics")).status == 200
        rest = await asyncio.wait_for(reader.read(), 40)
        assert status_of(rest) in {CLOSED, 400, 408}, rest[:300]
        assert b"Traceback" not in rest
    finally:
        trickling.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await trickling
        writer.close()


async def test_a_crowd_of_idle_connections_does_not_lock_others_out(hostile: Hostile) -> None:
    """300 connections that never send a byte: the page is still served to the next one,
    and the daemon's memory stays within 100 MB of what it was (a safety bound)."""
    before = hostile.rss_kib()
    crowd = [await asyncio.open_connection("127.0.0.1", hostile.port) for _ in range(300)]
    try:
        answer = await afetch(f"{hostile.base}/")
        assert answer.status == 200
        assert hostile.rss_kib() - before < 100 * 1024
    finally:
        for _, writer in crowd:
            writer.close()


def test_memory_stays_bounded_and_nothing_is_written_outside_the_state_dir(
    hostile: Hostile, before: Baseline
) -> None:
    """After every request above: RSS within 100 MB of before (a generous safety bound),
    and the run directory outside ``state/`` unchanged."""
    hostile.assert_bounded(before, 100 * 1024)
