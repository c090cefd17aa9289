"""The demo's accounts on the loopback servers, with every password in a 0600 file.

Wijkbode's mailbox on Dovecot, its SMTP relay login, its Radicale user and
calendar, and two Matrix users: the bot and alice, a core-group member.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from caldav.davclient import DAVClient

from harness.demo_config import ALICE, BOT, CALDAV_USER, CALENDAR, MAIL_USER, Secrets
from harness.servers import LoopbackServers, stable_secret
from harness.synapse import SynapseServer


@dataclass(frozen=True)
class Accounts:
    """Where the daemon's secrets are, and alice's password (she is no part of the config)."""

    secrets: Secrets
    alice_password: str
    calendar_url: str


async def create_accounts(servers: LoopbackServers, secrets_dir: Path) -> Accounts:
    """Make every account the demo needs; passwords go to ``secrets_dir`` (0700, files 0600)."""
    secrets = _secret_files(secrets_dir)
    servers.dovecot.add_user(MAIL_USER, stable_secret(secrets.imap))
    _write_secret(secrets.smtp, servers.endpoints.smtp.password)
    caldav_password = stable_secret(secrets.caldav)
    servers.radicale.add_user(CALDAV_USER, caldav_password)
    calendar_url = await asyncio.to_thread(
        make_calendar, servers.radicale.user_url(CALDAV_USER), CALDAV_USER, caldav_password
    )
    assert servers.synapse is not None, "the demo needs Synapse"
    await _register(servers.synapse, BOT, stable_secret(secrets.matrix))
    alice_password = stable_secret(secrets_dir / "alice-password")
    await _register(servers.synapse, ALICE, alice_password)
    return Accounts(secrets, alice_password, calendar_url)


def _secret_files(secrets_dir: Path) -> Secrets:
    """The secret files' paths, in a directory only we may read."""
    secrets_dir.mkdir(parents=True, exist_ok=True)
    secrets_dir.chmod(0o700)
    return Secrets(
        imap=secrets_dir / "imap-password",
        smtp=secrets_dir / "smtp-password",
        caldav=secrets_dir / "caldav-password",
        matrix=secrets_dir / "matrix-password",
    )


def make_calendar(principal_url: str, username: str, password: str) -> str:
    """Create the calendar Wijkbode writes to (by display name) and return its URL."""
    client: Any = DAVClient(
        url=principal_url, username=username, password=password, enable_rfc6764=False
    )
    with client:
        principal = client.principal()
        calendar = principal.make_calendar(
            name=CALENDAR, cal_id="wijkagenda", supported_calendar_component_set=["VEVENT"]
        )
        return str(calendar.url)


async def _register(synapse: SynapseServer, localpart: str, password: str) -> None:
    try:
        await synapse.register_user(localpart, password)
    except RuntimeError as error:
        if "M_USER_IN_USE" not in str(error):
            raise


def _write_secret(path: Path, value: str) -> None:
    """Write ``value`` to a file that is 0600 from its first byte."""
    path.unlink(missing_ok=True)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
        file.write(value + "\n")
