"""The fault suite's own servers: Synapse, Dovecot, the SMTP relay and Radicale.

The fault tests stop and start every server, so they get their own set, not
the integration suite's session servers (stopping those would disturb the
tests that share them).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest_asyncio

from harness.dovecot import DovecotServer
from harness.radicale import RadicaleServer
from harness.servers import MAIL_DOMAIN, build_dovecot, build_smtp_relay, make_run_dir
from harness.smtp import SmtpRelay
from harness.synapse import SynapseServer
from harness.tls import SelfSignedCert


@dataclass
class FaultServers:
    """The four servers, each of which a test may stop and start again (same port, same data)."""

    run_dir: Path
    dovecot: DovecotServer
    relay: SmtpRelay
    radicale: RadicaleServer
    synapse: SynapseServer


@pytest_asyncio.fixture(scope="session")
async def fault_servers() -> AsyncIterator[FaultServers]:
    run_dir = make_run_dir("wijkbode-faults-")
    cert = SelfSignedCert.ensure(run_dir / "tls")
    dovecot = build_dovecot(run_dir, cert, MAIL_DOMAIN)
    relay = build_smtp_relay(run_dir, dovecot, cert)
    radicale = RadicaleServer(run_dir / "radicale")
    synapse = SynapseServer(run_dir / "synapse")
    started: list[DovecotServer | SmtpRelay | RadicaleServer | SynapseServer] = []
    try:
        for server in (dovecot, relay, radicale, synapse):
            await server.start()
            started.append(server)
        yield FaultServers(run_dir, dovecot, relay, radicale, synapse)
    finally:
        for server in reversed(started):
            await server.stop()
        shutil.rmtree(run_dir, ignore_errors=True)
