"""Real loopback servers for integration tests: each started once per session, on first use.

Session fixtures: ``servers_dir``, ``tls_cert``, ``dovecot``, ``smtp_relay``,
``radicale``, ``synapse``, ``servers`` (all endpoints; starts all four).
Per test: ``mailbox_user``, ``captured_mail``, ``caldav_user``, ``matrix_user``,
``make_smtp_relay`` (extra relays in other modes).
"""

from __future__ import annotations

import itertools
import secrets
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from harness.dovecot import DovecotServer, MailAccount
from harness.radicale import CaldavAccount, RadicaleServer
from harness.servers import (
    MAIL_DOMAIN,
    SMTP_USER,
    Endpoints,
    build_dovecot,
    build_smtp_relay,
    caldav_endpoint,
    imap_endpoint,
    make_run_dir,
    matrix_endpoint,
    smtp_endpoint,
)
from harness.smtp import CaptureView, LmtpTarget, SmtpMode, SmtpRelay
from harness.synapse import SynapseServer, name_tag
from harness.tls import SelfSignedCert

_unique = itertools.count(1)


def unique_name(prefix: str) -> str:
    """A user name no other test in this session has (lower case, IMAP- and Matrix-safe)."""
    return f"{prefix}{next(_unique)}x{name_tag(6)}"


@pytest.fixture(scope="session")
def servers_dir() -> Iterator[Path]:
    """One traversable temp directory holding every server's files for the session."""
    run_dir = make_run_dir("wijkbode-test-servers-")
    yield run_dir
    shutil.rmtree(run_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def tls_cert(servers_dir: Path) -> SelfSignedCert:
    """The self-signed certificate Dovecot and the SMTP relay present."""
    return SelfSignedCert.ensure(servers_dir / "tls")


@pytest_asyncio.fixture(scope="session")
async def dovecot(servers_dir: Path, tls_cert: SelfSignedCert) -> AsyncIterator[DovecotServer]:
    """Dovecot with IMAP (STARTTLS), IMAPS and LMTP; use ``dovecot.ssl_context()``."""
    server = build_dovecot(servers_dir, tls_cert, MAIL_DOMAIN)
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture(scope="session")
async def smtp_relay(
    servers_dir: Path, dovecot: DovecotServer, tls_cert: SelfSignedCert
) -> AsyncIterator[SmtpRelay]:
    """The MTA: STARTTLS required, AUTH as ``SMTP_USER`` needed to relay to other domains."""
    relay = build_smtp_relay(servers_dir, dovecot, tls_cert)
    await relay.start()
    yield relay
    await relay.stop()


@pytest_asyncio.fixture(scope="session")
async def radicale(servers_dir: Path) -> AsyncIterator[RadicaleServer]:
    """Radicale with htpasswd users."""
    server = RadicaleServer(servers_dir / "radicale")
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture(scope="session")
async def synapse(servers_dir: Path) -> AsyncIterator[SynapseServer]:
    """Synapse with rate limits raised; users via ``register_user``."""
    server = SynapseServer(servers_dir / "synapse")
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="session")
def servers(
    servers_dir: Path,
    dovecot: DovecotServer,
    smtp_relay: SmtpRelay,
    radicale: RadicaleServer,
    synapse: SynapseServer,
) -> Endpoints:
    """Endpoints of all four servers (the same shape ``python -m harness up`` prints)."""
    return Endpoints(
        run_dir=str(servers_dir),
        mail_domain=MAIL_DOMAIN,
        imap=imap_endpoint(dovecot),
        smtp=smtp_endpoint(smtp_relay),
        caldav=caldav_endpoint(radicale),
        matrix=matrix_endpoint(synapse),
    )


@pytest.fixture
def smtp_login(smtp_relay: SmtpRelay) -> tuple[str, str]:
    """(user, password) that may relay through ``smtp_relay``."""
    return SMTP_USER, smtp_relay.users[SMTP_USER]


@pytest.fixture
def mailbox_user(dovecot: DovecotServer) -> MailAccount:
    """A fresh Dovecot user for this test; mail to ``.address`` lands in its INBOX."""
    return dovecot.add_user(unique_name("mb"), secrets.token_urlsafe(12))


@pytest.fixture
def captured_mail(smtp_relay: SmtpRelay) -> CaptureView:
    """Mail the relay captured (non-local recipients) during this test only."""
    return smtp_relay.view()


@pytest.fixture
def caldav_user(radicale: RadicaleServer) -> CaldavAccount:
    """A fresh Radicale user for this test."""
    return radicale.add_user(unique_name("cal"), secrets.token_urlsafe(12))


@dataclass(frozen=True)
class MatrixAccount:
    """A registered Synapse user."""

    user_id: str
    localpart: str
    password: str


@pytest_asyncio.fixture
async def matrix_user(synapse: SynapseServer) -> MatrixAccount:
    """A fresh Synapse user for this test (not logged in: no device yet)."""
    localpart = unique_name("mx")
    user_id, password = await synapse.register_user(localpart, secrets.token_urlsafe(12))
    return MatrixAccount(user_id, localpart, password)


MakeRelay = Callable[..., Awaitable[SmtpRelay]]


@pytest_asyncio.fixture
async def make_smtp_relay(
    tmp_path: Path, dovecot: DovecotServer, tls_cert: SelfSignedCert
) -> AsyncIterator[MakeRelay]:
    """Factory for extra relays (``mode``, ``users``, ``relay_requires_auth``, ``smtputf8``),
    stopped after."""
    started: list[SmtpRelay] = []

    async def make(
        mode: SmtpMode = "plain",
        *,
        users: dict[str, str] | None = None,
        relay_requires_auth: bool = False,
        smtputf8: bool = False,
    ) -> SmtpRelay:
        relay = SmtpRelay(
            tmp_path / f"smtp-{len(started)}",
            LmtpTarget(dovecot.host, dovecot.lmtp_port),
            local_domains=(MAIL_DOMAIN,),
            mode=mode,
            users=users,
            relay_requires_auth=relay_requires_auth,
            cert=tls_cert,
            smtputf8=smtputf8,
        )
        await relay.start()
        started.append(relay)
        return relay

    yield make
    for relay in reversed(started):
        await relay.stop()
