"""The IMAP MailSource against the harness' real Dovecot, with mail delivered over SMTP+LMTP."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path

import pytest
import pytest_asyncio
from imap_tools import MailBox

from connectors.imap import ImapMailSource, ResilientMailSource
from daemon.backoff import Backoff
from daemon.config.schema import ImapConfig
from daemon.config.secret import Secret
from daemon.errors import PermanentError, TransientError
from daemon.health import Health
from harness.dovecot import DovecotServer, MailAccount
from harness.smtp import SmtpRelay

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
SENDER = "gemeente@example.org"
PROCESSED = "Wijkbode/Verwerkt"
QUARANTINE = "Wijkbode/Quarantaine"
LONG_WAIT = 120.0  # an IDLE wait that must end long before this, on a delivery
FAST_BACKOFF = Backoff(base=0.2, cap=1.0)


def a_mail(to: str, subject: str) -> bytes:
    """A mail with a PDF attachment, serialised with CRLF as it travels over SMTP."""
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{secrets.token_hex(8)}@example.org>"
    message.set_content("Bijgaand het stuk voor de wijkalliantie.\n")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="stuk.pdf")
    return message.as_bytes(policy=SMTP_POLICY)


def imap_config(
    dovecot: DovecotServer,
    account: MailAccount,
    secret_dir: Path,
    *,
    security: str = "starttls",
    trust_ca: bool = True,
    password: str | None = None,
) -> ImapConfig:
    """An ImapConfig for ``account``; the password lives in a file, as in production."""
    secret_file = secret_dir / f"{account.name}.password"
    secret_file.write_text(password or account.password, encoding="utf-8")
    assert dovecot.cert is not None
    port = dovecot.imaps_port if security == "tls" else dovecot.imap_port
    return ImapConfig(
        host=dovecot.host,
        username=account.name,
        password=Secret(where="test: mail.imap.password", file=secret_file),
        oauth2_token=None,
        port=port,
        security=security,
        ca_file=dovecot.cert.cert_file if trust_ca else None,
        idle_renew_seconds=60,
    )


def inbox_flags(dovecot: DovecotServer, account: MailAccount, folder: str) -> dict[int, set[str]]:
    """{uid: flags} of ``folder``, read by a separate client that changes nothing."""
    box = MailBox(dovecot.host, dovecot.imaps_port, ssl_context=dovecot.ssl_context())
    with box.login(account.name, account.password, initial_folder=None):
        box.folder.set(folder, readonly=True)
        messages = box.fetch(mark_seen=False, headers_only=True, bulk=True)
        # \Recent only says this is the first session to see the mail: not ours to judge.
        return {int(m.uid or 0): set(m.flags) - {"\\Recent"} for m in messages}


async def deliver(relay: SmtpRelay, account: MailAccount, subject: str) -> bytes:
    """Send a mail to ``account`` through the relay (SMTP, then LMTP into Dovecot)."""
    raw = a_mail(account.address, subject)
    await relay.deliver(raw, SENDER, [account.address])
    return raw


@pytest.fixture
def config(dovecot: DovecotServer, mailbox_user: MailAccount, tmp_path: Path) -> ImapConfig:
    return imap_config(dovecot, mailbox_user, tmp_path)


@pytest_asyncio.fixture
async def source(config: ImapConfig) -> AsyncIterator[ImapMailSource]:
    """A connected ImapMailSource on the test user's INBOX (STARTTLS, CA from ca_file)."""
    mail_source = ImapMailSource(config)
    await mail_source.connect()
    yield mail_source
    await mail_source.close()


async def test_fetch_after_returns_new_mail_byte_identical_with_internaldate(
    source: ImapMailSource, smtp_relay: SmtpRelay, mailbox_user: MailAccount
) -> None:
    """Mail delivered over SMTP comes back with its exact bytes (after the trace headers the
    delivering server adds), our server's receive time, size and UIDVALIDITY."""
    before = datetime.now(UTC).replace(microsecond=0)
    sent = await deliver(smtp_relay, mailbox_user, "stuk voor april")
    after = datetime.now(UTC)

    [mail] = await source.fetch_after(0, limit=10)

    assert (mail.uid, mail.uidvalidity) == (1, await source.uidvalidity())
    assert mail.raw.endswith(sent)
    assert mail.raw.partition(sent)[0].startswith(b"Return-Path: <gemeente@example.org>\r\n")
    assert mail.size == len(mail.raw)
    assert mail.internaldate.tzinfo is not None
    assert before <= mail.internaldate <= after


async def test_fetch_does_not_mark_mail_seen(
    source: ImapMailSource,
    smtp_relay: SmtpRelay,
    dovecot: DovecotServer,
    mailbox_user: MailAccount,
) -> None:
    """Fetching reads with BODY.PEEK: the mail stays unread for the people who read the box."""
    await deliver(smtp_relay, mailbox_user, "ongelezen")

    [mail] = await source.fetch_after(0, limit=1)
    flags = await asyncio.to_thread(inbox_flags, dovecot, mailbox_user, "INBOX")

    assert "\\Seen" not in flags[mail.uid]


async def test_fetch_after_the_highest_uid_is_empty(
    source: ImapMailSource, smtp_relay: SmtpRelay, mailbox_user: MailAccount
) -> None:
    """``UID n+1:*`` matches the highest UID even when it is n: nothing is returned twice;
    ``limit`` takes the oldest first."""
    for subject in ("een", "twee", "drie"):
        await deliver(smtp_relay, mailbox_user, subject)

    first_two = await source.fetch_after(0, limit=2)
    rest = await source.fetch_after(first_two[-1].uid, limit=10)
    beyond = await source.fetch_after(rest[-1].uid, limit=10)
    far_beyond = await source.fetch_after(rest[-1].uid + 100, limit=10)

    assert [m.uid for m in first_two] == [1, 2]
    assert [m.uid for m in rest] == [3]
    assert (beyond, far_beyond) == ([], [])


async def test_a_batch_is_bounded_by_bytes_and_moved_as_one_set(
    source: ImapMailSource,
    smtp_relay: SmtpRelay,
    dovecot: DovecotServer,
    mailbox_user: MailAccount,
) -> None:
    """Five mails: a byte bound of two and a half mails gives the first two (each fetched
    whole); a bound below one mail still gives one; the rest comes in one batch; one
    ``UID MOVE`` of a set moves exactly the mails named, with a gap in the set."""
    for n in range(5):
        await deliver(smtp_relay, mailbox_user, f"partij {n}")
    everything = await source.fetch_after(0, limit=10)
    size = max(m.size for m in everything)

    first = await source.fetch_after(0, limit=10, max_bytes=size * 5 // 2)
    tiny = await source.fetch_after(0, limit=10, max_bytes=1)
    rest = await source.fetch_after(first[-1].uid, limit=10)
    await source.move([1, 2, 4], PROCESSED, uidvalidity=first[0].uidvalidity)

    assert [m.uid for m in everything] == [1, 2, 3, 4, 5]
    assert [m.uid for m in first] == [1, 2]
    assert [m.raw for m in first] == [m.raw for m in everything[:2]]
    assert [m.uid for m in tiny] == [1]
    assert [m.uid for m in rest] == [3, 4, 5]
    inbox = await asyncio.to_thread(inbox_flags, dovecot, mailbox_user, "INBOX")
    processed = await asyncio.to_thread(inbox_flags, dovecot, mailbox_user, "Wijkbode.Verwerkt")
    assert sorted(inbox) == [3, 5]
    assert len(processed) == 3


async def test_move_to_created_processed_folder_leaves_inbox(
    source: ImapMailSource,
    smtp_relay: SmtpRelay,
    dovecot: DovecotServer,
    mailbox_user: MailAccount,
) -> None:
    """The first move creates ``Wijkbode/Verwerkt`` in the server's hierarchy; the mail is
    gone from the INBOX, present and still unread in the target, and a repeat is harmless."""
    sent = await deliver(smtp_relay, mailbox_user, "verwerken")
    await deliver(smtp_relay, mailbox_user, "blijft staan")
    [mail, other] = await source.fetch_after(0, limit=10)

    await source.move([mail.uid], PROCESSED, uidvalidity=mail.uidvalidity)
    await source.move([mail.uid], PROCESSED, uidvalidity=mail.uidvalidity)  # already moved

    inbox = await asyncio.to_thread(inbox_flags, dovecot, mailbox_user, "INBOX")
    processed = await asyncio.to_thread(inbox_flags, dovecot, mailbox_user, "Wijkbode.Verwerkt")
    raw_there = await asyncio.to_thread(fetch_raw, dovecot, mailbox_user, "Wijkbode.Verwerkt")
    assert sorted(inbox) == [other.uid]
    assert list(processed.values()) == [set()]
    assert [r.endswith(sent) for r in raw_there] == [True]


def fetch_raw(dovecot: DovecotServer, account: MailAccount, folder: str) -> list[bytes]:
    """Raw bytes of every mail in ``folder`` (peeking, read-only)."""
    box = MailBox(dovecot.host, dovecot.imaps_port, ssl_context=dovecot.ssl_context())
    with box.login(account.name, account.password, initial_folder=None):
        box.folder.set(folder, readonly=True)
        raws = []
        for uid in box.uids():
            _, data = box.client.uid("FETCH", uid, "(BODY.PEEK[])")
            raws.append(data[0][1])
        return raws


async def test_move_without_the_move_command_expunges_only_that_mail(
    config: ImapConfig,
    smtp_relay: SmtpRelay,
    dovecot: DovecotServer,
    mailbox_user: MailAccount,
) -> None:
    """COPY + \\Deleted + UID EXPUNGE moves exactly one mail: a mail a person flagged
    \\Deleted (and did not expunge) stays where it is."""
    for subject in ("verwerken", "door iemand verwijderd"):
        await deliver(smtp_relay, mailbox_user, subject)
    await asyncio.to_thread(flag_deleted, dovecot, mailbox_user, 2)
    mail_source = ImapMailSource(config, use_move=False)
    await mail_source.connect()
    try:
        await mail_source.move([1], QUARANTINE)
    finally:
        await mail_source.close()

    inbox = await asyncio.to_thread(inbox_flags, dovecot, mailbox_user, "INBOX")
    quarantined = await asyncio.to_thread(
        inbox_flags, dovecot, mailbox_user, "Wijkbode.Quarantaine"
    )
    assert inbox == {2: {"\\Deleted"}}
    assert list(quarantined.values()) == [set()]


def flag_deleted(dovecot: DovecotServer, account: MailAccount, uid: int) -> None:
    """Flag ``uid`` \\Deleted without expunging, as a person's mail client may."""
    box = MailBox(dovecot.host, dovecot.imaps_port, ssl_context=dovecot.ssl_context())
    with box.login(account.name, account.password):
        box.client.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Deleted)")


async def test_move_refuses_a_stale_uidvalidity(
    source: ImapMailSource, smtp_relay: SmtpRelay, mailbox_user: MailAccount
) -> None:
    """A UID from another UIDVALIDITY may name another mail: it is not moved."""
    await deliver(smtp_relay, mailbox_user, "blijft")
    current = await source.uidvalidity()

    with pytest.raises(PermanentError, match="UIDVALIDITY"):
        await source.move([1], PROCESSED, uidvalidity=current + 1)

    assert [m.uid for m in await source.fetch_after(0, limit=10)] == [1]


async def test_ensure_folders_creates_both_folders_once(
    source: ImapMailSource, dovecot: DovecotServer, mailbox_user: MailAccount
) -> None:
    """Processed and quarantine folders (and their parent) exist and are subscribed."""
    await source.ensure_folders()
    await source.ensure_folders()

    def listed() -> tuple[set[str], set[str]]:
        box = MailBox(dovecot.host, dovecot.imaps_port, ssl_context=dovecot.ssl_context())
        with box.login(mailbox_user.name, mailbox_user.password):
            return (
                {f.name for f in box.folder.list()},
                {f.name for f in box.folder.list(subscribed_only=True)},
            )

    folders, subscribed = await asyncio.to_thread(listed)
    ours = {"Wijkbode", "Wijkbode.Verwerkt", "Wijkbode.Quarantaine"}
    assert folders == {"INBOX", *ours}
    assert ours <= subscribed


async def test_wait_for_change_wakes_on_delivery(
    source: ImapMailSource, smtp_relay: SmtpRelay, mailbox_user: MailAccount
) -> None:
    """IDLE is a wake-up: a delivery ends the wait long before its timeout, and the mail is
    then found by the search."""
    assert await source.fetch_after(0, limit=10) == []
    waiting = asyncio.create_task(source.wait_for_change(LONG_WAIT))
    await asyncio.sleep(0.3)  # let the IDLE begin (mail before it is reported by the NOOP)

    await deliver(smtp_relay, mailbox_user, "wakker worden")
    await asyncio.wait_for(waiting, LONG_WAIT / 2)

    assert [m.uid for m in await source.fetch_after(0, limit=10)] == [1]


async def test_wait_for_change_returns_at_once_for_mail_after_the_last_search(
    source: ImapMailSource, smtp_relay: SmtpRelay, mailbox_user: MailAccount
) -> None:
    """Mail that arrived between the search and the wait is not slept through."""
    assert await source.fetch_after(0, limit=10) == []
    await deliver(smtp_relay, mailbox_user, "tussendoor")

    await asyncio.wait_for(source.wait_for_change(LONG_WAIT), LONG_WAIT / 2)

    assert [m.uid for m in await source.fetch_after(0, limit=10)] == [1]


async def test_cancelled_wait_leaves_a_usable_connection(
    source: ImapMailSource, smtp_relay: SmtpRelay, mailbox_user: MailAccount
) -> None:
    """Cancelling a wait (shutdown) ends the IDLE cleanly; the next command works."""
    waiting = asyncio.create_task(source.wait_for_change(LONG_WAIT))
    await asyncio.sleep(0.3)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await deliver(smtp_relay, mailbox_user, "na annuleren")

    assert [m.uid for m in await source.fetch_after(0, limit=10)] == [1]


async def test_restart_breaks_the_plain_source_with_a_transient_error(
    source: ImapMailSource, dovecot: DovecotServer
) -> None:
    """Without the resilient wrapper a restart surfaces as TransientError, never a library
    exception; connecting again works."""
    await dovecot.restart()

    with pytest.raises(TransientError):
        await source.fetch_after(0, limit=10)
    await source.connect()
    assert await source.fetch_after(0, limit=10) == []


async def test_resilient_source_survives_a_restart_between_calls(
    config: ImapConfig,
    smtp_relay: SmtpRelay,
    dovecot: DovecotServer,
    mailbox_user: MailAccount,
) -> None:
    """Dovecot restarts; the same source object reconnects by itself, finds mail delivered
    after the restart, and UIDVALIDITY is unchanged."""
    health = Health()
    health.watch("imap", within=600)
    resilient = ResilientMailSource(ImapMailSource(config), backoff=FAST_BACKOFF, health=health)
    try:
        await resilient.connect()
        await deliver(smtp_relay, mailbox_user, "voor de herstart")
        [first] = await resilient.fetch_after(0, limit=10)

        await dovecot.restart()
        sent = await deliver(smtp_relay, mailbox_user, "na de herstart")
        found = await resilient.fetch_after(first.uid, limit=10)
        uidvalidity = await resilient.uidvalidity()
    finally:
        await resilient.close()

    assert [(m.uid, m.raw.endswith(sent)) for m in found] == [(first.uid + 1, True)]
    assert uidvalidity == first.uidvalidity
    assert resilient.connections == 2
    # /healthz and /metrics: the loss is one reconnect, and the part is healthy again.
    assert health.counters() == {("connector_reconnects", (("connector", "imap"),)): 1}
    assert health.report().failing == ()


async def test_resilient_source_survives_a_restart_during_idle(
    config: ImapConfig,
    smtp_relay: SmtpRelay,
    dovecot: DovecotServer,
    mailbox_user: MailAccount,
) -> None:
    """A restart during IDLE ends the wait (a wake-up) once reconnected; the intake loop's
    next search finds mail delivered while the server was coming back."""
    resilient = ResilientMailSource(ImapMailSource(config), backoff=FAST_BACKOFF)
    try:
        await resilient.connect()
        waiting = asyncio.create_task(resilient.wait_for_change(LONG_WAIT))
        await asyncio.sleep(0.3)
        await dovecot.restart()
        sent = await deliver(smtp_relay, mailbox_user, "tijdens de herstart")
        await asyncio.wait_for(waiting, LONG_WAIT / 2)
        found = await resilient.fetch_after(0, limit=10)
    finally:
        await resilient.close()

    assert [(m.uid, m.raw.endswith(sent)) for m in found] == [(1, True)]
    assert resilient.connections >= 2


async def test_refused_login_is_logged_and_retried_until_the_password_rotates(
    dovecot: DovecotServer,
    mailbox_user: MailAccount,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A refused login is a PermanentError with a clear message for the operator; the
    resilient source retries it slowly, and once the password file holds the rotated
    password it connects without being recreated."""
    config = imap_config(dovecot, mailbox_user, tmp_path, password="oud-wachtwoord")
    password_file = tmp_path / f"{mailbox_user.name}.password"
    waits: list[float] = []

    async def rotate_password_while_waiting(delay: float) -> None:
        waits.append(delay)
        password_file.write_text(mailbox_user.password, encoding="utf-8")

    resilient = ResilientMailSource(ImapMailSource(config), sleep=rotate_password_while_waiting)
    try:
        with caplog.at_level(logging.ERROR, logger="connectors.imap.resilient"):
            await resilient.connect()
        mails = await resilient.fetch_after(0, limit=1)
    finally:
        await resilient.close()

    assert (len(waits), mails, resilient.connections) == (1, [], 1)
    assert waits[0] >= 150.0  # the slow lane: half the 300 s cap or more
    [refusal] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert "IMAP login refused" in refusal


@pytest.mark.parametrize("security", ["tls", "starttls", "none"])
async def test_every_security_mode_reads_mail(
    security: str,
    dovecot: DovecotServer,
    smtp_relay: SmtpRelay,
    mailbox_user: MailAccount,
    tmp_path: Path,
) -> None:
    """Implicit TLS and STARTTLS verify the self-signed certificate through ``ca_file``;
    ``none`` (loopback only) talks plain IMAP."""
    sent = await deliver(smtp_relay, mailbox_user, f"via {security}")
    mail_source = ImapMailSource(imap_config(dovecot, mailbox_user, tmp_path, security=security))
    try:
        await mail_source.connect()
        found = await mail_source.fetch_after(0, limit=10)
    finally:
        await mail_source.close()

    assert [m.raw.endswith(sent) for m in found] == [True]


@pytest.mark.parametrize("security", ["tls", "starttls"])
async def test_tls_without_ca_file_refuses_the_self_signed_certificate(
    security: str, dovecot: DovecotServer, mailbox_user: MailAccount, tmp_path: Path
) -> None:
    """Without ``ca_file`` the system's CAs decide, and they do not know our certificate."""
    config = imap_config(dovecot, mailbox_user, tmp_path, security=security, trust_ca=False)
    mail_source = ImapMailSource(config)
    try:
        with pytest.raises(PermanentError, match="certificate not trusted"):
            await mail_source.connect()
    finally:
        await mail_source.close()
