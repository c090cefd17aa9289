"""/healthz and /metrics over real HTTP (connectors/http/status.py in the HTTP service).

A real store and the service on a loopback port, asked with a real HTTP client;
the parts' health is what the connectors would report into daemon.health.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from connectors.http.server import HttpService
from connectors.http.status import StatusService
from daemon.health import Health
from daemon.store import Store

pytestmark = pytest.mark.integration


class Ticks:
    def __init__(self) -> None:
        self.at = 100.0

    def __call__(self) -> float:
        return self.at


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "state")
    yield opened
    await opened.close()


async def serve(status: StatusService) -> tuple[HttpService, str]:
    service = HttpService("127.0.0.1", 0, [status.routes()])
    await service.start()
    return service, f"http://127.0.0.1:{service.port}"


async def get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


async def test_healthz_is_200_when_the_store_answers_and_every_part_succeeded(
    store: Store,
) -> None:
    clock = Ticks()
    health = Health(now=clock)
    health.watch("matrix", within=300)
    health.watch("outbox:mail", within=None)
    health.succeeded("matrix")
    service, base = await serve(StatusService(store, health, None))
    try:
        status, kind, body = await get(base + "/healthz")
        clock.at += 301  # the Matrix sync stopped succeeding
        stale = await get(base + "/healthz")
        health.failed("outbox:mail")
        both = await get(base + "/healthz")
    finally:
        await service.stop()
    assert (status, kind) == (200, "application/json; charset=utf-8")
    assert json.loads(body) == {
        "status": "ok",
        "failing": [],
        "store": "ok",
        "parts": {
            "matrix": {"ok": True, "seconds_since_success": 0.0},
            "outbox:mail": {"ok": True, "seconds_since_success": None},
        },
    }
    assert stale[0] == 503
    assert json.loads(stale[2])["failing"] == ["matrix"]
    assert json.loads(both[2])["failing"] == ["matrix", "outbox:mail"]


async def test_healthz_names_the_store_when_it_does_not_answer(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "state")
    service, base = await serve(StatusService(store, Health(), None))
    try:
        await store.close()  # the database is gone from under the service
        status, _, body = await get(base + "/healthz")
    finally:
        await service.stop()
    assert status == 503
    assert json.loads(body)["failing"] == ["store"]


async def test_metrics_come_from_a_cache_renewed_on_invalidate_or_when_old(
    store: Store,
) -> None:
    clock = Ticks()
    renders: list[int] = []

    async def metrics() -> str:
        renders.append(len(renders) + 1)
        return f"wijkbode_renders_total {len(renders)}\n"

    status = StatusService(store, Health(), metrics, max_age=10.0, monotonic=clock)
    service, base = await serve(status)
    try:
        first = await get(base + "/metrics")
        again = await get(base + "/metrics")  # cached: no render per request
        status.invalidate()  # the data changed
        changed = await get(base + "/metrics")
        clock.at += 11  # older than max_age: counters may have moved
        aged = await get(base + "/metrics")
    finally:
        await service.stop()
    assert first == (200, "text/plain; version=0.0.4; charset=utf-8", "wijkbode_renders_total 1\n")
    assert again[2] == first[2]
    assert changed[2] == "wijkbode_renders_total 2\n"
    assert aged[2] == "wijkbode_renders_total 3\n"
    assert renders == [1, 2, 3]


async def test_metrics_switched_off_is_not_there(store: Store) -> None:
    service, base = await serve(StatusService(store, Health(), None))
    try:
        status, _, _ = await get(base + "/metrics")
    finally:
        await service.stop()
    assert status == 404
