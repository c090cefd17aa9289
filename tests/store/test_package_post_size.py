"""A stukken package of a large meeting fits one Matrix event (bench/soak.py found it didn't).

The real scheduler fires the wijkalliantie's package moment (T-14d) for a meeting of
200 stukken, each with its own document, into a real store. Every chat post it
enqueues stays under the Matrix content limit (the homeserver refuses an event over
64 KiB with M_TOO_LARGE, and the outbox would park the post: a message lost), still
names the meeting and the count, and still carries every file; the partners' mail
lists every document and its subject stays readable.
"""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from test_scheduler import ALLIANTIE, CORE, PARTNERS, SETTINGS, local, plan

from daemon.clock import ManualClock
from daemon.engine.scheduler import Scheduler
from daemon.model import ItemStatus, Kind
from daemon.ports.chat_limit import MATRIX_CONTENT_LIMIT, matrix_content_size
from daemon.ports.outbox import ChannelName, ChatPost, MailOut, NewEffect
from daemon.publish.messages import SUBJECT_LIMIT
from daemon.store import Store

ITEMS = 200
PACKAGE_AT = local(2027, 3, 23, 19, 30)  # T-14d of the 6 April meeting
# Long titles and file names, as a municipality sends them (both are capped at 120).
TITLE = "Uitvoeringsprogramma openbare ruimte, herinrichting en groenbeheer, deelnota {n:03d} "
FILENAME = "bijlage-{n:03d}-uitvoeringsprogramma-openbare-ruimte-herinrichting-groenbeheer.pdf"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "state")
    try:
        yield opened
    finally:
        await opened.close()


async def file_many(store: Store, clock: ManualClock) -> None:
    for n in range(ITEMS):
        content = f"document {n}".encode() * 50
        digest = await store.documents.put(content)
        async with store.transaction() as tx:
            item = await tx.add_item(
                kind=Kind.STUK, title=TITLE.format(n=n) * 2, submitter="gemeente@example.org",
                received_at=local(2027, 3, 1, 10, 0), meeting_id=ALLIANTIE.id, late=False,
                decision_ready=True, status=ItemStatus.FILED, source="mail",
            )  # fmt: skip
            await tx.add_document(digest, "application/pdf", len(content))
            await tx.attach_document(item.id, digest, FILENAME.format(n=n), 1, added_at=clock.now())


async def test_a_package_of_200_stukken_fits_one_matrix_event(store: Store) -> None:
    clock = ManualClock(local(2027, 3, 1, 12, 0))
    await plan(store, clock, ALLIANTIE)
    await file_many(store, clock)
    await clock.set(PACKAGE_AT)
    await Scheduler(store, clock, SETTINGS).fire_due()

    async with store.reading() as tx:
        rows = [r for r in await tx.effects() if "/stuk/14d/" in r.key]
    posts = [r.payload for r in rows if isinstance(r.payload, ChatPost)]
    mails = [r.payload for r in rows if isinstance(r.payload, MailOut)]
    assert [r.destination for r in rows if isinstance(r.payload, ChatPost)] == [CORE]
    for post in posts:
        assert matrix_content_size(post.body, post.html) < MATRIX_CONTENT_LIMIT
        assert ALLIANTIE.title in post.body
        assert f"{ITEMS} documenten" in post.body
        assert f"{ITEMS} documents" in post.body
        # The listing is shortened, in both languages (the mail has the whole list).
        assert re.search(r"… en nog \d+\.", post.body)
        assert re.search(r"… and \d+ more\.", post.body)
        assert len(post.documents) == ITEMS  # every file is still posted
    assert sorted(m.to[0] for m in mails) == sorted(PARTNERS)
    for mail in mails:
        assert len(mail.subject) <= SUBJECT_LIMIT
        assert "\n" not in mail.subject
        # The mail lists the whole package (the room's post refers to it).
        assert all(FILENAME.format(n=n) in mail.text for n in range(ITEMS))


async def test_the_store_shortens_any_chat_post_too_large_for_one_event(store: Store) -> None:
    """The last guard: whatever builds a post, the outbox row fits one Matrix event."""
    lines = [f"- WB-{n} {TITLE.format(n=n)}" for n in range(2000)]
    post = ChatPost(body="\n".join(lines), html="<p>" + "<br/>".join(lines) + "</p>")
    async with store.transaction() as tx:
        await tx.enqueue(NewEffect(ChannelName.MATRIX, CORE, "test/large", post), now=PACKAGE_AT)
    async with store.reading() as tx:
        stored = await tx.effect_by_key("test/large")
    assert stored is not None
    assert isinstance(stored.payload, ChatPost)
    assert matrix_content_size(stored.payload.body, stored.payload.html) <= MATRIX_CONTENT_LIMIT
    assert stored.payload.body.startswith(lines[0])
    assert stored.payload.body.endswith("… ingekort (shortened)")
