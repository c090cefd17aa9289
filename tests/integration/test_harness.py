"""Smoke tests of the loopback harness itself: the servers every other test relies on."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from caldav.davclient import DAVClient
from caldav.lib.error import AuthorizationError
from imap_tools import MailBox, MailBoxStartTls

from harness.dovecot import DovecotServer, MailAccount
from harness.probes import greeting_probe, http_status
from harness.process import ServerProcess, ServerStartError
from harness.radicale import CaldavAccount, RadicaleServer
from harness.servers import make_run_dir
from harness.smtp import CaptureView, SmtpRelay
from harness.synapse import SynapseServer

REPO_ROOT = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
TRACE_HEADERS = {b"return-path", b"delivered-to", b"received"}


def a_mail(to: str, subject: str, *, sender: str = "bewoner@example.org") -> bytes:
    """A small mail with a PDF attachment, serialised with CRLF as it travels over SMTP."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{subject.replace(' ', '.')}@example.org>"
    message.set_content("Bijgaand het stuk voor de wijkalliantie.\n")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="stuk.pdf")
    return message.as_bytes(policy=SMTP_POLICY)


def fetch_all_raw(dovecot: DovecotServer, account: MailAccount) -> tuple[int, dict[int, bytes]]:
    """(UIDVALIDITY, {uid: raw bytes}) of the INBOX over IMAP with STARTTLS."""
    with MailBoxStartTls(dovecot.host, dovecot.imap_port, ssl_context=dovecot.ssl_context()).login(
        account.name, account.password
    ) as box:
        uidvalidity = box.folder.status("INBOX")["UIDVALIDITY"]
        raws: dict[int, bytes] = {}
        for uid in box.uids():
            _, data = box.client.uid("FETCH", uid, "(BODY.PEEK[])")
            raws[int(uid)] = data[0][1]
        return int(uidvalidity), raws


def trace_header_names(prefix: bytes) -> set[bytes]:
    """Names of the header fields in ``prefix`` (continuation lines skipped)."""
    return {
        line.split(b":", 1)[0].lower()
        for line in prefix.split(b"\r\n")
        if line and not line[:1].isspace()
    }


async def test_mail_sent_over_smtp_arrives_in_dovecot_byte_identical(
    smtp_relay: SmtpRelay, dovecot: DovecotServer, mailbox_user: MailAccount
) -> None:
    """The relay hands local mail to Dovecot over LMTP; IMAP returns the very same bytes,
    preceded only by the trace headers a delivering server adds."""
    raw = a_mail(mailbox_user.address, "stuk voor april")

    await smtp_relay.deliver(raw, "bewoner@example.org", [mailbox_user.address])

    _, messages = await asyncio.to_thread(fetch_all_raw, dovecot, mailbox_user)
    [fetched] = messages.values()
    prefix, found, rest = fetched.partition(raw)
    assert (found, rest) == (raw, b"")
    assert trace_header_names(prefix) <= TRACE_HEADERS


async def test_idle_reports_a_new_delivery(
    smtp_relay: SmtpRelay, dovecot: DovecotServer, mailbox_user: MailAccount
) -> None:
    """A client waiting in IMAP IDLE hears about a delivery (an EXISTS response)."""
    box = MailBox(dovecot.host, dovecot.imaps_port, ssl_context=dovecot.ssl_context())
    await asyncio.to_thread(box.login, mailbox_user.name, mailbox_user.password)
    try:
        await asyncio.to_thread(box.idle.start)
        await smtp_relay.deliver(
            a_mail(mailbox_user.address, "idle"), "a@example.org", [mailbox_user.address]
        )
        responses = await asyncio.to_thread(box.idle.poll, 10)
        await asyncio.to_thread(box.idle.stop)
    finally:
        await asyncio.to_thread(box.logout)

    assert b"* 1 EXISTS" in responses


async def test_dovecot_restart_keeps_mail_uidvalidity_and_uids(
    smtp_relay: SmtpRelay, dovecot: DovecotServer, mailbox_user: MailAccount
) -> None:
    """After a restart the mail, UIDVALIDITY and UIDs are unchanged, and UIDs keep rising."""
    address = mailbox_user.address
    await smtp_relay.deliver(a_mail(address, "voor"), "a@example.org", [address])
    before = await asyncio.to_thread(fetch_all_raw, dovecot, mailbox_user)

    await dovecot.restart()
    after = await asyncio.to_thread(fetch_all_raw, dovecot, mailbox_user)
    await smtp_relay.deliver(a_mail(address, "na"), "a@example.org", [address])
    uidvalidity, later = await asyncio.to_thread(fetch_all_raw, dovecot, mailbox_user)

    assert before == after
    assert uidvalidity == before[0]
    assert sorted(later) == [*sorted(before[1]), max(before[1]) + 1]


async def test_local_mail_is_deferred_while_dovecot_is_down(
    smtp_relay: SmtpRelay, dovecot: DovecotServer, mailbox_user: MailAccount
) -> None:
    """With Dovecot stopped the relay answers 451 (try later); once back, delivery works."""
    raw = a_mail(mailbox_user.address, "tijdens storing")
    await dovecot.stop()
    try:
        with pytest.raises(aiosmtplib.SMTPDataError) as refused:
            await smtp_relay.deliver(raw, "a@example.org", [mailbox_user.address])
    finally:
        await dovecot.start()
    await smtp_relay.deliver(raw, "a@example.org", [mailbox_user.address])

    _, messages = await asyncio.to_thread(fetch_all_raw, dovecot, mailbox_user)
    assert refused.value.code == 451
    assert len(messages) == 1


async def test_mail_to_another_domain_is_captured(
    smtp_relay: SmtpRelay, captured_mail: CaptureView, smtp_login: tuple[str, str]
) -> None:
    """A non-local recipient is captured with its envelope, in memory and as a file."""
    raw = a_mail("voorzitter@example.org", "ontvangstbevestiging", sender="wijkbode@wijk.test")

    await smtp_relay.deliver(
        raw, "wijkbode@wijk.test", ["voorzitter@example.org"], login=smtp_login
    )
    message = await captured_mail.wait_for(lambda m: m["Subject"] == "ontvangstbevestiging")

    [mail] = captured_mail.mail()
    files = (smtp_relay.root / "captured" / "new").iterdir()
    [stored] = [data for data in (f.read_bytes() for f in files) if data.endswith(raw)]
    assert (mail.mail_from, mail.rcpt_tos, mail.raw) == (
        "wijkbode@wijk.test",
        ("voorzitter@example.org",),
        raw,
    )
    assert message["To"] == "voorzitter@example.org"
    envelope = b"Return-Path: <wijkbode@wijk.test>\r\nX-Original-To: voorzitter@example.org\r\n"
    assert stored == envelope + raw


async def test_relaying_to_another_domain_needs_a_login(
    smtp_relay: SmtpRelay, captured_mail: CaptureView
) -> None:
    """Like a real submission server, the relay refuses outside recipients without AUTH."""
    raw = a_mail("iemand@example.org", "zonder login")

    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await smtp_relay.deliver(raw, "x@example.org", ["iemand@example.org"])

    assert [r.code for r in refused.value.recipients] == [550]
    assert captured_mail.mail() == []


async def test_smtp_relay_stop_and_start_on_the_same_port(
    smtp_relay: SmtpRelay, captured_mail: CaptureView, smtp_login: tuple[str, str]
) -> None:
    """While the relay is stopped, connections fail; after start() it accepts mail again."""
    raw = a_mail("lid@example.org", "na storing")
    port = smtp_relay.port
    await smtp_relay.stop()
    try:
        with pytest.raises(aiosmtplib.SMTPConnectError):
            await smtp_relay.deliver(raw, "w@wijk.test", ["lid@example.org"], login=smtp_login)
    finally:
        await smtp_relay.start()
    await smtp_relay.deliver(raw, "w@wijk.test", ["lid@example.org"], login=smtp_login)

    assert smtp_relay.port == port
    assert [m.raw for m in captured_mail.mail()] == [raw]


@pytest.mark.parametrize("mode", ["plain", "tls"])
async def test_plain_and_implicit_tls_relays_deliver_locally(
    make_smtp_relay: Callable[..., Awaitable[SmtpRelay]],
    dovecot: DovecotServer,
    mailbox_user: MailAccount,
    mode: str,
) -> None:
    """The other relay modes deliver the same way."""
    relay = await make_smtp_relay(mode)
    raw = a_mail(mailbox_user.address, f"via {mode}")

    await relay.deliver(raw, "a@example.org", [mailbox_user.address])

    _, messages = await asyncio.to_thread(fetch_all_raw, dovecot, mailbox_user)
    assert [m.endswith(raw) for m in messages.values()] == [True]


def _caldav_roundtrip(radicale: RadicaleServer, account: CaldavAccount, ics: str) -> str:
    with DAVClient(
        url=radicale.base_url, username=account.name, password=account.password
    ) as client:
        calendar = client.get_principal().make_calendar(name="Wijkagenda")
        calendar.add_event(ics)
        return str(calendar.get_event_by_uid("wijkalliantie-2027-04-06@wijk.test").data)


async def test_radicale_stores_and_returns_a_calendar_event(
    radicale: RadicaleServer, caldav_user: CaldavAccount
) -> None:
    """A logged-in CalDAV client can create a calendar, PUT an event and read it back."""
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//wijkbode//test//NL\r\n"
        "BEGIN:VEVENT\r\nUID:wijkalliantie-2027-04-06@wijk.test\r\n"
        "DTSTAMP:20270301T120000Z\r\nDTSTART:20270406T173000Z\r\n"
        "DTEND:20270406T193000Z\r\nSUMMARY:Wijkalliantie\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )

    data = await asyncio.to_thread(_caldav_roundtrip, radicale, caldav_user, ics)

    assert "SUMMARY:Wijkalliantie" in data
    assert "DTSTART:20270406T173000Z" in data


async def test_radicale_refuses_a_wrong_password(
    radicale: RadicaleServer, caldav_user: CaldavAccount
) -> None:
    """htpasswd auth is really on: a wrong password is refused."""
    wrong = CaldavAccount(caldav_user.name, "fout", caldav_user.url)

    with pytest.raises(AuthorizationError):
        await asyncio.to_thread(_caldav_roundtrip, radicale, wrong, "")


async def test_synapse_answers_versions_and_registers_a_user(synapse: SynapseServer) -> None:
    """Synapse serves the client API and the shared-secret registration works."""
    status = await http_status(f"{synapse.base_url}/_matrix/client/versions")
    user_id, password = await synapse.register_user("harnessprobe", "geheim-1")
    token = await synapse.login(user_id, password)
    whoami = await synapse.client_api("GET", "/_matrix/client/v3/account/whoami", token)

    assert status == 200
    assert user_id == "@harnessprobe:localhost"
    assert whoami["user_id"] == user_id


async def test_a_server_that_exits_early_fails_with_its_log(tmp_path: Path) -> None:
    """A crashing server gives an error with its exit code and the tail of its log."""
    server = ServerProcess(
        "crasher",
        [sys.executable, "-c", "print('kan poort niet openen', flush=True); raise SystemExit(3)"],
        log_path=tmp_path / "crasher.log",
        ready=greeting_probe("127.0.0.1", 9, b"220"),
    )

    with pytest.raises(ServerStartError) as failure:
        await server.start()

    assert "crasher exited with code 3" in str(failure.value)
    assert "kan poort niet openen" in str(failure.value)
    assert not server.running


async def test_a_server_that_never_greets_times_out(tmp_path: Path) -> None:
    """A server that runs but never speaks its protocol is stopped after the deadline."""
    server = ServerProcess(
        "sleeper",
        [sys.executable, "-c", "import time; time.sleep(60)"],
        log_path=tmp_path / "sleeper.log",
        ready=greeting_probe("127.0.0.1", 9, b"220"),
        start_timeout=0.5,
    )

    with pytest.raises(ServerStartError) as failure:
        await server.start()

    assert "sleeper not ready after" in str(failure.value)
    assert not server.running


async def _read_json_document(stream: asyncio.StreamReader) -> dict[str, Any]:
    """Read the indented JSON object ``python -m harness up`` prints, up to its last brace."""
    lines = []
    while (line := await stream.readline()) not in (b"", b"}\n"):
        lines.append(line)
    document: dict[str, Any] = json.loads(b"".join([*lines, line]))
    return document


@pytest.fixture
def demo_dir() -> Iterator[Path]:
    """A run directory in a traversable temp dir (pytest's own are private to root)."""
    parent = make_run_dir("wijkbode-demo-test-")
    yield parent / "demo"
    shutil.rmtree(parent, ignore_errors=True)


async def test_harness_up_prints_endpoints_that_answer_and_stops_on_sigterm(
    demo_dir: Path,
) -> None:
    """``python -m harness up`` (the demo's way in) starts everything and stops cleanly."""
    run_dir = demo_dir
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "harness", "up", "--dir", str(run_dir), "--user", "demo:demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO_ROOT,
    )
    try:
        assert process.stdout is not None
        endpoints = await _read_json_document(process.stdout)
        imap, smtp = endpoints["imap"], endpoints["smtp"]
        await greeting_probe(imap["host"], imap["port"], b"* OK")()
        await greeting_probe(smtp["host"], smtp["port"], b"220 ")()
        caldav_status = await http_status(endpoints["caldav"]["url"] + "/")
        matrix_status = await http_status(
            endpoints["matrix"]["base_url"] + "/_matrix/client/versions"
        )
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)

    assert process.returncode == 0, stderr.decode(errors="replace")
    assert (caldav_status, matrix_status) == (302, 200)
    assert endpoints["run_dir"] == str(run_dir.resolve())
    assert json.loads((run_dir / "endpoints.json").read_text()) == endpoints
    assert "demo:demo" in (run_dir / "radicale" / "htpasswd").read_text()
    assert "demo:{PLAIN}demo" in (run_dir / "dovecot" / "users" / "demo").read_text()
    assert not (run_dir / "dovecot").is_symlink()  # no mail kept outside the run dir
    with pytest.raises(ConnectionRefusedError):
        await greeting_probe(imap["host"], imap["port"], b"* OK")()
