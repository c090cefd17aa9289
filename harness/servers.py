"""All four loopback servers together, for the demo, the benchmarks and whole-daemon tests.

async with LoopbackServers.start(run_dir) as servers:
    servers.endpoints  # hosts, ports, URLs, credentials, CA file
"""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from harness.dovecot import DovecotServer
from harness.radicale import RadicaleServer
from harness.smtp import LmtpTarget, SmtpMode, SmtpRelay
from harness.synapse import SERVER_NAME, SynapseServer
from harness.tls import SelfSignedCert

MAIL_DOMAIN = "wijk.test"
SMTP_USER = "wijkbode"


class Server(Protocol):
    """What the aggregate needs of each server."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True)
class ImapEndpoint:
    """Dovecot: IMAP with STARTTLS on ``port``, implicit TLS on ``imaps_port``."""

    host: str
    port: int
    imaps_port: int
    lmtp_port: int
    ca_file: str
    users_dir: str


@dataclass(frozen=True)
class SmtpEndpoint:
    """The relay: local domains go to Dovecot, anything else is captured."""

    host: str
    port: int
    mode: str
    username: str
    password: str
    ca_file: str
    local_domains: tuple[str, ...]
    captured_dir: str


@dataclass(frozen=True)
class CaldavEndpoint:
    """Radicale; a user's calendars live under ``url/<user>/``."""

    url: str
    htpasswd_file: str


@dataclass(frozen=True)
class MatrixEndpoint:
    """Synapse; users are registered with the shared secret."""

    base_url: str
    server_name: str
    registration_secret: str


@dataclass(frozen=True)
class Endpoints:
    """Everything a client needs to reach the servers of one run."""

    run_dir: str
    mail_domain: str
    imap: ImapEndpoint
    smtp: SmtpEndpoint
    caldav: CaldavEndpoint
    matrix: MatrixEndpoint | None

    def to_json(self) -> str:
        """The endpoints as indented JSON (what ``python -m harness up`` prints)."""
        return json.dumps(asdict(self), indent=2)


def stable_secret(path: Path) -> str:
    """A random secret kept in ``path``, so a restarted demo keeps its credentials."""
    if path.exists():
        return path.read_text("utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(18)
    path.write_text(secret + "\n", encoding="utf-8")
    path.chmod(0o600)
    return secret


def make_run_dir(prefix: str = "wijkbode-servers-") -> Path:
    """A fresh temp directory that Dovecot's unprivileged processes can traverse."""
    run_dir = Path(tempfile.mkdtemp(prefix=prefix))
    run_dir.chmod(0o755)
    return run_dir


def build_dovecot(run_dir: Path, cert: SelfSignedCert, mail_domain: str) -> DovecotServer:
    """Dovecot with TLS (STARTTLS and IMAPS) using the run's certificate."""
    return DovecotServer(run_dir / "dovecot", tls=True, cert=cert, mail_domain=mail_domain)


def build_smtp_relay(
    run_dir: Path,
    dovecot: DovecotServer,
    cert: SelfSignedCert,
    *,
    mode: SmtpMode = "starttls",
    local_domains: Sequence[str] = (MAIL_DOMAIN,),
) -> SmtpRelay:
    """The relay as a submission server: TLS, and AUTH needed to relay outside."""
    smtp_dir = run_dir / "smtp"
    return SmtpRelay(
        smtp_dir,
        LmtpTarget(dovecot.host, dovecot.lmtp_port),
        local_domains=local_domains,
        mode=mode,
        users={SMTP_USER: stable_secret(smtp_dir / "password")},
        relay_requires_auth=True,
        cert=cert,
    )


class LoopbackServers:
    """Dovecot, the SMTP relay, Radicale and (optionally) Synapse under one run directory."""

    def __init__(
        self,
        run_dir: Path,
        *,
        mail_domain: str = MAIL_DOMAIN,
        smtp_mode: SmtpMode = "starttls",
        with_synapse: bool = True,
    ) -> None:
        self.run_dir = run_dir
        self.mail_domain = mail_domain
        self.cert = SelfSignedCert.ensure(run_dir / "tls")
        self.dovecot = build_dovecot(run_dir, self.cert, mail_domain)
        self.smtp = build_smtp_relay(run_dir, self.dovecot, self.cert, mode=smtp_mode)
        self.radicale = RadicaleServer(run_dir / "radicale")
        self.synapse = SynapseServer(run_dir / "synapse") if with_synapse else None

    @classmethod
    @asynccontextmanager
    async def start(
        cls,
        run_dir: Path | None = None,
        *,
        mail_domain: str = MAIL_DOMAIN,
        smtp_mode: SmtpMode = "starttls",
        with_synapse: bool = True,
    ) -> AsyncIterator[LoopbackServers]:
        """Start every server in parallel; stop them in reverse order on exit.

        Without ``run_dir`` a temp directory is used and removed afterwards.
        """
        temporary = run_dir is None
        directory = make_run_dir() if run_dir is None else run_dir
        directory.mkdir(parents=True, exist_ok=True)
        servers = cls(
            directory.resolve(),
            mail_domain=mail_domain,
            smtp_mode=smtp_mode,
            with_synapse=with_synapse,
        )
        try:
            await servers.start_all()
            try:
                yield servers
            finally:
                await servers.stop_all()
        finally:
            if temporary:
                shutil.rmtree(directory, ignore_errors=True)

    @property
    def all(self) -> list[Server]:
        """The servers in start order."""
        listed: list[Server] = [self.dovecot, self.smtp, self.radicale]
        if self.synapse is not None:
            listed.append(self.synapse)
        return listed

    async def start_all(self) -> None:
        """Start all servers at once; if one fails, stop the others and raise its error."""
        results = await asyncio.gather(*(s.start() for s in self.all), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            await self.stop_all()
            raise errors[0]

    async def stop_all(self) -> None:
        """Stop every server, the last started first."""
        for server in reversed(self.all):
            await server.stop()

    @property
    def endpoints(self) -> Endpoints:
        """Hosts, ports and credentials of this run."""
        return Endpoints(
            run_dir=str(self.run_dir),
            mail_domain=self.mail_domain,
            imap=imap_endpoint(self.dovecot),
            smtp=smtp_endpoint(self.smtp),
            caldav=caldav_endpoint(self.radicale),
            matrix=matrix_endpoint(self.synapse) if self.synapse is not None else None,
        )


def imap_endpoint(dovecot: DovecotServer) -> ImapEndpoint:
    """Endpoint description of a running Dovecot."""
    assert dovecot.cert is not None
    return ImapEndpoint(
        host=dovecot.host,
        port=dovecot.imap_port,
        imaps_port=dovecot.imaps_port,
        lmtp_port=dovecot.lmtp_port,
        ca_file=str(dovecot.cert.cert_file),
        users_dir=str(dovecot.users_dir),
    )


def smtp_endpoint(relay: SmtpRelay) -> SmtpEndpoint:
    """Endpoint description of the relay (first AUTH user)."""
    assert relay.cert is not None
    username, password = next(iter(relay.users.items()), ("", ""))
    return SmtpEndpoint(
        host=relay.host,
        port=relay.port,
        mode=relay.mode,
        username=username,
        password=password,
        ca_file=str(relay.cert.cert_file),
        local_domains=tuple(sorted(relay.local_domains)),
        captured_dir=str(relay.root / "captured"),
    )


def caldav_endpoint(radicale: RadicaleServer) -> CaldavEndpoint:
    """Endpoint description of Radicale."""
    return CaldavEndpoint(url=radicale.base_url, htpasswd_file=str(radicale.htpasswd))


def matrix_endpoint(synapse: SynapseServer) -> MatrixEndpoint:
    """Endpoint description of Synapse."""
    return MatrixEndpoint(
        base_url=synapse.base_url,
        server_name=SERVER_NAME,
        registration_secret=synapse.registration_secret,
    )
