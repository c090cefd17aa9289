"""The composition root: which components a configuration asks for, built and connected.

Connectors are imported here, inside the functions that build them, so the
rest of the core never depends on an outside system's library and a
deployment without (say) CalDAV never loads caldav.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import AsyncExitStack
from pathlib import Path

from daemon.app import Components, Runner
from daemon.clock import Clock
from daemon.config import Config, load_config
from daemon.errors import ConfigError
from daemon.outbox import Outbox
from daemon.plan_sync import sync_plan
from daemon.ports.outbox import Channel
from daemon.scheduler import EngineSettings, Scheduler
from daemon.store import Store

log = logging.getLogger("wijkbode.wiring")


async def build_components(
    config: Config, store: Store, clock: Clock, resources: AsyncExitStack
) -> Components:
    changes, replanned = await sync_plan(store, config, clock.now())
    log.info(
        "plan: %d added, %d moved, %d cancelled; jobs: %d added, %d moved, %d cancelled",
        len(changes.added), len(changes.moved), len(changes.cancelled),
        len(replanned.added), len(replanned.moved), len(replanned.cancelled),
    )  # fmt: skip
    channels = await _channels(config, store, resources)
    outbox = Outbox(store, clock, channels)
    scheduler = Scheduler(store, clock, EngineSettings.from_config(config), on_enqueued=outbox.wake)
    components = Components()
    components.engine += [scheduler.run, *outbox.runners()]
    components.intake.append(
        _reload_on_sighup(config.path, config.state_dir, store, clock, scheduler)
    )
    return components


async def _channels(config: Config, store: Store, resources: AsyncExitStack) -> list[Channel]:
    channels: list[Channel] = []
    del store  # the mail and Matrix channels read documents from it (added with their issues)
    if config.caldav is not None:
        channels.append(await _caldav_channel(config, resources))
    return channels


async def _caldav_channel(config: Config, resources: AsyncExitStack) -> Channel:
    from connectors.calendar import CaldavChannel

    assert config.caldav is not None
    channel = CaldavChannel(config.caldav, config.timezone)
    resources.push_async_callback(channel.close)
    return channel


def _reload_on_sighup(
    path: Path, state_dir: Path, store: Store, clock: Clock, scheduler: Scheduler
) -> Runner:
    async def run() -> None:
        hup = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, hup.set)
        try:
            while True:
                await hup.wait()
                hup.clear()
                await _reload_plan(path, state_dir, store, clock, scheduler)
        finally:
            loop.remove_signal_handler(signal.SIGHUP)

    return run


async def _reload_plan(
    path: Path, state_dir: Path, store: Store, clock: Clock, scheduler: Scheduler
) -> None:
    """SIGHUP: read the plan again; other changes (servers, rooms) need a restart."""
    try:
        config = load_config(path, state_dir_override=state_dir)
    except ConfigError as error:
        log.error("configuratie niet herladen / config not reloaded: %s", error)
        return
    changes, _ = await sync_plan(store, config, clock.now())
    scheduler.wake()
    log.info(
        "plan herladen / plan reloaded: %d added, %d moved, %d cancelled",
        len(changes.added), len(changes.moved), len(changes.cancelled),
    )  # fmt: skip
