"""A whole configuration on the loopback servers, for ``check-config --connect`` and
``init``: a bot with its rooms, a mailbox, the relay, a Radicale user."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from harness.servers import SMTP_USER
from harness.synapse import SERVER_NAME, SynapseServer


@dataclass
class Setup:
    """Every value the config needs; tests change one to break one thing."""

    homeserver: str
    bot: str
    bot_password: str
    rooms: list[str]
    mail_address: str
    imap_host: str
    imap_port: int
    imap_user: str
    imap_password: str
    imap_ca: str | None
    smtp_host: str
    smtp_port: int
    smtp_password: str
    smtp_ca: str
    caldav_url: str
    caldav_user: str
    caldav_password: str
    listen: str
    imap_folder: str = "INBOX"
    planning_calendar: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def write_config(directory: Path, setup: Setup) -> Path:
    """``wijkbode.toml`` and its secret files in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    secrets_dir = directory / "secrets"
    secrets_dir.mkdir(exist_ok=True)
    for name, value in (
        ("matrix", setup.bot_password),
        ("imap", setup.imap_password),
        ("smtp", setup.smtp_password),
        ("caldav", setup.caldav_password),
    ):
        (secrets_dir / name).write_text(value + "\n", encoding="utf-8")
    imap_ca = f"ca_file = {q(setup.imap_ca)}\n" if setup.imap_ca else ""
    planning = (
        f"planning_calendar = {q(setup.planning_calendar)}\n" if setup.planning_calendar else ""
    )
    rooms = ", ".join(q(r) for r in setup.rooms[1:])
    text = f"""\
timezone = "Europe/Amsterdam"
language = "nl"
state_dir = "state"
default_series = "wijkalliantie"

[series.wijkalliantie]
title = "Wijkalliantie"
public = true

[series.wijkalliantie.plan]
dates = [2030-01-15T19:30:00]

[matrix]
homeserver = {q(setup.homeserver)}
user_id = {q(setup.bot)}
password_file = "secrets/matrix"
core_room = {q(setup.rooms[0])}
announce_rooms = [{rooms}]

[mail]
address = {q(setup.mail_address)}

[mail.imap]
host = {q(setup.imap_host)}
port = {setup.imap_port}
security = "tls"
username = {q(setup.imap_user)}
password_file = "secrets/imap"
folder = {q(setup.imap_folder)}
{imap_ca}
[mail.smtp]
host = {q(setup.smtp_host)}
port = {setup.smtp_port}
security = "starttls"
username = {q(SMTP_USER)}
password_file = "secrets/smtp"
ca_file = {q(setup.smtp_ca)}

[caldav]
url = {q(setup.caldav_url)}
calendar = "Wijkagenda"
username = {q(setup.caldav_user)}
password_file = "secrets/caldav"
{planning}
[http]
listen = {q(setup.listen)}
"""
    path = directory / "wijkbode.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def create_room(
    synapse: SynapseServer,
    token: str,
    *,
    invite: list[str] | None = None,
    events_default: int | None = None,
    encrypted: bool = False,
) -> str:
    """A room with a fresh alias made by ``token``'s user; returns the alias."""
    local = f"kamer{secrets.token_hex(4)}"
    body: dict[str, Any] = {"room_alias_name": local, "invite": invite or []}
    if events_default is not None:
        body["power_level_content_override"] = {
            "events_default": events_default,
            "events": {"m.room.message": events_default},
        }
    if encrypted:
        body["initial_state"] = [
            {
                "type": "m.room.encryption",
                "state_key": "",
                "content": {"algorithm": "m.megolm.v1.aes-sha2"},
            }
        ]
    await synapse.client_api("POST", "/_matrix/client/v3/createRoom", token, body)
    return f"#{local}:{SERVER_NAME}"


async def join(synapse: SynapseServer, token: str, alias: str) -> None:
    await synapse.client_api("POST", f"/_matrix/client/v3/join/{quote(alias, safe='')}", token, {})
