"""The outbox's SMTP channel against the harness' real relay (aiosmtpd, Dovecot behind LMTP)."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from conftest import MakeRelay
from mailintake import wait_until

from connectors.smtp import SmtpChannel
from daemon.clock import SystemClock
from daemon.config.schema import ImapConfig, MailConfig, SmtpConfig
from daemon.config.secret import Secret
from daemon.engine.outbox import Dispatcher
from daemon.errors import PermanentError, TransientError
from daemon.ports.outbox import (
    ChannelName,
    DocumentRef,
    Effect,
    EffectStatus,
    MailOut,
    NewEffect,
    message_id_for,
)
from daemon.store import Store
from daemon.store.documents import DocumentStore
from harness.dovecot import DovecotServer, MailAccount
from harness.smtp import CaptureView, SmtpRelay
from harness.tls import SelfSignedCert

OUR_ADDRESS = "wijkalliantie@wijk.test"
RESIDENT = "bewoner@example.org"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def mail_config(
    relay: SmtpRelay,
    tmp_path: Path,
    *,
    login: tuple[str, str] | None = None,
    trust_ca: bool = True,
) -> MailConfig:
    """Our mail settings for ``relay``, in its TLS mode; the password sits in a file."""
    password = None
    if login is not None:
        secret_file = tmp_path / f"smtp-{secrets.token_hex(4)}.password"
        secret_file.write_text(login[1], encoding="utf-8")
        password = Secret(where="test: mail.smtp.password", file=secret_file)
    security = {"plain": "none", "starttls": "starttls", "tls": "tls"}[relay.mode]
    smtp = SmtpConfig(
        host=relay.host,
        port=relay.port,
        security=security,
        username=login[0] if login else None,
        password=password,
        ca_file=relay.cert.cert_file if relay.cert and trust_ca else None,
    )
    imap = ImapConfig(host="127.0.0.1", username="unused", password=None, oauth2_token=None)
    return MailConfig(address=OUR_ADDRESS, imap=imap, smtp=smtp)


def effect_for(mail: MailOut, key: str = "receipt:1") -> Effect:
    """An outbox row as the dispatcher hands it to the channel."""
    return Effect(
        id=1,
        channel=ChannelName.MAIL,
        destination=mail.to[0],
        key=key,
        payload=mail,
        created_at=datetime(2027, 3, 1, 9, 0, tzinfo=UTC),
        status=EffectStatus.PENDING,
        attempts=0,
        next_attempt_at=None,
        last_error=None,
        delivered_at=None,
        remote_id=None,
    )


def a_receipt(recipient: str, **changes: object) -> MailOut:
    """A receipt in a thread, Dutch subject with an accent, plain and HTML text."""
    fields: dict[str, object] = {
        "to": (recipient,),
        "subject": "Ontvangen: agendapunt ‘Café de Hoek’ [wijkalliantie]",
        "text": "Uw agendapunt is ontvangen.\n\nYour agenda item was received.\n",
        "html": "<p>Uw agendapunt is <b>ontvangen</b>.</p>",
        "message_id": message_id_for(f"receipt:{secrets.token_hex(4)}", "wijk.test"),
        "in_reply_to": "<origineel-1@gemeente.example>",
        "references": ("<start@gemeente.example>", "<origineel-1@gemeente.example>"),
        "auto_submitted": "auto-replied",
    }
    fields.update(changes)
    return MailOut(**fields)  # type: ignore[arg-type]


OpenChannel = Callable[..., SmtpChannel]


@pytest.fixture
async def open_channel() -> AsyncIterator[OpenChannel]:
    """Makes SMTP channels and ends their sessions after the test."""
    made: list[SmtpChannel] = []

    def make(config: MailConfig, documents: DocumentStore, **options: Any) -> SmtpChannel:
        channel = SmtpChannel(config, documents, **options)
        made.append(channel)
        return channel

    yield make
    for channel in made:
        await channel.close()


@pytest.fixture
def documents(tmp_path: Path) -> DocumentStore:
    return DocumentStore(tmp_path / "documents")


async def test_mail_with_attachment_arrives_with_exact_headers(
    smtp_relay: SmtpRelay,
    smtp_login: tuple[str, str],
    captured_mail: CaptureView,
    documents: DocumentStore,
    tmp_path: Path,
    open_channel: OpenChannel,
) -> None:
    """STARTTLS + AUTH: the relay receives our Message-ID, the threading headers,
    Auto-Submitted, both text parts and the stored document, from our address."""
    sha = await documents.put(PDF)
    mail = a_receipt(
        RESIDENT, attachments=(DocumentRef(sha, "Notulen maart.pdf", "application/pdf"),)
    )
    channel = open_channel(mail_config(smtp_relay, tmp_path, login=smtp_login), documents)

    remote_id = await channel.deliver(effect_for(mail))

    [captured] = captured_mail.mail()
    message = captured.message
    assert remote_id == mail.message_id
    assert (captured.mail_from, captured.rcpt_tos) == (OUR_ADDRESS, (RESIDENT,))
    assert message["Message-ID"] == mail.message_id
    assert message["In-Reply-To"] == "<origineel-1@gemeente.example>"
    assert message["References"] == "<start@gemeente.example> <origineel-1@gemeente.example>"
    assert message["Auto-Submitted"] == "auto-replied"
    assert str(message["From"]) == f"Wijkbode <{OUR_ADDRESS}>"
    assert (message["To"], message["Subject"]) == (RESIDENT, mail.subject)
    assert message["Date"] is not None
    assert body_of(message, "plain") == mail.text
    assert body_of(message, "html") == f"{mail.html}\n"
    [attachment] = message.iter_attachments()
    assert attachment.get_filename() == "Notulen maart.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == PDF


def body_of(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert isinstance(part, EmailMessage)
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")  # the wire's CRLF line ends


async def test_a_resend_carries_the_same_message_id(
    smtp_relay: SmtpRelay,
    smtp_login: tuple[str, str],
    captured_mail: CaptureView,
    documents: DocumentStore,
    tmp_path: Path,
    open_channel: OpenChannel,
) -> None:
    """Delivering the same effect again (an unconfirmed attempt) sends the same Message-ID,
    so the receiving side can recognise the repeat; no Auto-Submitted when it is None."""
    mail = a_receipt(RESIDENT, html=None, auto_submitted=None, in_reply_to=None, references=())
    channel = open_channel(mail_config(smtp_relay, tmp_path, login=smtp_login), documents)

    await channel.deliver(effect_for(mail))
    await channel.deliver(effect_for(mail))

    messages = captured_mail.messages()
    assert [m["Message-ID"] for m in messages] == [mail.message_id] * 2
    assert [m["Auto-Submitted"] for m in messages] == [None, None]
    assert [m.get_content_type() for m in messages] == ["text/plain"] * 2


async def test_a_run_of_mails_shares_one_session_which_ends_when_idle(
    smtp_relay: SmtpRelay,
    smtp_login: tuple[str, str],
    captured_mail: CaptureView,
    documents: DocumentStore,
    tmp_path: Path,
    open_channel: OpenChannel,
) -> None:
    """Ten receipts in a row: one TCP + STARTTLS + AUTH session; after the idle time the
    session is closed, and the next mail opens a new one."""
    config = mail_config(smtp_relay, tmp_path, login=smtp_login)
    channel = open_channel(config, documents, idle_seconds=0.3)
    mails = [a_receipt(RESIDENT) for _ in range(10)]

    for n, mail in enumerate(mails):
        await channel.deliver(effect_for(mail, key=f"receipt:{n}"))
    assert channel.sessions == 1
    await asyncio.sleep(0.6)
    await channel.deliver(effect_for(a_receipt(RESIDENT), key="receipt:late"))

    assert channel.sessions == 2
    delivered = [m["Message-ID"] for m in captured_mail.messages()]
    assert delivered[:10] == [mail.message_id for mail in mails]
    assert len(delivered) == 11


async def test_deliveries_side_by_side_use_at_most_parallel_sessions(
    smtp_relay: SmtpRelay,
    smtp_login: tuple[str, str],
    captured_mail: CaptureView,
    documents: DocumentStore,
    tmp_path: Path,
    open_channel: OpenChannel,
) -> None:
    """Twelve receipts at once through a channel of three sessions: three sessions are
    opened, every receipt arrives once."""
    config = mail_config(smtp_relay, tmp_path, login=smtp_login)
    channel = open_channel(config, documents, parallel=3)
    mails = [a_receipt(f"bewoner{n}@example.org") for n in range(12)]

    await asyncio.gather(
        *(channel.deliver(effect_for(mail, key=f"receipt:{n}")) for n, mail in enumerate(mails))
    )

    assert channel.sessions == 3
    delivered = sorted(str(m["Message-ID"]) for m in captured_mail.messages())
    assert delivered == sorted(mail.message_id for mail in mails)


async def test_a_session_lost_to_a_relay_restart_is_replaced(
    make_smtp_relay: MakeRelay,
    documents: DocumentStore,
    tmp_path: Path,
    open_channel: OpenChannel,
) -> None:
    """The relay restarts under an open session: at most one delivery fails, transiently,
    and the next one opens a new session."""
    relay = await make_smtp_relay("plain")
    channel = open_channel(mail_config(relay, tmp_path), documents)
    await channel.deliver(effect_for(a_receipt(RESIDENT), key="receipt:1"))
    await relay.restart()

    second = a_receipt(RESIDENT)
    try:
        await channel.deliver(effect_for(second, key="receipt:2"))
    except TransientError:
        await channel.deliver(effect_for(second, key="receipt:2"))

    assert channel.sessions == 2
    assert [m["Message-ID"] for m in relay.captured()][-1] == second.message_id


async def test_implicit_tls_with_auth_delivers(
    make_smtp_relay: MakeRelay,
    documents: DocumentStore,
    tmp_path: Path,
    open_channel: OpenChannel,
) -> None:
    """``security = "tls"``: TLS from the first byte, then AUTH."""
    relay = await make_smtp_relay("tls", users={"wijkbode": "geheim"}, relay_requires_auth=True)
    channel = open_channel(mail_config(relay, tmp_path, login=("wijkbode", "geheim")), documents)
    mail = a_receipt(RESIDENT)

    await channel.deliver(effect_for(mail))

    assert [m["Message-ID"] for m in relay.captured()] == [mail.message_id]


async def test_refused_recipient_is_permanent(
    make_smtp_relay: MakeRelay,
    documents: DocumentStore,
    tmp_path: Path,
    open_channel: OpenChannel,
) -> None:
    """The relay refuses to relay without a login (550 at RCPT): the address is rejected
    for good, with the server's words in the error."""
    relay = await make_smtp_relay("plain", relay_requires_auth=True)
    channel = open_channel(mail_config(relay, tmp_path), documents)

    with pytest.raises(PermanentError, match=r"address rejected.*bewoner@example.org: 550"):
        await channel.deliver(effect_for(a_receipt(RESIDENT)))

    assert relay.captured() == []


async def test_partly_refused_mail_counts_as_delivered(
    make_smtp_relay: MakeRelay,
    dovecot: DovecotServer,
    mailbox_user: MailAccount,
    documents: DocumentStore,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    open_channel: OpenChannel,
) -> None:
    """One recipient accepted and one refused: the accepted one has it, so it is not sent
    again (which would double it); the refusal is logged, without the address."""
    relay = await make_smtp_relay("plain", relay_requires_auth=True)
    channel = open_channel(mail_config(relay, tmp_path), documents)
    mail = a_receipt(mailbox_user.address, to=(mailbox_user.address, RESIDENT))

    with caplog.at_level(logging.WARNING, logger="connectors.smtp"):
        remote_id = await channel.deliver(effect_for(mail))

    delivered = list((dovecot.maildir(mailbox_user.name) / "new").iterdir())
    assert remote_id == mail.message_id
    assert len(delivered) == 1
    assert mail.message_id.encode() in delivered[0].read_bytes()
    # Logged by how many and why, not by whom: no addresses in the log (issue 13).
    assert [r.getMessage() for r in caplog.records] == [
        "mail deels geweigerd / partly refused: 1 of 2 recipients: "
        "550 5.7.1 Relaying denied: authenticate first"
    ]


async def test_unknown_local_mailbox_is_permanent(
    smtp_relay: SmtpRelay,
    smtp_login: tuple[str, str],
    documents: DocumentStore,
    tmp_path: Path,
    open_channel: OpenChannel,
) -> None:
    """A 5xx after DATA (the mailbox server does not know the user) parks the mail too."""
    channel = open_channel(mail_config(smtp_relay, tmp_path, login=smtp_login), documents)

    with pytest.raises(PermanentError, match=r"mail rejected\): 550"):
        await channel.deliver(effect_for(a_receipt("niemand-hier@wijk.test")))


async def test_deferred_delivery_is_transient(
    smtp_relay: SmtpRelay,
    smtp_login: tuple[str, str],
    dovecot: DovecotServer,
    mailbox_user: MailAccount,
    documents: DocumentStore,
    tmp_path: Path,
    open_channel: OpenChannel,
) -> None:
    """With the mailbox server down the relay answers 451: try again later."""
    channel = open_channel(mail_config(smtp_relay, tmp_path, login=smtp_login), documents)
    await dovecot.stop()
    try:
        with pytest.raises(TransientError, match="451"):
            await channel.deliver(effect_for(a_receipt(mailbox_user.address)))
    finally:
        await dovecot.start()


async def test_stopped_relay_is_transient(
    make_smtp_relay: MakeRelay,
    documents: DocumentStore,
    tmp_path: Path,
    open_channel: OpenChannel,
) -> None:
    """Connection refused: the relay may come back."""
    relay = await make_smtp_relay("plain")
    channel = open_channel(mail_config(relay, tmp_path), documents)
    await relay.stop()

    with pytest.raises(TransientError, match="SMTP"):
        await channel.deliver(effect_for(a_receipt(RESIDENT)))


async def test_wrong_password_is_transient_and_says_so(
    smtp_relay: SmtpRelay,
    documents: DocumentStore,
    tmp_path: Path,
    open_channel: OpenChannel,
) -> None:
    """Our own login failing is not the mail's fault: it waits (with backoff) for a fix
    instead of parking every receipt."""
    config = mail_config(smtp_relay, tmp_path, login=("wijkbode", "fout"))
    channel = open_channel(config, documents)

    with pytest.raises(TransientError, match="SMTP login refused"):
        await channel.deliver(effect_for(a_receipt(RESIDENT)))


async def test_untrusted_certificate_is_refused(
    smtp_relay: SmtpRelay,
    smtp_login: tuple[str, str],
    tls_cert: SelfSignedCert,
    documents: DocumentStore,
    tmp_path: Path,
    open_channel: OpenChannel,
) -> None:
    """Without ``ca_file`` the self-signed certificate is not trusted: nothing is sent."""
    config = mail_config(smtp_relay, tmp_path, login=smtp_login, trust_ca=False)
    channel = open_channel(config, documents)
    view = smtp_relay.view()

    with pytest.raises(TransientError, match="certificate"):
        await channel.deliver(effect_for(a_receipt(RESIDENT)))

    assert view.mail() == []
    assert tls_cert.cert_file.exists()


async def test_missing_document_is_permanent(
    smtp_relay: SmtpRelay,
    smtp_login: tuple[str, str],
    documents: DocumentStore,
    tmp_path: Path,
    open_channel: OpenChannel,
) -> None:
    missing = DocumentRef("ab" * 32, "weg.pdf", "application/pdf")
    channel = open_channel(mail_config(smtp_relay, tmp_path, login=smtp_login), documents)

    with pytest.raises(PermanentError, match="document store"):
        await channel.deliver(effect_for(a_receipt(RESIDENT, attachments=(missing,))))


INTERNATIONAL = "jdöe@mächine.example"


async def test_an_international_address_without_smtputf8_is_parked_with_a_plain_reason(
    make_smtp_relay: MakeRelay,
    documents: DocumentStore,
    tmp_path: Path,
    open_channel: OpenChannel,
) -> None:
    """The relay offers no SMTPUTF8 (aiosmtpd's default, like many servers): the receipt to
    ``jdöe@mächine.example`` is parked once with the reason, not retried forever as an
    unexpected UnicodeEncodeError; the next row for another address goes on."""
    relay = await make_smtp_relay("plain")
    channel = open_channel(mail_config(relay, tmp_path), documents)
    store = await Store.open(tmp_path / "state")
    try:
        now = datetime.now(UTC)
        async with store.transaction() as tx:
            for key, address in (("receipt:intl", INTERNATIONAL), ("receipt:ascii", RESIDENT)):
                mail = a_receipt(address)
                await tx.enqueue(NewEffect(ChannelName.MAIL, address, key, mail), now=now)
        dispatcher = Dispatcher(store, SystemClock(), channel)

        await dispatcher.deliver_ready()

        async with store.reading() as tx:
            parked = await tx.effect_by_key("receipt:intl")
            sent = await tx.effect_by_key("receipt:ascii")
    finally:
        await store.close()
    assert parked is not None
    assert sent is not None
    assert (parked.status, parked.attempts) == (EffectStatus.PARKED, 1)
    assert parked.last_error is not None
    assert parked.last_error.startswith(
        "PermanentError: de mailserver accepteert geen internationale adressen"
        " (the mail server does not accept international addresses)"
    )
    assert sent.status is EffectStatus.DELIVERED
    assert [m.rcpt_tos for m in relay.captured_mail()] == [(RESIDENT,)]


async def test_an_international_address_goes_out_where_the_server_offers_smtputf8(
    make_smtp_relay: MakeRelay,
    documents: DocumentStore,
    tmp_path: Path,
    open_channel: OpenChannel,
) -> None:
    relay = await make_smtp_relay("plain", smtputf8=True)
    channel = open_channel(mail_config(relay, tmp_path), documents)

    await channel.deliver(effect_for(a_receipt(INTERNATIONAL)))

    [captured] = relay.captured_mail()
    assert captured.rcpt_tos == (INTERNATIONAL,)
    assert captured.message["To"] == INTERNATIONAL


async def test_an_international_domain_goes_out_in_its_ascii_form_without_smtputf8(
    make_smtp_relay: MakeRelay,
    documents: DocumentStore,
    tmp_path: Path,
    open_channel: OpenChannel,
) -> None:
    """Only a local part outside ASCII needs SMTPUTF8: a domain has its IDNA form."""
    relay = await make_smtp_relay("plain")
    channel = open_channel(mail_config(relay, tmp_path), documents)

    await channel.deliver(effect_for(a_receipt("jan@mächine.example")))

    [captured] = relay.captured_mail()
    assert captured.rcpt_tos == ("jan@xn--mchine-bua.example",)
    assert captured.message["To"] == "jan@xn--mchine-bua.example"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in _state(pid)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "gone"


async def test_the_sender_process_ends_when_idle_and_starts_again(
    smtp_relay: SmtpRelay,
    smtp_login: tuple[str, str],
    captured_mail: CaptureView,
    documents: DocumentStore,
    tmp_path: Path,
    open_channel: OpenChannel,
) -> None:
    """An idle daemon holds no SMTP process: it ends after the idle time, the next
    mail starts a new one."""
    config = mail_config(smtp_relay, tmp_path, login=smtp_login)
    channel = open_channel(config, documents, idle_seconds=0.3)
    assert channel.sender_pid is None  # nothing sent yet: nothing started
    await channel.deliver(effect_for(a_receipt(RESIDENT), key="receipt:1"))
    first = channel.sender_pid
    assert first is not None
    assert _alive(first)

    await wait_until(lambda: not _alive(first), timeout=10)
    assert channel.sender_pid is None

    await channel.deliver(effect_for(a_receipt(RESIDENT), key="receipt:2"))
    second = channel.sender_pid
    assert second is not None
    assert second != first
    assert len(captured_mail.messages()) == 2


async def test_the_sender_process_yields_the_cpu_to_the_daemon(
    smtp_relay: SmtpRelay,
    smtp_login: tuple[str, str],
    documents: DocumentStore,
    tmp_path: Path,
    open_channel: OpenChannel,
) -> None:
    """Receipts wait in the outbox; filing and chat must not: the sender runs niced."""
    config = mail_config(smtp_relay, tmp_path, login=smtp_login)
    channel = open_channel(config, documents)
    await channel.deliver(effect_for(a_receipt(RESIDENT), key="receipt:1"))
    pid = channel.sender_pid
    assert pid is not None
    assert os.getpriority(os.PRIO_PROCESS, pid) == os.getpriority(os.PRIO_PROCESS, 0) + 10


async def test_a_killed_sender_process_fails_its_mail_transiently_and_is_replaced(
    smtp_relay: SmtpRelay,
    smtp_login: tuple[str, str],
    captured_mail: CaptureView,
    documents: DocumentStore,
    tmp_path: Path,
    open_channel: OpenChannel,
) -> None:
    """SIGKILL of the sender process while it holds a mail (its server never answers):
    the delivery fails as TransientError (the outbox retries it); the next one starts a
    new process and arrives."""
    accepted: list[asyncio.StreamWriter] = []
    silent = await asyncio.start_server(lambda _, writer: accepted.append(writer), "127.0.0.1", 0)
    try:
        port = silent.sockets[0].getsockname()[1]
        config = mail_config(smtp_relay, tmp_path, login=smtp_login)
        stuck = replace(config, smtp=replace(config.smtp, port=port, security="none"))
        channel = open_channel(stuck, documents)
        sending = asyncio.create_task(channel.deliver(effect_for(a_receipt(RESIDENT))))
        await wait_until(lambda: accepted, timeout=20)  # the process connected: it has the mail
        pid = channel.sender_pid
        assert pid is not None
        assert not sending.done()
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(TransientError, match="SMTP sender process stopped"):
            async with asyncio.timeout(20):
                await sending
    finally:
        for writer in accepted:
            writer.close()
        silent.close()
        await silent.wait_closed()

    channel = open_channel(config, documents)
    mail = a_receipt(RESIDENT)
    await channel.deliver(effect_for(mail, key="receipt:after"))
    assert [m["Message-ID"] for m in captured_mail.messages()] == [mail.message_id]
