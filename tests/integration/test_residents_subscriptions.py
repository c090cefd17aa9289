"""Residents subscribe by mail on the page: the whole way, against the real daemon, its HTTP
service and the SMTP relay.

subscribe on the page -> confirmation mail -> its link (a GET only shows a button; a
link scanner confirms nobody) -> confirm -> the clock at T-28d of a bewonersbijeenkomst:
the announcement arrives, to each subscriber alone, with List-Unsubscribe and
List-Unsubscribe-Post -> the RFC 8058 one-click POST -> the meeting moves: the notice,
and at T-2d the reminder, reach the residents' list and the subscriber who stayed, never
the one who left, whose address is gone from the database's files. Along the way: the
honeypot drops a bot's sign-up, the rate limits refuse per client address and for
everyone, no mail shows another subscriber's address, and no address is in the daemon's
log or the outbox listing.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import aiohttp
from daemon_runner import RESIDENTS, DaemonRunner, local, make_world
from feed_helpers import free_port

from harness.dovecot import DovecotServer
from harness.smtp import CapturedMail, SmtpRelay

SERIES = """[series.bewonersbijeenkomst]
title = "Bewonersbijeenkomst"
public = true
location = "Buurthuis De Meeuw"

[series.bewonersbijeenkomst.plan]
dates = [2027-06-24T19:30:00]
"""
ANNOUNCE = local("2027-05-27T19:30:00")  # T-28d
MOVED = """
[[series.bewonersbijeenkomst.plan.moved]]
from = 2027-06-24
to = 2027-06-25T19:30:00
"""
REMINDER = local("2027-06-23T19:30:00")  # T-2d of the moved meeting
PER_CLIENT, IN_ALL = 3, 7  # 127.0.0.1 signs up three, .3 three, .4 the last one


def _http(port: int) -> str:
    return (
        f'[http]\nlisten = "127.0.0.1:{port}"\npublic_url = "http://127.0.0.1:{port}"\n'
        f"subscriptions = true\nsubscribe_per_client_per_hour = {PER_CLIENT}\n"
        f"subscribe_per_hour = {IN_ALL}\n"
    )


async def _post(url: str, data: dict[str, str], *, source: str = "127.0.0.1") -> tuple[int, str]:
    """A form POST from the loopback address ``source`` (each is a client of its own)."""
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.post(url, data=data, allow_redirects=False) as response,
    ):
        return response.status, await response.text()


async def _get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


def _text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())  # type: ignore[attr-defined]


def _to(mail: list[CapturedMail], address: str) -> list[CapturedMail]:
    return [m for m in mail if address in m.rcpt_tos]


def _state_bytes(state: Path) -> bytes:
    return b"".join(p.read_bytes() for p in state.iterdir() if p.name.startswith("wijkbode.sq"))


async def test_subscribe_confirm_announce_one_click_unsubscribe_and_gone(
    tmp_path: Path, dovecot: DovecotServer, smtp_relay: SmtpRelay
) -> None:
    tag = secrets.token_hex(4)
    leaver, stayer = f"vertrekker.{tag}@buiten.test", f"blijver.{tag}@buiten.test"
    scanned, bot_target = f"gescand.{tag}@buiten.test", f"vreemde.{tag}@buiten.test"
    world = await make_world(("mail",), tmp_path / "secrets", dovecot=dovecot, relay=smtp_relay)
    assert world.mail is not None
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = world.config(SERIES, default_series="bewonersbijeenkomst") + "\n" + _http(port)
    runner = DaemonRunner(tmp_path, config, start=ANNOUNCE - timedelta(days=1), speed=1)
    try:
        runner.start()
        await runner.wait_running()
        status, page = await _get(base + "/")
        assert status == 200
        assert 'action="/subscribe"' in page

        # Three sign-ups from people, one from a bot that fills in the honeypot.
        for address in (leaver, stayer, scanned):
            status, answer = await _post(base + "/subscribe", {"email": address, "lang": "nl"})
            assert (status, "Kijk in uw mail" in answer) == (200, True)
        status, answer = await _post(
            base + "/subscribe", {"email": bot_target, "website": "http://spam.test", "lang": "nl"}
        )
        assert (status, "Kijk in uw mail" in answer) == (200, True)  # the bot learns nothing

        confirmations = {}
        for address in (leaver, stayer, scanned):
            mail = await smtp_relay.wait_for(lambda m, a=address: a in str(m["To"]), timeout=60)
            assert mail["List-Unsubscribe"] is None  # nothing to leave before confirming
            link = re.search(rf"{re.escape(base)}/subscribe/confirm\?t=[\w-]+", _text(mail))
            assert link is not None, _text(mail)
            confirmations[address] = link.group(0)

        # A GET of the link (a mail scanner, or the person) only shows the button.
        for address in (leaver, stayer, scanned):
            status, shown = await _get(confirmations[address])
            assert status == 200
            assert '<form method="post" action="/subscribe/confirm?t=' in shown
        for address in (leaver, stayer):
            status, done = await _post(confirmations[address], {})
            assert (status, "U bent ingeschreven" in done) == (200, True)
        status, _ = await _post(confirmations[leaver], {})
        assert status == 404  # used once

        # The rate limits: per client address, then for everyone.
        refused = [(await _post(base + "/subscribe", {"email": "x"}, source="127.0.0.3"))[0]
                   for _ in range(PER_CLIENT + 1)]  # fmt: skip
        assert refused == [400] * PER_CLIENT + [429]
        assert (await _post(base + "/subscribe", {"email": "x"}, source="127.0.0.4"))[0] == 400
        status, too_many = await _post(base + "/subscribe", {"email": "y"}, source="127.0.0.5")
        assert (status, "Te veel inschrijvingen" in too_many) == (429, True)
        await runner.stop()

        # T-28d: the announcement.
        runner.jump_to(ANNOUNCE + timedelta(seconds=1))
        runner.start()
        await runner.wait_running()
        announced = await smtp_relay.wait_for(
            lambda m: leaver in str(m["To"]) and "Aankondiging" in str(m["Subject"]), timeout=60
        )
        await smtp_relay.wait_for(
            lambda m: stayer in str(m["To"]) and "Aankondiging" in str(m["Subject"]), timeout=60
        )
        await smtp_relay.wait_for(
            lambda m: RESIDENTS in str(m["To"]) and "Aankondiging" in str(m["Subject"]), timeout=60
        )
        unsubscribe = re.fullmatch(r"<(http://127\.0\.0\.1:\d+/unsubscribe\?t=[\w-]+)>",
                                   str(announced["List-Unsubscribe"]))  # fmt: skip
        assert unsubscribe is not None, announced["List-Unsubscribe"]
        assert announced["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert unsubscribe.group(1) in _text(announced)

        # A GET of the unsubscribe link only asks; the one-click POST deletes at once.
        status, asked = await _get(unsubscribe.group(1))
        assert (status, '<form method="post" action="/unsubscribe?t=' in asked) == (200, True)
        async with aiohttp.ClientSession() as session, session.post(
            unsubscribe.group(1), data="List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ) as response:  # fmt: skip
            assert response.status == 200
        stored = _state_bytes(runner.state_dir)
        assert leaver.encode() not in stored
        assert stayer.encode() in stored
        assert bot_target.encode() not in stored
        # Moved a day later: the notice goes to the list and to who is subscribed now.
        runner.write_config(config + MOVED)
        runner.hup()
        await smtp_relay.wait_for(
            lambda m: stayer in str(m["To"]) and "Verplaatst" in str(m["Subject"]), timeout=60
        )
        await smtp_relay.wait_for(
            lambda m: RESIDENTS in str(m["To"]) and "Verplaatst" in str(m["Subject"]), timeout=60
        )
        outbox_rows = await runner.effects()
        assert all("@buiten.test" not in row.destination for row in outbox_rows)
        await runner.stop()

        # T-2d: the reminder, to the list and to who stayed only.
        runner.jump_to(REMINDER + timedelta(seconds=1))
        runner.start()
        await runner.wait_running()
        await smtp_relay.wait_for(
            lambda m: stayer in str(m["To"]) and "Herinnering" in str(m["Subject"]), timeout=60
        )
        await smtp_relay.wait_for(
            lambda m: RESIDENTS in str(m["To"]) and "Herinnering" in str(m["Subject"]), timeout=60
        )
        await runner.stop()
    finally:
        runner.ensure_stopped()

    captured = world.mail.captured()
    assert len(_to(captured, leaver)) == 2  # the confirmation and the announcement
    assert len(_to(captured, stayer)) == 4  # ... and the notice of the move, and the reminder
    assert len(_to(captured, scanned)) == 1  # never confirmed: the confirmation only
    assert _to(captured, bot_target) == []
    people = (leaver, stayer, scanned)
    for mail in captured:
        for other in people:
            if other not in mail.rcpt_tos:
                assert other.encode() not in mail.raw, "another subscriber's address in a mail"
    logs = "".join(runner.log(run) for run in range(1, runner.runs + 1))
    assert not any(address in logs for address in (*people, bot_target))
