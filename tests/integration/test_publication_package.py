"""The stukken package and the paper folder on the real daemon, Synapse, the SMTP relay
and the HTTP service.

Two wijkalliantie meetings a week apart and a bewonersbijeenkomst between them; the
package limit is set to 60 kB. The first meeting's package (20 kB) reaches the
partner attached; the second's (70 kB) as one download link per document. A stuk
filed after the first meeting's deadline moved to the second and is listed there as
niet besluitrijp, its document in no package. The core room gets every package's
files, and the folder; the core group's mail address gets the folder too.

The links download exactly the stored bytes while the meeting is ahead and are a 404
after it (the simulated clock moved past it), like an unknown token. The folder PDF
opens (pdftoppm), holds the date (pdftotext) and its QR code decodes (zbarimg) to the
page's address; ``wijkbode folder`` renders the same.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from clitools import ROOT, wijkbode
from daemon_runner import PARTNER, RESIDENTS, ChatSide, DaemonRunner, local, make_world, q

from daemon.config import load_config
from daemon.engine.plan_sync import sync_plan
from daemon.filing.submission import FilingRules, IncomingDocument, Submission, file_submission
from daemon.model import Kind, SeriesId
from daemon.ports.chat import IDEMPOTENCY_CONTENT_KEY
from daemon.ports.outbox import Effect, EffectStatus, MailOut
from daemon.store import Store
from harness.demo_pdf import tiny_pdf
from harness.dovecot import DovecotServer
from harness.ports import free_port
from harness.smtp import CapturedMail, SmtpRelay
from harness.synapse import SynapseServer

_TOOLS_MISSING = not all(shutil.which(tool) for tool in ("pdftoppm", "pdftotext", "zbarimg"))
_NEEDS_TOOLS = "needs poppler-utils and zbar-tools (scripts/bootstrap installs them)"
# Locally a missing tool skips with the reason; in CI, where bootstrap installs them, it
# fails, so a broken install can never pass as a skip.
pytestmark = pytest.mark.skipif(
    _TOOLS_MISSING and os.environ.get("CI") != "true", reason=_NEEDS_TOOLS
)

SPEED = 43_200  # half a simulated day per real second
START = local("2027-02-23T12:00:00")  # before the first package (19:30 that day)
LIMIT = 60_000  # bytes: [mail.limits] package_attach_max_bytes
CORE = "kerngroep@buurt.test"  # [mail] core_address (captured by the relay)
W1 = "wijkalliantie-2027-03-09"  # small package: attached
W2 = "wijkalliantie-2027-03-16"  # large package: links
B = "bewonersbijeenkomst-2027-03-11"  # the folder at T-14d (25 February)

SERIES = """\
[series.wijkalliantie]
title = "Wijkalliantie"
public = true
location = "Buurthuis De Punt"

[series.wijkalliantie.plan]
dates = [2027-03-09T19:30:00, 2027-03-16T19:30:00]

[series.bewonersbijeenkomst]
title = "Bewonersbijeenkomst"
public = true
location = "Buurthuis De Punt, Lindenplein 1"

[series.bewonersbijeenkomst.plan]
dates = [2027-03-11T19:00:00]
"""

DOCUMENTS = {
    "begroting.pdf": tiny_pdf("Begroting buurthuis", b"b" * 20_000),
    "verkeersplan.pdf": tiny_pdf("Verkeersplan Lindenlaan", b"v" * 40_000),
    "groen.pdf": tiny_pdf("Groen in de straat", b"g" * 30_000),
    "te-laat.pdf": tiny_pdf("Te laat", b"t" * 10_000),
}


async def test_the_stukken_package_reaches_partners_and_room_and_the_folder_the_core_group(
    tmp_path: Path, dovecot: DovecotServer, smtp_relay: SmtpRelay, synapse: SynapseServer
) -> None:
    world = await make_world(
        ("mail", "matrix"), tmp_path / "secrets", dovecot=dovecot, relay=smtp_relay,
        synapse=synapse,
    )  # fmt: skip
    assert world.mail is not None
    assert world.chat is not None
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    text = world.config(SERIES, default_series="wijkalliantie")
    residents = f"residents_address = {q(RESIDENTS)}\n"
    assert residents in text
    text = text.replace(residents, f"{residents}core_address = {q(CORE)}\n", 1)
    text += (
        f"\n[mail.limits]\npackage_attach_max_bytes = {LIMIT}\n\n"
        f'[http]\nlisten = "127.0.0.1:{port}"\npublic_url = {q(base)}\n'
    )
    runner = DaemonRunner(tmp_path, text, start=START, speed=SPEED)
    numbers = await file_items(runner)

    try:
        runner.start()
        await runner.wait_running()
        wanted = [
            package_key(W1, "mail", PARTNER),
            package_key(W2, "mail", PARTNER),
            f"job/meeting/{B}/folder/14d/mail/{CORE}",
        ]
        await runner.wait_until(lambda: delivered(runner, wanted), "the packages and the folder")
        room_wanted = [k for k in await keys_of(runner) if "/matrix/" in k and _ours(k)]
        await runner.wait_until(lambda: delivered(runner, room_wanted), "the room's posts")
        effects = {e.key: e for e in await runner.effects()}
        await runner.stop()
    finally:
        runner.ensure_stopped()
    assert "Traceback" not in runner.log(), runner.log()[-3000:]
    captured = {m.message["Message-ID"]: m for m in world.mail.captured()}

    # The small package: attached, no links.
    small = mail_of(effects[package_key(W1, "mail", PARTNER)], captured)
    assert attachments(small) == {"begroting.pdf": DOCUMENTS["begroting.pdf"]}
    assert "/stukken/" not in body(small)
    assert "als bijlage bij deze mail" in body(small)

    # The large package: one link per document, no attachment; the late stuk is marked.
    large = mail_of(effects[package_key(W2, "mail", PARTNER)], captured)
    assert attachments(large) == {}
    links = re.findall(re.escape(base) + r"/stukken/[A-Za-z0-9_-]+", body(large))
    assert len(set(links)) == 2
    assert "eigen downloadlink" in body(large)
    late = f"WB-{numbers['Te laat']} Te laat: na de termijn binnengekomen"
    assert "Niet besluitrijp, niet in het pakket:" in body(large)
    assert late in body(large)
    assert "te-laat.pdf" not in body(large)

    # The core room: every package's files, and the folder.
    files = await room_files(world.chat, runner)
    assert files[W1] == {"begroting.pdf": DOCUMENTS["begroting.pdf"]}
    assert files[W2] == {n: DOCUMENTS[n] for n in ("verkeersplan.pdf", "groen.pdf")}
    assert list(files[B]) == [f"folder-{B}.pdf"]

    # The links download the right bytes before the meeting, and nothing else is there.
    runner.jump_to(local("2027-03-05T12:00:00"))
    try:
        runner.start()
        await runner.wait_running()
        got = {}
        for link in links:
            status, content, headers = await fetch(link)
            assert status == 200
            assert headers.get("Cache-Control") == "private, no-store"
            got[content] = headers.get("Content-Disposition", "")
        assert set(got) == {DOCUMENTS["verkeersplan.pdf"], DOCUMENTS["groen.pdf"]}
        assert 'filename="verkeersplan.pdf"' in got[DOCUMENTS["verkeersplan.pdf"]]
        for stranger in (f"{base}/stukken/{secrets.token_urlsafe(32)}", f"{base}/stukken/"):
            assert (await fetch(stranger))[0] == 404
        await runner.stop()
    finally:
        runner.ensure_stopped()
    assert "download: document" in runner.log()
    assert not any(link.rpartition("/")[2] in runner.log() for link in links)

    # After the meeting: the same links are a 404.
    runner.jump_to(local("2027-03-17T12:00:00"))
    try:
        runner.start()
        await runner.wait_running()
        for link in links:
            assert (await fetch(link))[0] == 404
        await runner.stop()
    finally:
        runner.ensure_stopped()

    # The folder, as the core group's mail got it and as `wijkbode folder` renders it.
    folder_mail = mail_of(effects[f"job/meeting/{B}/folder/14d/mail/{CORE}"], captured)
    mailed = attachments(folder_mail)[f"folder-{B}.pdf"]
    assert files[B][f"folder-{B}.pdf"] == mailed
    assert_folder(mailed, tmp_path / "mailed", f"{base}/", agenda=True)
    out = tmp_path / "folder.pdf"
    result = await asyncio.to_thread(
        wijkbode, "--config", str(runner.config_path), "folder", B, "--out", str(out), cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    # Rendered today (2026), long before the announcement: no agenda yet, as on the page.
    assert_folder(out.read_bytes(), tmp_path / "cli", f"{base}/", agenda=False)
    private = await asyncio.to_thread(
        wijkbode, "--config", str(runner.config_path), "folder", "nergens-2027-01-01",
        "--out", str(tmp_path / "x.pdf"), cwd=ROOT,
    )  # fmt: skip
    assert private.returncode == 2
    assert "bestaat niet (meeting nergens-2027-01-01 does not exist)" in private.stderr
    assert "Traceback" not in private.stderr


# --- filing and reading back --------------------------------------------------------


async def file_items(runner: DaemonRunner) -> dict[str, int]:
    """The items with their documents, filed as mail would file them (received_at given)."""
    config = load_config(runner.config_path)
    wa, bb = SeriesId("wijkalliantie"), SeriesId("bewonersbijeenkomst")
    filings = [
        (Kind.STUK, "Begroting buurthuis", "02-10", wa, date(2027, 3, 9), "begroting.pdf"),
        (Kind.STUK, "Verkeersplan Lindenlaan", "02-20", wa, date(2027, 3, 16), "verkeersplan.pdf"),
        (Kind.AGENDAPUNT, "Groen in de straat", "02-20", wa, date(2027, 3, 16), "groen.pdf"),
        # After W1's stuk deadline (23 February 19:30): late, it moves on to W2.
        (Kind.STUK, "Te laat", "02-24", wa, date(2027, 3, 9), "te-laat.pdf"),
        (Kind.AGENDAPUNT, "Speeltuin Lindenplein", "02-01", bb, date(2027, 3, 11), None),
    ]  # received at 10:00 that day in 2027
    store = await Store.open(config.state_dir, create=True)
    numbers: dict[str, int] = {}
    try:
        await sync_plan(store, config, START)
        rules = FilingRules.from_config(config)
        for kind, title, at, series, on, name in filings:
            documents: tuple[IncomingDocument, ...] = ()
            if name is not None:
                content = DOCUMENTS[name]
                digest = await store.documents.put(content)
                documents = (IncomingDocument(digest, name, "application/pdf", len(content)),)
            submission = Submission(
                kind, title, PARTNER, local(f"2027-{at}T10:00"), "mail", series=series, on_date=on,
                documents=documents,
            )  # fmt: skip
            async with store.transaction() as tx:
                filed = await file_submission(tx, submission, rules)
            numbers[title] = int(filed.item.id)
            if title == "Te laat":
                assert filed.item.late
                assert str(filed.item.meeting) == W2
    finally:
        await store.close()
    return numbers


def package_key(meeting: str, channel: str, destination: str) -> str:
    return f"job/meeting/{meeting}/stuk/14d/{channel}/{destination}"


def _ours(key: str) -> bool:
    return any(key.startswith(f"job/meeting/{m}/stuk/14d/") for m in (W1, W2)) or (
        key.startswith(f"job/meeting/{B}/folder/14d/")
    )


async def keys_of(runner: DaemonRunner) -> list[str]:
    return [e.key for e in await runner.effects()]


async def delivered(runner: DaemonRunner, keys: list[str]) -> bool:
    status = {e.key: e.status for e in await runner.effects()}
    return all(status.get(key) is EffectStatus.DELIVERED for key in keys)


def mail_of(effect: Effect, captured: dict[str, CapturedMail]) -> CapturedMail:
    assert isinstance(effect.payload, MailOut)
    return captured[effect.payload.message_id]


def body(mail: CapturedMail) -> str:
    part = mail.message.get_body(("plain",))
    assert part is not None
    text: str = part.get_content()
    return text


def attachments(mail: CapturedMail) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for part in mail.message.iter_attachments():
        content = part.get_content()
        found[str(part.get_filename())] = content if isinstance(content, bytes) else b""
    return found


async def room_files(chat: ChatSide, runner: DaemonRunner) -> dict[str, dict[str, bytes]]:
    """The m.file events the bot posted in the core room, by meeting: name -> bytes."""
    room = urllib.parse.quote(chat.rooms[chat.core_alias], safe="")
    files: dict[str, dict[str, bytes]] = {}
    since: str | None = None
    while True:
        query = {"dir": "f", "limit": "500", **({"from": since} if since else {})}
        path = f"/_matrix/client/v3/rooms/{room}/messages?{urllib.parse.urlencode(query)}"
        page = await chat.synapse.client_api("GET", path, chat.member_token)
        for event in page.get("chunk", []):
            content: dict[str, Any] = event.get("content", {})
            if content.get("msgtype") != "m.file" or event.get("sender") != chat.bot:
                continue
            key = str(content.get(IDEMPOTENCY_CONTENT_KEY, ""))  # "<effect key>/doc/<n>"
            meeting = next((m for m in (W1, W2, B) if _ours(key) and f"/{m}/" in key), None)
            if meeting is None:
                continue
            data = await media(chat, str(content["url"]))
            files.setdefault(meeting, {})[str(content["filename"])] = data
        if not page.get("chunk") or "end" not in page:
            return files
        since = page["end"]


async def media(chat: ChatSide, uri: str) -> bytes:
    server, media_id = uri.removeprefix("mxc://").split("/", 1)
    url = f"{chat.synapse.base_url}/_matrix/client/v1/media/download/{server}/{media_id}"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {chat.member_token}"})

    def get() -> bytes:
        with urllib.request.urlopen(request, timeout=30) as response:
            data: bytes = response.read()
            return data

    return await asyncio.to_thread(get)


async def fetch(url: str) -> tuple[int, bytes, dict[str, str]]:
    def get() -> tuple[int, bytes, dict[str, str]]:
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read(), dict(error.headers)

    return await asyncio.to_thread(get)


def assert_folder(pdf: bytes, directory: Path, page_url: str, *, agenda: bool) -> None:
    """It opens (pdftoppm renders page 1), holds the date, and its QR code is the page.
    ``agenda``: whether its agenda is public yet (from the announcement on, T-28d)."""
    directory.mkdir()
    path = directory / "folder.pdf"
    path.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "150", "-f", "1", "-l", "1", str(path), str(directory / "p")],
        check=True, capture_output=True,
    )  # fmt: skip
    pages = sorted(directory.glob("p*.png"))
    assert len(pages) == 1
    text = subprocess.run(
        ["pdftotext", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "donderdag 11 maart 2027" in text
    assert "Thursday 11 March 2027" in text
    assert "19:00" in text
    assert "Buurthuis De Punt, Lindenplein 1" in text
    assert ("Speeltuin Lindenplein" in text) is agenda
    assert ("De agenda van deze vergadering wordt hier niet" in text) is not agenda
    codes = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(pages[0])], capture_output=True, text=True
    ).stdout.split()
    assert codes == [page_url]
