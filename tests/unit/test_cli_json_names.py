"""``wijkbode agenda --json`` and ``wijkbode decisions --json`` name a member as the room
does, through the one name resolver: a WhatsApp member's Matrix id is a phone number,
and a phone number never appears in anything Wijkbode writes (issue 15). A real store,
in-process."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from daemon.cli import main
from daemon.config import parse_config
from daemon.model import ItemStatus, Kind, MeetingId
from daemon.store import Store

CONFIG = """\
[series.wijkalliantie]
[series.wijkalliantie.plan]
dates = [2027-04-06T19:30:00]
"""
MEETING = MeetingId("wijkalliantie-2027-04-06")
BOB = "@whatsapp_31612345678:wa.example.org"  # named "Bob (WA)" in the core room
STRANGER = "@whatsapp_31687654321:wa.example.org"  # voted, never a member: no name known
PARTNER = "wijk@gemeente.test"
AT = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def setup(tmp_path: Path) -> list[str]:
    config = tmp_path / "wijkbode.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return ["--config", str(config), "--state-dir", str(tmp_path / "state")]


async def _fill(state_dir: Path) -> None:
    """An item Bob filed from WhatsApp, one a partner mailed, and a decision on Bob's
    item with a vote from a puppet outside the room that was not counted."""
    store = await Store.open(state_dir)
    try:
        async with store.transaction() as tx:
            meetings = parse_config(CONFIG, Path("wijkbode.toml")).meetings()
            await tx.sync_meetings(meetings, at=AT)
            await tx.set_member_names({BOB: "Bob (WA)"}, AT)
            items = []
            for title, submitter in (("Bankje", BOB), ("Begroting", PARTNER)):
                item = await tx.add_item(
                    kind=Kind.AGENDAPUNT, title=title, submitter=submitter, received_at=AT,
                    meeting_id=MEETING, late=False, decision_ready=True,
                    status=ItemStatus.FILED, source="chat" if submitter == BOB else "mail",
                )  # fmt: skip
                items.append(item)
            await tx.add_decision(
                item=items[0].id, meeting=MEETING, method="meeting", poll=None, outcome="adopted",
                counts={"": {"voor": 2, "tegen": 0, "onthouding": 0}}, weights={"": 1},
                not_counted=[STRANGER], recorded_by=BOB, decided_at=AT,
            )  # fmt: skip
    finally:
        await store.close()


def _run(setup: list[str], *args: str, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main([*setup, *args]) == 0
    return capsys.readouterr().out


def test_agenda_json_names_the_submitter_never_by_phone_number(
    setup: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_fill(Path(setup[3])))
    out = _run(setup, "agenda", MEETING, "--json", capsys=capsys)
    submitters = {item["title"]: item["submitter"] for item in json.loads(out)["items"]}
    assert submitters == {"Bankje": "Bob (WA)", "Begroting": PARTNER}
    assert "31612345678" not in out


def test_decisions_json_names_an_uncounted_voter_never_by_phone_number(
    setup: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_fill(Path(setup[3])))
    out = _run(setup, "decisions", "--json", capsys=capsys)
    [decision] = json.loads(out)["decisions"]
    [voter] = decision["not_counted"]
    assert voter.startswith("whatsapp-")  # anonymous(): the id without its digits
    assert "31687654321" not in out
    assert "31612345678" not in out
