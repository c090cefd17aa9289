"""The core group's room hears of every newly filed item: one post each, or one digest.

Filing (from mail, chat or the CLI) only queues a feed entry, inside its own
transaction. The feed waits until the arrivals have been quiet for a moment,
then posts everything waiting in one transaction that also marks it posted:
a few items become a post each (with their documents attached), a burst (200
mails after a weekend offline) becomes one short digest. So each item is
announced exactly once, however the daemon is stopped. A digest ends with the one
``!weiger`` that rejects those of its items awaiting acceptance, so a flood of mail
from outside the partners costs the core group one message
(``daemon/publish/bulk_reject.py``).
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from daemon.clock import Clock
from daemon.i18n import Translator, bilingual, mark
from daemon.model import Item, ItemId, ItemStatus, Meeting
from daemon.ports.outbox import ChannelName, ChatPost, NewEffect
from daemon.publish.bulk_reject import reject_commands, runs, runs_text, through
from daemon.publish.receipts import item_number
from daemon.rules.names import Names
from daemon.safe_text import untrusted, untrusted_html
from daemon.store import Store, Tx
from daemon.store.feed import FeedEntry

log = logging.getLogger("wijkbode.room_feed")

DIGEST_LINES = 40
_RUNS_SHOWN = 12
AWAITING_ONE_COMMAND = mark(
    "{count} of these await acceptance ({numbers}). To reject them all, send this one message:"
)
# 500 is MAX_ITEMS_PER_COMMAND (tests/store/test_room_feed.py checks it).
AWAITING_COMMANDS = mark(
    "{count} of these await acceptance ({numbers}). To reject them all, send these"
    " {commands} messages (at most 500 items each):"
)
# No longer new by the time the feed posts: withdrawn or rejected while the feed waited.
# Their entries are still marked posted, so they never come back.
_NOT_NEW = frozenset({ItemStatus.WITHDRAWN, ItemStatus.REJECTED})


@dataclass(frozen=True, slots=True)
class FeedSettings:
    room: str  # the core group's room
    digest_threshold: int = 5  # this many waiting items or more become one digest
    quiet_seconds: float = 2.0  # wait for a burst to settle (real time)
    max_wait_seconds: float = 20.0  # but never hold a post longer than this
    poll_seconds: float = 10.0  # notice entries written by another process (the CLI)


async def queue_item_post(tx: Tx, key: str, item_id: ItemId, post: ChatPost, now: datetime) -> None:
    """Queue the room post about ``item_id`` in the filing transaction.

    ``key`` becomes the post's outbox key when it goes out on its own.
    """
    await tx.queue_feed_entry(key, item_id, post, now)


class RoomFeed:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        settings: FeedSettings,
        *,
        on_enqueued: Callable[[], None] = lambda: None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._settings = settings
        self._on_enqueued = on_enqueued
        self._arrived = asyncio.Event()

    def wake(self) -> None:
        """Something was queued; post it once arrivals have been quiet for a moment."""
        self._arrived.set()

    async def run(self) -> None:
        while True:
            await _wait(self._arrived, self._settings.poll_seconds)
            await self._settle()
            if await self.flush():
                self._on_enqueued()

    async def _settle(self) -> None:
        """Debounce: keep waiting while entries keep arriving, up to ``max_wait_seconds``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._settings.max_wait_seconds
        while True:
            self._arrived.clear()
            remaining = min(self._settings.quiet_seconds, deadline - loop.time())
            if remaining <= 0 or not await _wait(self._arrived, remaining):
                return

    async def flush(self) -> int:
        """Post everything waiting; returns the number of outbox rows written."""
        async with self._store.transaction() as tx:
            entries = await tx.waiting_feed_entries()
            if not entries:
                return 0
            posts = await self._posts(tx, entries)
            now = self._clock.now()
            for key, post in posts:
                await tx.enqueue(
                    NewEffect(ChannelName.MATRIX, self._settings.room, key, post), now=now
                )
            await tx.mark_feed_posted([e.id for e in entries], now)
        log.info("room feed: %d item(s) posted as %d message(s)", len(entries), len(posts))
        return len(posts)

    async def _posts(self, tx: Tx, entries: list[FeedEntry]) -> list[tuple[str, ChatPost]]:
        shown = await _load(tx, entries)
        if len(shown) >= self._settings.digest_threshold:
            key = f"feed/digest/{entries[0].id}-{entries[-1].id}"
            names = Names(await tx.member_names())
            return [(key, digest([(item, meeting) for _, item, meeting in shown], names))]
        return [(entry.key, entry.post) for entry, _, _ in shown]


async def _load(tx: Tx, entries: list[FeedEntry]) -> list[tuple[FeedEntry, Item, Meeting | None]]:
    loaded = []
    for entry in entries:
        item = await tx.item(entry.item_id)
        if item is None:  # cannot happen with foreign keys on; skip rather than stall the feed
            continue
        if item.status in _NOT_NEW:
            continue
        meeting = await tx.meeting(item.meeting) if item.meeting else None
        loaded.append((entry, item, meeting))
    return loaded


def digest(shown: list[tuple[Item, Meeting | None]], names: Names | None = None) -> ChatPost:
    """One message for a burst: a line per item (the first ``DIGEST_LINES``), no files;
    chat members named by their display names (``names``). When some of them await
    acceptance, it ends with the one ``!weiger`` that rejects all of those (a flood of
    mail from outside the partners costs the core group one message)."""
    known = names or Names()
    lines = [_digest_line(item, meeting, known) for item, meeting in shown[:DIGEST_LINES]]
    more = len(shown) - len(lines)
    awaiting = [item.id for item, _ in shown if item.status is ItemStatus.AWAITING_ACCEPTANCE]

    def render(_: Translator) -> str:
        head = _("{count} new items were filed:", count=len(shown))
        tail = [_("… and {count} more; see !agenda.", count=more)] if more > 0 else []
        rejecting = _rejecting(_, awaiting)
        return "\n".join([head, *(f"• {line}" for line in lines), *tail, *rejecting])

    body = bilingual(render)
    html_lines = [f"<li>{untrusted_html(line, 400)}</li>" for line in lines]

    def render_html(_: Translator) -> str:
        head = _("{count} new items were filed:", count=len(shown))
        tail = f"<p>{_('… and {count} more; see !agenda.', count=more)}</p>" if more > 0 else ""
        rejecting = _rejecting(_, awaiting)
        if rejecting:
            intro, *commands = rejecting
            code = "<br/>".join(f"<code>{command}</code>" for command in commands)
            tail += f"<p>{html.escape(intro, quote=False)}<br/>{code}</p>"
        return f"<p>{head}</p><ul>{''.join(html_lines)}</ul>{tail}"

    html_text = render_html(Translator("nl")) + "<hr>" + render_html(Translator("en"))
    return ChatPost(body=body, html=html_text)


def _rejecting(_: Translator, awaiting: list[ItemId]) -> list[str]:
    """The line saying how many of the burst await acceptance, then the command(s) that
    reject them all (our own text: item numbers only)."""
    if not awaiting:
        return []
    commands = reject_commands(awaiting, _.language)
    numbers = runs_text(runs(awaiting), joiner=through(_.language), limit=_RUNS_SHOWN)
    intro = (
        _(AWAITING_ONE_COMMAND, count=len(awaiting), numbers=numbers)
        if len(commands) == 1
        else _(AWAITING_COMMANDS, count=len(awaiting), numbers=numbers, commands=len(commands))
    )
    return [intro, *commands]


def _digest_line(item: Item, meeting: Meeting | None, names: Names) -> str:
    where = meeting.id if meeting else "—"
    flags = " (te laat / late)" if item.late else ""
    if item.status is ItemStatus.AWAITING_ACCEPTANCE:  # what the digest's !weiger rejects
        flags += " (wacht op acceptatie / awaiting acceptance)"
    return (
        f"{item_number(item.id)} [{item.kind.value}] {untrusted(item.title, 120)}"
        f" — {untrusted(names.of(item.submitter), 80)} → {where}{flags}"
    )


async def _wait(event: asyncio.Event, seconds: float) -> bool:
    """Wait for ``event`` up to ``seconds``; True if it was set."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True
