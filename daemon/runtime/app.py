"""Wiring: builds the store, the engine and the connectors from the config and runs them.

The daemon runs in phases (like mautrix's program): start the store and bring
the plan into it, start the engine (scheduler and one outbox dispatcher per
channel), then intake (mail, chat). On SIGTERM/SIGINT it stops intake first so
nothing new arrives, lets the engine finish what is in flight, then closes the
connectors in reverse order and the store last.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from daemon.clock import Clock
from daemon.runtime.systemd import SystemdNotifier
from daemon.store import Store

log = logging.getLogger("wijkbode")

Runner = Callable[[], Coroutine[Any, Any, None]]


@dataclass
class Components:
    """What the app runs: long-lived loops per phase, and what to close at the end."""

    engine: list[Runner] = field(default_factory=list)
    intake: list[Runner] = field(default_factory=list)


ComponentBuilder = Callable[[Store, Clock, AsyncExitStack], Awaitable[Components]]


async def run_daemon(
    open_store: Callable[[], Awaitable[Store]],
    build: ComponentBuilder,
    clock: Clock,
    *,
    stop: asyncio.Event | None = None,
    notifier: SystemdNotifier | None = None,
) -> None:
    """Run until ``stop`` is set (by SIGTERM/SIGINT when not given)."""
    stop = stop or _stop_on_signals()
    notifier = notifier or SystemdNotifier()
    async with AsyncExitStack() as resources:
        store = await open_store()
        resources.push_async_callback(store.close)
        components = await build(store, clock, resources)
        await _run_phases(components, stop, notifier)
    log.info("Wijkbode is gestopt / stopped")


async def _run_phases(
    components: Components, stop: asyncio.Event, notifier: SystemdNotifier
) -> None:
    async with asyncio.TaskGroup() as engine:
        engine_tasks = _start(engine, components.engine, "engine")
        engine_tasks.append(engine.create_task(notifier.keep_watchdog_fed(), name="watchdog"))
        async with asyncio.TaskGroup() as intake:
            intake_tasks = _start(intake, components.intake, "intake")
            notifier.ready()
            log.info("Wijkbode draait / running")
            # A crashed task makes its TaskGroup cancel this wait, so failures end the run too.
            await stop.wait()
            notifier.stopping()
            log.info("stopping intake")
            _cancel(intake_tasks)
        log.info("stopping engine (in-flight deliveries finish first)")
        _cancel(engine_tasks)


def _start(
    group: asyncio.TaskGroup, runners: Sequence[Runner], phase: str
) -> list[asyncio.Task[None]]:
    return [
        group.create_task(run(), name=f"{phase}:{getattr(run, '__qualname__', run)}")
        for run in runners
    ]


def _cancel(tasks: Sequence[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop
