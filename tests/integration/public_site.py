"""A real daemon serving the public page and feed, over a store that holds secrets.

``public_site`` writes a config with a public series (bewonersbijeenkomst: one
meeting moved, one cancelled) and a private one (kerngroep), fills the store the
way the daemon would have (the plan, items, the feed's publications, including
one of the private series'), then starts ``python -m daemon run`` as a real
subprocess with ``[http]`` on a free loopback port. ``NEVER_PUBLIC`` lists what
must not appear on any public URL: partner and submitter addresses, a submitter
who is not a partner, an item awaiting acceptance, a confidential item, the
private series' meeting, place and agenda.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from daemon.config import load_config
from daemon.engine.plan_sync import sync_plan
from daemon.model import ItemId, ItemStatus, Kind, MeetingId
from daemon.ports.outbox import CalendarWrite
from daemon.store import Store
from harness.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
TZ = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2027, 3, 20, 12, 0, tzinfo=TZ)
MOVED = MeetingId("bewonersbijeenkomst-2027-04-06")  # moved to 7 April
CANCELLED = MeetingId("bewonersbijeenkomst-2027-05-04")
PRIVATE = MeetingId("kerngroep-2027-04-08")
PUBLIC_ITEM = "Speeltuin Lindenplein opknappen"
HOSTILE = (
    "<script>document.title='PWNED'</script>"
    '<img src=x onerror="document.body.dataset.pwned=1">Onveilige &amp; titel'
)
PARTNER_ADDRESS = "secretariaat@onshuis.test"
OUR_ADDRESS = "wijkbode@wijk.test"  # public: where to send something in
NON_PARTNER = "Pieternella Geheimhouder"
NON_PARTNER_ADDRESS = "p.geheimhouder@elders.test"
NEVER_PUBLIC = {
    "partner address": PARTNER_ADDRESS,
    "partner domain": "onshuis.test",
    "non-partner name": NON_PARTNER,
    "non-partner address": NON_PARTNER_ADDRESS,
    "awaiting acceptance": "Wachtend Voorstel Zevenblad",
    "confidential item": "Vertrouwelijk Dossier Achterdeur",
    "private series title": "Kernoverleg Binnenkring",
    "private meeting": str(PRIVATE),
    "private location": "Achterkamer Zonnebloemstraat",
    "private agenda": "Begroting Binnenkring Negen",
}

CONFIG = """\
timezone = "Europe/Amsterdam"
language = "nl"
state_dir = "{state_dir}"
default_series = "bewonersbijeenkomst"

[series.bewonersbijeenkomst]
title = "Bewonersbijeenkomst"
public = true
location = "Buurthuis De Linde, Lindenlaan 3"

[series.bewonersbijeenkomst.deadlines]
# Published by the seed below, not by the scheduler, so nothing here changes it.
announce = false
# Submissions open for this test's meeting (RULES.md gives the residents' meeting none).
agendapunt = "10d"
stuk = "7d"

[series.bewonersbijeenkomst.plan]
dates = [2027-04-06T19:30:00, 2027-05-04T19:30:00]
cancelled = [2027-05-04]

[[series.bewonersbijeenkomst.plan.moved]]
from = 2027-04-06
to = 2027-04-07T19:30:00

[series.kerngroep]
title = "Kernoverleg Binnenkring"
public = false
location = "Achterkamer Zonnebloemstraat 13"

[series.kerngroep.plan]
dates = [2027-04-08T20:00:00]

[[partners]]
name = "Woningcorporatie Ons Huis"
addresses = ["{partner}"]
domains = ["onshuis.test"]

# Our own address is public (where to send); no mail server listens in this test.
[mail]
address = "{address}"

[mail.imap]
host = "127.0.0.1"
port = {closed}
security = "none"
username = "wijkbode"
password_file = "{secret}"

[mail.smtp]
host = "127.0.0.1"
port = {closed}
security = "none"

[http]
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
"""


@dataclass(frozen=True)
class PublicSite:
    base_url: str
    log: Path

    def get(
        self, path: str, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.base_url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers.items()), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers.items()), error.read()


def _write(
    uid: str, summary: str, start: str, end: str, location: str, **kw: object
) -> CalendarWrite:
    return CalendarWrite(
        uid=uid,
        action=kw.get("action", "upsert"),  # type: ignore[arg-type]
        summary=summary,
        start=datetime.fromisoformat(start).replace(tzinfo=TZ),
        end=datetime.fromisoformat(end).replace(tzinfo=TZ),
        location=location,
        description="",
        sequence=int(kw.get("sequence", 0)),  # type: ignore[call-overload]
    )


async def seed(config_path: Path) -> None:
    """The store as the daemon leaves it after filing and publishing (see the module doc)."""
    config = load_config(config_path)
    store = await Store.open(config.state_dir)
    try:
        await sync_plan(store, config, NOW)
        received = datetime(2027, 3, 15, 10, 0, tzinfo=TZ)
        async with store.transaction() as tx:

            async def item(meeting: MeetingId, title: str, submitter: str, **kw: object) -> int:
                filed = await tx.add_item(
                    kind=Kind.AGENDAPUNT,
                    title=title,
                    submitter=submitter,
                    received_at=received,
                    meeting_id=meeting,
                    late=False,
                    decision_ready=True,
                    status=kw.get("status", ItemStatus.FILED),  # type: ignore[arg-type]
                    source="mail",
                )
                return int(filed.id)

            await item(MOVED, PUBLIC_ITEM, PARTNER_ADDRESS)
            await item(MOVED, HOSTILE, PARTNER_ADDRESS)
            await item(
                MOVED,
                NEVER_PUBLIC["awaiting acceptance"],
                f"{NON_PARTNER} <{NON_PARTNER_ADDRESS}>",
                status=ItemStatus.AWAITING_ACCEPTANCE,
            )
            secret = await item(MOVED, NEVER_PUBLIC["confidential item"], PARTNER_ADDRESS)
            await tx.set_item_confidential(
                ItemId(secret), True, detail="!vertrouwelijk", at=received
            )
            await item(PRIVATE, NEVER_PUBLIC["private agenda"], PARTNER_ADDRESS)
            at = datetime(2027, 3, 9, 19, 30, tzinfo=TZ)
            publications = [
                (MOVED, _write(f"{MOVED}@wijk.test", "Bewonersbijeenkomst",
                               "2027-04-06T19:30", "2027-04-06T21:30", "Buurthuis De Linde")),
                (MOVED, _write(f"{MOVED}@wijk.test", "Bewonersbijeenkomst",
                               "2027-04-07T19:30", "2027-04-07T21:30", "Buurthuis De Linde",
                               sequence=1)),
                (CANCELLED, _write(f"{CANCELLED}@wijk.test", "Bewonersbijeenkomst",
                                   "2027-05-04T19:30", "2027-05-04T21:30", "Buurthuis De Linde",
                                   action="cancel", sequence=1)),
                # Recorded for a private series (as if it was public once): never shown.
                (PRIVATE, _write(f"{PRIVATE}@wijk.test", NEVER_PUBLIC["private series title"],
                                 "2027-04-08T20:00", "2027-04-08T22:00",
                                 NEVER_PUBLIC["private location"])),
            ]  # fmt: skip
            for n, (meeting, write) in enumerate(publications):
                await tx.record_publication(meeting, "agenda", write, key=f"seed-{n}", at=at)
    finally:
        await store.close()


@contextmanager
def public_site(directory: Path, extra_http: str = "") -> Iterator[PublicSite]:
    """The seeded daemon, running until the block ends (then SIGTERM, and it must stop).

    ``extra_http``: more ``[http]`` lines (e.g. ``languages``, ``subscriptions``)."""
    port = free_port()
    state_dir = directory / "state"
    config_path = directory / "wijkbode.toml"
    secret = directory / "imap-password"
    secret.write_text("niet-gebruikt\n", encoding="utf-8")
    secret.chmod(0o600)
    config_path.write_text(
        CONFIG.format(
            state_dir=state_dir,
            port=port,
            partner=PARTNER_ADDRESS,
            address=OUR_ADDRESS,
            closed=free_port(),
            secret=secret,
        )
        + extra_http,
        encoding="utf-8",
    )
    asyncio.run(seed(config_path))
    log = directory / "daemon.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "daemon", "--config", str(config_path), "run",
             "--now", NOW.strftime("%Y-%m-%dT%H:%M:%S")],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    site = PublicSite(f"http://127.0.0.1:{port}", log)
    try:
        _wait_until_serving(site, process)
        yield site
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError(f"the daemon did not stop on SIGTERM; log: {log}") from None


def _wait_until_serving(site: PublicSite, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the daemon stopped: {site.log.read_text(errors='replace')}")
        try:
            status, _, body = site.get("/healthz")
        except OSError:
            time.sleep(0.2)
            continue
        if status in (200, 503):
            json.loads(body)
            return
    raise AssertionError(f"nothing served on {site.base_url}; log: {site.log}")
