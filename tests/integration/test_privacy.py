"""``wijkbode privacy`` on a state directory filled by the real mail stack: after
``privacy forget`` a byte search of every file in the state directory (the database
with its WAL while a daemon's connection is still open, and the documents) finds
neither the address nor the name, and the items are still there."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest_asyncio
from mailintake import MailWorld, meetings_from_now, message, open_world

from daemon.config import parse_config
from daemon.engine.plan_sync import sync_plan
from daemon.model import ItemStatus, Kind
from daemon.ports.outbox import ChannelName
from daemon.store import Store
from harness.dovecot import DovecotServer, MailAccount
from harness.smtp import CaptureView, SmtpRelay
from tests.integration.clitools import wijkbode

NAME = "Jozefien Bakhuizen"
ADDRESS = "jozefien.bakhuizen@buurt.test"
OTHER = "kees.anders@buurt.test"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest_asyncio.fixture
async def world(
    tmp_path: Path, dovecot: DovecotServer, smtp_relay: SmtpRelay, mailbox_user: MailAccount
) -> AsyncIterator[MailWorld]:
    opened = await open_world(tmp_path, dovecot, smtp_relay, mailbox_user, meetings_from_now(20))
    yield opened
    await opened.close()


def files_containing(directory: Path, *needles: str) -> list[str]:
    """Every file under ``directory`` holding one of ``needles`` (any case, raw bytes)."""
    wanted = [n.lower().encode() for n in needles]
    return sorted(
        f"{path.relative_to(directory)}: {needle.decode()}"
        for path in directory.rglob("*")
        if path.is_file()
        for needle in wanted
        if needle in path.read_bytes().lower()
    )


async def test_forget_leaves_no_trace_in_the_state_directory(
    world: MailWorld, captured_mail: CaptureView
) -> None:
    to = world.account.address
    sender = f"{NAME} <{ADDRESS}>"
    await world.deliver(
        message(
            sender=sender,
            to=to,
            subject="[stuk] Speeltuin",
            text=f"Hierbij het plan.\n\nGroet,\n{NAME}\n",
            attachments=[("plan.pdf", PDF)],
        ),
        mail_from=ADDRESS,
    )
    await world.deliver(
        message(sender=sender, to=to, subject="[agendapunt] Bankjes"), mail_from=ADDRESS
    )
    await world.deliver(message(sender=OTHER, to=to, subject="[agendapunt] Bomen"), OTHER)
    await world.run_once()
    await world.send_receipts()
    await captured_mail.wait_for(lambda m: ADDRESS in str(m["To"]))
    items_before = await world.items()
    assert len(items_before) == 3
    now = datetime.now(UTC)
    async with world.store.transaction() as tx:  # she also reads the residents' mail
        await tx.add_subscriber(
            address=ADDRESS,
            address_hash=hashlib.sha256(ADDRESS.encode()).hexdigest(),
            language="nl",
            confirm_hash=hashlib.sha256(b"bevestig").hexdigest(),
            confirm_expires=now + timedelta(days=2),
            unsubscribe_token=secrets.token_urlsafe(32),
            now=now,
        )
    state = world.config.state_dir
    assert files_containing(state, ADDRESS, NAME), "the search must find them before"
    # As a running daemon's checkpoints do: the rows reach the database file itself, so
    # the forgetting's new pages sit in the WAL beside the old ones in the file.
    await world.store.truncate_wal()
    assert any(f.startswith("wijkbode.sqlite3:") for f in files_containing(state, ADDRESS))
    config = str(world.config.path)

    shown = wijkbode("--config", config, "privacy", "show", ADDRESS, "--name", NAME, "--json")
    assert shown.returncode == 0, shown.stderr
    held = json.loads(shown.stdout)
    assert NAME in held["names"]
    tables = {record["table"] for record in held["records"]}
    assert {"items", "outbox", "mail_handled", "subscribers"} <= tables
    [signed] = [r for r in held["records"] if r["table"] == "items" and "text" in r["values"]]
    assert NAME in signed["values"]["text"]

    # The daemon's connection (the world's store) stays open meanwhile, as in real life.
    forgot = wijkbode("--config", config, "privacy", "forget", ADDRESS, "--name", NAME)
    assert forgot.returncode == 0, forgot.stderr
    assert "is nu verwijderd-1" in forgot.stdout

    assert files_containing(state, ADDRESS, NAME, "jozefien") == []
    items_after = await world.items()
    assert [i.id for i in items_after] == [i.id for i in items_before]
    mine = [i for i in items_after if i.submitter == "verwijderd-1"]
    assert sorted(i.title for i in mine) == ["Bankjes", "Speeltuin"]
    assert all(NAME not in i.text for i in mine)
    assert [i.submitter for i in items_after if i.title == "Bomen"] == [OTHER]
    async with world.store.reading() as tx:
        assert await tx.mentions("verwijderd-1") != []
        assert [m for m in await tx.mentions("") if m.table == "subscribers"] == []
    receipts = await world.effects(ChannelName.MAIL)
    assert {tuple(e.payload.to_dict()["to"]) for e in receipts} >= {("verwijderd-1",), (OTHER,)}

    again = wijkbode("--config", config, "privacy", "show", ADDRESS)
    assert again.returncode == 0, again.stderr
    assert "Er wordt niets bewaard over" in again.stdout
    second = wijkbode("--config", config, "privacy", "forget", OTHER)
    assert "is nu verwijderd-2" in second.stdout


PLAN = """\
timezone = "Europe/Amsterdam"
state_dir = "state"
default_series = "wijkalliantie"

[series.wijkalliantie.plan]
dates = [2019-01-15T19:30:00, 2030-01-15T19:30:00]

[privacy]
keep_documents_years = 3
"""


async def test_purge_removes_the_documents_of_old_meetings(tmp_path: Path) -> None:
    path = tmp_path / "wijkbode.toml"
    path.write_text(PLAN, encoding="utf-8")
    config = parse_config(PLAN, path)
    store = await Store.open(config.state_dir)
    now = datetime.now(UTC)
    await sync_plan(store, config, now)
    hashes = []
    async with store.transaction() as tx:
        old, new = sorted(await tx.meetings(), key=lambda m: m.start)
        for meeting, content in ((old, b"%PDF notulen 2019"), (new, b"%PDF begroting 2030")):
            item = await tx.add_item(
                kind=Kind.STUK, title=f"Stuk {meeting.id}", submitter="iemand@buurt.test",
                received_at=now, meeting_id=meeting.id, late=False, decision_ready=True,
                status=ItemStatus.FILED, source="mail",
            )  # fmt: skip
            sha = await store.documents.put(content)
            await tx.add_document(sha, "application/pdf", len(content))
            await tx.attach_document(item.id, sha, "stuk.pdf", 1, added_at=now)
            hashes.append(sha)
    await store.close()

    result = wijkbode("--config", str(path), "privacy", "purge")
    assert result.returncode == 0, result.stderr
    assert "1 bestanden verwijderd" in result.stdout
    documents = config.state_dir / "documents"
    assert not (documents / hashes[0][:2] / hashes[0]).exists()
    assert (documents / hashes[1][:2] / hashes[1]).exists()
    store = await Store.open(config.state_dir, create=False)
    try:
        async with store.reading() as tx:
            items = [i for m in await tx.meetings() for i in await tx.items_for_meeting(m.id)]
    finally:
        await store.close()
    assert sorted((i.title, len(i.documents)) for i in items) == [
        (f"Stuk {old.id}", 0),
        (f"Stuk {new.id}", 1),
    ]


async def test_purge_without_a_retention_says_so(tmp_path: Path) -> None:
    path = tmp_path / "wijkbode.toml"
    path.write_text(PLAN.replace("keep_documents_years = 3", ""), encoding="utf-8")
    result = wijkbode("--config", str(path), "privacy", "purge")
    assert result.returncode == 2
    assert "geen bewaartermijn ingesteld" in result.stderr
    assert "(no retention set" in result.stderr
    assert "Traceback" not in result.stderr
