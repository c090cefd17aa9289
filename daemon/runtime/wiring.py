"""The composition root: which components a configuration asks for, built and connected.

Connectors are imported here, inside the functions that build them, so the
rest of the core never depends on an outside system's library and a
deployment without (say) CalDAV never loads caldav.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from daemon.clock import Clock, SystemClock
from daemon.config import Config, load_config
from daemon.config.schema import CaldavConfig, HttpConfig, MailConfig, MatrixConfig
from daemon.engine.outbox import Outbox
from daemon.engine.plan_sync import sync_plan
from daemon.engine.planning import PlanningReader
from daemon.engine.polls import PollCloser, PollSettings
from daemon.engine.scheduler import EngineSettings, Scheduler
from daemon.errors import ConfigError
from daemon.health import Health
from daemon.ports.outbox import Channel
from daemon.ports.probe import Probe
from daemon.publish.room_feed import FeedSettings, RoomFeed
from daemon.runtime.app import Components, Runner
from daemon.runtime.memory import trim_memory_periodically
from daemon.store import Store

if TYPE_CHECKING:
    from connectors.http import FeedService, HttpService, RouteTable
    from connectors.http.page import PageService
    from connectors.http.status import StatusService
    from connectors.matrix.setup import MatrixParts
    from daemon.ports.public import PublicMeeting
    from daemon.publish.public_timer import PublicTimer
    from daemon.publish.subscription_desk import Desk
    from daemon.publish.subscriptions import SubscriptionLinks

# The public feed's calendar name when no CalDAV calendar name is configured.
DEFAULT_FEED_NAME = "Wijkagenda"

log = logging.getLogger("wijkbode.wiring")


async def build_components(
    config: Config, store: Store, clock: Clock, resources: AsyncExitStack
) -> Components:
    changes, replanned = await sync_plan(store, config, clock.now(), daemon_effects=True)
    log.info(
        "plan: %d added, %d moved, %d cancelled, %d removed;"
        " jobs: %d added, %d moved, %d cancelled",
        len(changes.added), len(changes.moved), len(changes.cancelled), len(changes.removed),
        len(replanned.added), len(replanned.moved), len(replanned.cancelled),
    )  # fmt: skip
    health = Health()  # each part's last success and the counters, for /healthz and /metrics
    matrix = _matrix(config, store, resources, health)
    public = await _public_site(config, store, clock, resources, health)
    channels = await _channels(config, store, resources, matrix, clock)
    if public is not None:
        channels.append(public.channel)
    # A channel that can deliver to several destinations at once says how many (SMTP
    # sessions); the others deliver one row at a time.
    parallel = {c.name: int(getattr(c, "parallel", 1)) for c in channels}
    outbox = Outbox(store, clock, channels, health=health, parallel=parallel)
    if public is not None and public.desk is not None:
        public.desk.on_enqueued = outbox.wake  # a confirmation mail to send
    scheduler = Scheduler(store, clock, EngineSettings.from_config(config), on_enqueued=outbox.wake)
    feed = _room_feed(config, store, clock, outbox)
    components = Components()
    components.engine += [scheduler.run, *outbox.runners(), trim_memory_periodically]
    if public is not None:
        components.engine.append(public.timer.run)
        components.intake.append(public.service.serve)  # stops first: no new requests
        if public.desk is not None:
            components.engine.append(public.desk.run)  # expired confirmations deleted
    if feed is not None:
        components.engine.append(feed.run)
    planning = _planning_reader(config, store, clock, resources, scheduler, outbox, public)
    if planning is not None:
        components.intake.append(planning.run)
    polls = _poll_closer(config, store, clock, scheduler, outbox, public)
    components.engine.append(polls.run)
    components.intake.append(
        _reload_on_sighup(
            config.path, config.state_dir, store, clock, scheduler, planning, public, polls
        )
    )
    components.intake += _chat_intake(
        config, store, clock, matrix, outbox, scheduler, feed, public, polls
    )
    components.intake += _mail_intake(config, store, clock, resources, outbox, feed, public, health)
    return components


def _room_feed(config: Config, store: Store, clock: Clock, outbox: Outbox) -> RoomFeed | None:
    """Posts of newly filed items in the core room, when there is one."""
    if config.matrix is None or config.matrix.core_room is None:
        return None
    settings = FeedSettings(config.matrix.core_room, config.matrix.digest_threshold)
    return RoomFeed(store, clock, settings, on_enqueued=outbox.wake)


def _after_filing(
    outbox: Outbox, feed: RoomFeed | None, public: PublicSite | None = None
) -> Callable[[], None]:
    def wake() -> None:
        outbox.wake()
        if feed is not None:
            feed.wake()
        if public is not None:
            public.invalidate()  # the page lists the agenda

    return wake


async def _channels(
    config: Config,
    store: Store,
    resources: AsyncExitStack,
    matrix: MatrixParts | None = None,
    clock: Clock | None = None,
) -> list[Channel]:
    channels: list[Channel] = []
    if matrix is not None:
        from daemon.engine.direct_chat import DirectChat

        # An afspraak's reminder to a member goes to the direct chat opened with them.
        channels.append(DirectChat(matrix.channel, matrix.client, store, clock or SystemClock()))
    if config.mail is not None:
        channels.append(_smtp_channel(config, store, resources))
    if config.caldav is not None:
        channels.append(await _caldav_channel(config, resources))
    return channels


def _smtp_channel(config: Config, store: Store, resources: AsyncExitStack) -> Channel:
    from connectors.smtp import SmtpChannel

    assert config.mail is not None
    channel = SmtpChannel(config.mail, store.documents)
    resources.push_async_callback(channel.close)
    if config.http is not None and config.http.subscriptions:
        from daemon.engine.subscriber_mail import SubscriberMail

        # A residents' subscriber's mail is addressed when it goes out (never stored).
        return SubscriberMail(channel, store, _subscription_links(config))
    return channel


def _mail_intake(
    config: Config,
    store: Store,
    clock: Clock,
    resources: AsyncExitStack,
    outbox: Outbox,
    feed: RoomFeed | None,
    public: PublicSite | None = None,
    health: Health | None = None,
) -> list[Runner]:
    """The IMAP intake (with its parser worker) when ``[mail]`` is configured."""
    if config.mail is None:
        return []
    from connectors.imap import ImapMailSource, ResilientMailSource
    from connectors.mail.worker import MailParser
    from daemon.mail import IntakeSettings, MailIntake

    settings = IntakeSettings.from_config(config)
    if not isinstance(clock, SystemClock):
        # A demo clock runs elsewhere in time than the mail server's INTERNALDATE.
        settings = replace(settings, received_at_from_clock=True)
    parser = MailParser(
        our_address=settings.our_address,
        limits=settings.limits,
        timeout=config.mail.limits.parse_timeout_seconds,
    )
    resources.push_async_callback(parser.close)
    imap = config.mail.imap
    if health is not None:
        # An IDLE round or a poll succeeds at least this often while the server is there.
        health.watch("imap", within=3 * max(imap.idle_renew_seconds, imap.poll_seconds) + 60)
    source = ResilientMailSource(ImapMailSource(imap), health=health)
    resources.push_async_callback(source.close)
    intake = MailIntake(
        store, source, parser, clock, settings, on_enqueued=_after_filing(outbox, feed, public)
    )
    return [intake.run]


async def _caldav_channel(config: Config, resources: AsyncExitStack) -> Channel:
    from connectors.calendar.on_demand import OnDemandCaldavChannel

    assert config.caldav is not None
    channel = OnDemandCaldavChannel(config.caldav, config.timezone)
    resources.push_async_callback(channel.close)
    return channel


def _planning_reader(
    config: Config,
    store: Store,
    clock: Clock,
    resources: AsyncExitStack,
    scheduler: Scheduler,
    outbox: Outbox,
    public: PublicSite | None = None,
) -> PlanningReader | None:
    """The reader of ``[caldav] planning_calendar``, when one is configured."""
    if config.caldav is None or config.caldav.planning_calendar is None:
        return None
    from connectors.calendar.planning import CaldavPlanningCalendar

    calendar = CaldavPlanningCalendar(config.caldav, config.timezone)
    resources.push_async_callback(calendar.close)

    def changed() -> None:
        scheduler.wake()
        outbox.wake()
        if public is not None:
            public.invalidate()  # the page and feed show the meetings' times

    return PlanningReader(store, clock, calendar, config, on_changed=changed)


def _matrix(
    config: Config, store: Store, resources: AsyncExitStack, health: Health | None = None
) -> MatrixParts | None:
    """The Matrix client and its outbox channel when ``[matrix]`` is configured."""
    if config.matrix is None:
        return None
    from connectors.matrix.setup import matrix_parts

    if health is not None:
        # A sync returns at least every 30 s (its long-poll timeout) while the server is there.
        health.watch("matrix", within=300)
    return matrix_parts(config, store, resources, health)


def _chat_intake(
    config: Config,
    store: Store,
    clock: Clock,
    matrix: MatrixParts | None,
    outbox: Outbox,
    scheduler: Scheduler,
    feed: RoomFeed | None,
    public: PublicSite | None = None,
    polls: PollCloser | None = None,
) -> list[Runner]:
    """The chat intake (filing, afspraken, commands) on the Matrix client."""
    if matrix is None:
        return []
    from daemon.chat.intake import ChatIntake, ChatIntakeSettings

    settings = ChatIntakeSettings.from_config(config)
    from daemon.chat.chat_decisions import DecisionSettings

    # The partners and weights the decision commands need (issue 12).
    settings = replace(settings, decisions=DecisionSettings.from_config(config))
    if not isinstance(clock, SystemClock):
        # A demo clock runs elsewhere in time than the homeserver's timestamps.
        settings = replace(settings, received_at_from_clock=True)

    after_filing = _after_filing(outbox, feed, public)

    def committed() -> None:
        after_filing()
        scheduler.wake()
        if polls is not None:
            polls.wake()  # a poll closed by command, or answered by everyone

    intake = ChatIntake(
        matrix.client, store, clock, settings, on_committed=committed, ready=matrix.ready
    )
    return [intake.run]


def _poll_closer(
    config: Config,
    store: Store,
    clock: Clock,
    scheduler: Scheduler,
    outbox: Outbox,
    public: PublicSite | None = None,
) -> PollCloser:
    """Closes the core room's polls at their end (issue 12); a moved meeting replans."""

    def closed() -> None:
        outbox.wake()
        scheduler.wake()
        if public is not None:
            public.invalidate()  # a date poll may have moved a meeting

    return PollCloser(store, clock, PollSettings.from_config(config), config, on_closed=closed)


def _reload_on_sighup(
    path: Path,
    state_dir: Path,
    store: Store,
    clock: Clock,
    scheduler: Scheduler,
    planning: PlanningReader | None = None,
    public: PublicSite | None = None,
    polls: PollCloser | None = None,
) -> Runner:
    async def run() -> None:
        hup = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, hup.set)
        try:
            while True:
                await hup.wait()
                hup.clear()
                config = await _reload_plan(path, state_dir, store, clock, scheduler)
                if public is not None:
                    public.reconfigure(config)  # what is public may have changed
                if polls is not None and config is not None:
                    polls.reconfigure(config)  # a date poll moves the reloaded plan
                if planning is not None:
                    if config is not None:
                        planning.reconfigure(config)
                    planning.wake()  # and read the planning calendar now
        finally:
            loop.remove_signal_handler(signal.SIGHUP)

    return run


async def _reload_plan(
    path: Path, state_dir: Path, store: Store, clock: Clock, scheduler: Scheduler
) -> Config | None:
    """SIGHUP: read the plan again; other changes (servers, rooms) need a restart."""
    try:
        config = load_config(path, state_dir_override=state_dir)
    except ConfigError as error:
        log.error("configuratie niet herladen / config not reloaded: %s", error)
        return None
    # Jobs are fired with the rules they were planned by (a series added, an offset changed).
    scheduler.reconfigure(EngineSettings.from_config(config))
    changes, _ = await sync_plan(store, config, clock.now(), daemon_effects=True)
    scheduler.wake()
    log.info(
        "plan herladen / plan reloaded: %d added, %d moved, %d cancelled, %d removed",
        len(changes.added), len(changes.moved), len(changes.cancelled), len(changes.removed),
    )  # fmt: skip
    return config


# --- the public HTTP side ([http]): the feed, and the routes of the page and probes ---


@dataclass
class PublicSite:
    """The ``[http]`` side: the listener, the calendar feed and its outbox channel, and the
    timer that refreshes what changes by time alone. ``invalidate()`` drops every cached
    render (the feed's, and each one in ``caches``: the page adds its own there)."""

    config: Config  # replaced on SIGHUP: visibility and titles follow the reloaded file
    service: HttpService
    feed: FeedService
    channel: Channel
    timer: PublicTimer
    caches: list[Callable[[], None]] = field(default_factory=list)
    desk: Desk | None = None  # the residents' mail subscriptions, with [http] subscriptions

    def invalidate(self) -> None:
        self.feed.invalidate()
        for drop in self.caches:
            drop()

    def reconfigure(self, config: Config | None) -> None:
        if config is not None:
            self.config = config
        self.invalidate()
        self.timer.wake()


async def _public_site(
    config: Config,
    store: Store,
    clock: Clock,
    resources: AsyncExitStack,
    health: Health | None = None,
) -> PublicSite | None:
    """The HTTP service when ``[http]`` is configured, bound now (an address in use is a
    clear error before anything runs) and closed with the daemon."""
    if config.http is None:
        return None
    from connectors.http import FeedChannel, FeedService, FeedSettings, HttpService
    from daemon.publish.public_timer import PublicTimer
    from daemon.publish.public_view import public_series, public_view

    http = config.http
    site: PublicSite | None = None

    def current() -> Config:
        return config if site is None else site.config

    async def meetings() -> list[PublicMeeting]:
        return await public_view(store, current(), clock.now())

    def invalidate() -> None:
        if site is not None:
            site.invalidate()

    name = DEFAULT_FEED_NAME if config.caldav is None else config.caldav.calendar
    feed = FeedService(
        meetings,
        lambda: {str(sid): title for sid, title in public_series(current()).items()},
        FeedSettings(name=name, tz=config.timezone, base_url=http.public_url),
        clock.now,
    )
    page, status = _page_and_status(config, store, clock, current, feed, health or Health())
    from connectors.http.downloads import DownloadService

    # /stukken/<token>: a package document by its link (only with a stored, unexpired token).
    downloads = DownloadService(store, clock.now)
    routes: list[RouteTable] = [feed.routes(), page.routes(), status.routes(), downloads.routes()]
    desk = _subscription_desk(config, store, clock, page.pages) if http.subscriptions else None
    if desk is not None:
        from connectors.http.ratelimit import RateLimit
        from connectors.http.subscribe import SubscribeService

        limit = RateLimit(http.subscribe_per_client_per_hour, http.subscribe_per_hour)
        routes.append(SubscribeService(desk, limit, page.csp).routes())
    service = HttpService(http.host, http.port, routes, not_found_page=page.not_found)
    try:
        await service.start()
    except OSError as error:
        raise ConfigError(
            f"{config.where('http.listen')}: {http.listen} kan niet geopend worden: "
            f"{error.strerror or error} (cannot listen on {http.listen})"
        ) from None
    resources.push_async_callback(service.stop)
    timer = PublicTimer(store, clock, current, invalidate)
    site = PublicSite(
        config,
        service,
        feed,
        FeedChannel(store, invalidate),
        timer,
        caches=[page.invalidate, status.invalidate],
        desk=desk,
    )
    return site


def _subscription_links(config: Config) -> SubscriptionLinks:
    from daemon.publish.subscriptions import SubscriptionLinks

    assert config.http is not None
    http = config.http
    return SubscriptionLinks((http.public_url or f"http://{http.listen}").rstrip("/"))


def _subscription_desk(config: Config, store: Store, clock: Clock, pages: object) -> Desk:
    """Sign-up, confirmation and unsubscribing behind the page's form (needs [mail])."""
    from daemon.publish.public_page import PageComposer
    from daemon.publish.subscription_desk import Desk

    assert config.mail is not None
    assert isinstance(pages, PageComposer)
    domain = config.mail.address.rpartition("@")[2]
    return Desk(store, clock.now, pages, _subscription_links(config), domain)


def _page_and_status(
    config: Config,
    store: Store,
    clock: Clock,
    current: Callable[[], Config],
    feed: FeedService,
    health: Health,
) -> tuple[PageService, StatusService]:
    """The page at / and /en (and the 404 page), /healthz, and /metrics if switched on."""
    from connectors.http.page import PageService
    from connectors.http.status import StatusService
    from daemon.publish.metrics import metrics_text
    from daemon.publish.public_page import Languages, PageComposer, SiteLinks
    from daemon.publish.public_view import public_view
    from daemon.rules.visibility import Surface
    from daemon.store.metrics import store_figures

    assert config.http is not None
    http = config.http

    async def meetings() -> list[PublicMeeting]:
        return await public_view(store, current(), clock.now(), surface=Surface.PUBLIC_PAGE)

    async def metrics() -> str:
        async with store.reading() as tx:
            figures = await store_figures(tx)
        counters = dict(health.counters())
        counters[("feed_requests", ())] = feed.stats.requests
        counters[("feed_not_modified", ())] = feed.stats.not_modified
        return metrics_text(figures, counters, health.report(), clock.now())

    base_url = http.public_url or f"http://{http.listen}"
    languages = Languages(http.languages, None if http.locale_dir is None else str(http.locale_dir))
    composer = PageComposer(
        SiteLinks(base_url.rstrip("/")), config.timezone, languages, http.subscriptions
    )
    page = PageService(meetings, composer, clock.now)
    status = StatusService(store, health, metrics if http.metrics else None)
    return page, status


# --- connection probes (``check-config --connect``, ``init``) ---


def connection_probes(config: Config) -> dict[str, Probe]:
    """One probe per configured outside system, by section name, in the file's order."""
    sections: dict[str, MatrixConfig | MailConfig | CaldavConfig | HttpConfig | None] = {
        "matrix": config.matrix,
        "mail": config.mail,
        "caldav": config.caldav,
        "http": config.http,
    }
    return {
        name: section_probe(section, config.state_dir)
        for name, section in sections.items()
        if section is not None
    }


def section_probe(
    section: MatrixConfig | MailConfig | CaldavConfig | HttpConfig, state_dir: Path
) -> Probe:
    """The probe of one section, for ``init`` testing each answer as it goes."""
    from connectors.probe import section_probe as probe_of

    return probe_of(section, state_dir)
