"""Download tokens are minted in the transaction that enqueues the package's mails.

The real scheduler fires the wijkalliantie's package moment (T-14d) into a real
store: the partners' mails carry links exactly for the tokens stored, a crash
before the commit leaves neither a row nor a token, and a token opens its one
document until the meeting (as it stands) is over.
"""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from test_scheduler import ALLIANTIE, PARTNERS, SETTINGS, local, plan

from daemon.clock import ManualClock
from daemon.engine.scheduler import Scheduler
from daemon.model import ItemStatus, Kind
from daemon.ports.outbox import MailOut
from daemon.publish.package import PackageSettings
from daemon.store import Store
from daemon.store.engine import EngineQueries, JobStatus, SubjectType

BASE = "https://wijkbode.example.org"
LINKS = replace(SETTINGS, package=PackageSettings(attach_max_bytes=1000, base_url=BASE))
PACKAGE_AT = local(2027, 3, 23, 19, 30)  # T-14d of the 6 April meeting
LINK = re.compile(re.escape(BASE) + r"/stukken/([A-Za-z0-9_-]{43})")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "state")
    try:
        yield opened
    finally:
        await opened.close()


async def file_stukken(store: Store, clock: ManualClock) -> dict[str, bytes]:
    """Two stukken with a 2 kB document each, filed in time for the meeting."""
    contents = {"begroting.pdf": b"B" * 2000, "plan.pdf": b"P" * 2000}
    for name, content in contents.items():
        digest = await store.documents.put(content)
        async with store.transaction() as tx:
            item = await tx.add_item(
                kind=Kind.STUK, title=name, submitter="gemeente@example.org",
                received_at=local(2027, 3, 1, 10, 0), meeting_id=ALLIANTIE.id, late=False,
                decision_ready=True, status=ItemStatus.FILED, source="mail",
            )  # fmt: skip
            await tx.add_document(digest, "application/pdf", len(content))
            await tx.attach_document(item.id, digest, name, 1, added_at=clock.now())
    return contents


async def package_mails(store: Store) -> list[MailOut]:
    async with store.reading() as tx:
        rows = await tx.effects()
    return [r.payload for r in rows if isinstance(r.payload, MailOut) and "/stuk/14d/" in r.key]


async def test_links_are_stored_with_the_mails_that_carry_them(store: Store) -> None:
    clock = ManualClock(local(2027, 3, 1, 12, 0))
    await plan(store, clock, ALLIANTIE)
    contents = await file_stukken(store, clock)
    await clock.set(PACKAGE_AT)
    await Scheduler(store, clock, LINKS).fire_due()

    mails = await package_mails(store)
    assert sorted(m.to[0] for m in mails) == sorted(PARTNERS)
    async with store.reading() as tx:
        stored = await tx.download_tokens(ALLIANTIE.id)
    sent = {token for mail in mails for token in LINK.findall(mail.text)}
    assert sent == {t.token for t in stored}
    assert len(sent) == 2 * len(PARTNERS)  # one per document per partner
    for mail in mails:
        assert mail.attachments == ()
    # Each token opens exactly its own document, and only until the meeting is over.
    for token in stored:
        async with store.reading() as tx:
            link = await tx.usable_download(token.token, ALLIANTIE.end - timedelta(minutes=1))
            gone = await tx.usable_download(token.token, ALLIANTIE.end)
        assert link is not None
        assert gone is None
        assert await store.documents.get(link.sha256) == contents[link.filename]
    async with store.reading() as tx:
        assert await tx.usable_download("x" * 43, PACKAGE_AT) is None


async def test_a_crash_before_the_commit_leaves_no_token_and_no_mail(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock(local(2027, 3, 1, 12, 0))
    await plan(store, clock, ALLIANTIE)
    await file_stukken(store, clock)
    await clock.set(PACKAGE_AT)

    async def crash(*args: object, **kwargs: object) -> bool:
        raise SystemExit("killed between the tokens and the job's settling")

    with monkeypatch.context() as patch:
        patch.setattr(EngineQueries, "settle_job", crash)
        with pytest.raises(SystemExit):
            await Scheduler(store, clock, LINKS).fire_due()
    async with store.reading() as tx:
        assert await tx.download_tokens(ALLIANTIE.id) == []
    assert await package_mails(store) == []

    await Scheduler(store, clock, LINKS).fire_due()
    async with store.reading() as tx:
        stored = {t.token for t in await tx.download_tokens(ALLIANTIE.id)}
        jobs = await tx.jobs_of(SubjectType.MEETING, ALLIANTIE.id)
    sent = {token for mail in await package_mails(store) for token in LINK.findall(mail.text)}
    assert sent == stored
    assert len(stored) == 2 * len(PARTNERS)
    assert all(j.status is JobStatus.FIRED for j in jobs if "/stuk/14d/" in j.key)


async def test_a_link_follows_its_meeting_when_it_moves(store: Store) -> None:
    clock = ManualClock(local(2027, 3, 1, 12, 0))
    await plan(store, clock, ALLIANTIE)
    await file_stukken(store, clock)
    await clock.set(PACKAGE_AT)
    await Scheduler(store, clock, LINKS).fire_due()
    async with store.reading() as tx:
        token = (await tx.download_tokens(ALLIANTIE.id))[0].token
    later = replace(ALLIANTIE, start=ALLIANTIE.start + timedelta(days=7),
                    end=ALLIANTIE.end + timedelta(days=7))  # fmt: skip
    async with store.transaction() as tx:
        await tx.sync_meetings([later], at=clock.now())
    async with store.reading() as tx:
        assert await tx.usable_download(token, ALLIANTIE.end + timedelta(days=1)) is not None
        assert await tx.usable_download(token, later.end) is None
