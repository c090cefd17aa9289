"""Probe the SMTP server: connect, TLS as configured, log in, quit. Nothing is sent."""

from __future__ import annotations

import asyncio

import aiosmtplib

from connectors.probe.errors import detail, network_kind
from connectors.smtp_sessions import new_client
from connectors.tls import client_context
from daemon.config.schema import SmtpConfig
from daemon.errors import ConfigError
from daemon.ports.probe import Finding, Kind, Severity

TIMEOUT_SECONDS = 15.0  # a server slower than this to answer a probe is as good as down
NAME = "smtp"


async def probe_smtp(config: SmtpConfig) -> list[Finding]:
    where = f"{config.host}:{config.port}"
    try:
        password = await asyncio.to_thread(config.password.reveal) if config.password else None
        tls = None if config.security == "none" else client_context(config.ca_file)
    except (ConfigError, OSError) as error:
        return [Finding(NAME, Kind.SECRET_MISSING, Severity.ERROR, where, str(error))]
    client = new_client(config, password, tls, TIMEOUT_SECONDS)
    try:
        await client.connect()
    except aiosmtplib.SMTPAuthenticationError as error:
        who = config.username or ""
        return [Finding(NAME, Kind.LOGIN_REFUSED, Severity.ERROR, who, detail(error))]
    except (aiosmtplib.SMTPException, OSError) as error:
        return [Finding(NAME, network_kind(error), Severity.ERROR, where, detail(error))]
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            await client.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        client.close()
    return [Finding(NAME, Kind.CONNECTED, Severity.OK, f"{config.username or '-'} @ {where}")]
