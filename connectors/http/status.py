"""``/healthz`` and ``/metrics``: how the daemon is doing, for a monitor and for Prometheus.

``/healthz`` answers ``200`` with JSON when the store answers a read and every
watched part (``daemon.health``: the Matrix sync, the IMAP connection, each
outbox channel) had a recent success, else ``503`` naming what fails. It says
nothing else: no address, no error text (that goes to the log).

``/metrics`` (``[http] metrics``, off by default) is the Prometheus text made by
the core (``daemon.ports.page.MetricsSource``), cached: rendered again after
``invalidate()`` (the data changed) or when older than ``max_age`` seconds, since
deliveries and counters change between invalidations; never per request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable

from aiohttp import web

from connectors.http.cache import RenderCache
from daemon.health import Health
from daemon.ports.page import MetricsSource
from daemon.store import Store
from daemon.store.metrics import store_answers

log = logging.getLogger("wijkbode.http")

HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STORE_TIMEOUT = 5.0  # seconds: a store busier than this counts as not answering


class StatusService:
    def __init__(
        self,
        store: Store,
        health: Health,
        metrics: MetricsSource | None,
        *,
        max_age: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._health = health
        self._metrics = metrics
        self._max_age = max_age
        self._monotonic = monotonic
        self._cache: RenderCache[tuple[bytes, float]] = RenderCache(self._render, "/metrics")

    def invalidate(self) -> None:
        self._cache.invalidate()

    def routes(self) -> list[web.RouteDef]:
        found = [web.get(HEALTH_PATH, self.healthz)]
        if self._metrics is not None:
            found.append(web.get(METRICS_PATH, self.metrics))
        return found

    async def healthz(self, request: web.Request) -> web.Response:
        store_ok = await self._store_ok()
        report = self._health.report()
        failing = ([] if store_ok else ["store"]) + list(report.failing)
        body = {
            "status": "failing" if failing else "ok",
            "failing": failing,
            "store": "ok" if store_ok else "failing",
            "parts": {
                part.name: {
                    "ok": part.ok,
                    "seconds_since_success": None
                    if part.seconds_since_success is None
                    else round(part.seconds_since_success, 1),
                }
                for part in report.parts
            },
        }
        return web.Response(
            status=503 if failing else 200,
            text=json.dumps(body, sort_keys=True) + "\n",
            content_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    async def metrics(self, request: web.Request) -> web.Response:
        value = self._cache.fresh
        if value is not None and self._monotonic() - value[1] > self._max_age:
            self._cache.invalidate()
            value = None
        body, _ = value or await self._cache.get()
        return web.Response(
            body=body,
            headers={"Content-Type": METRICS_CONTENT_TYPE, "Cache-Control": "no-store"},
        )

    async def _render(self) -> tuple[bytes, float]:
        assert self._metrics is not None
        return (await self._metrics()).encode(), self._monotonic()

    async def _store_ok(self) -> bool:
        try:
            async with asyncio.timeout(STORE_TIMEOUT):
                async with self._store.reading() as tx:
                    await store_answers(tx)
        except TimeoutError:
            log.warning("healthz: the store did not answer within %.0f s", STORE_TIMEOUT)
            return False
        except Exception:
            log.exception("healthz: the store did not answer")
            return False
        return True
