"""Probe the IMAP mailbox: login, the intake folder, and our two folders."""

from __future__ import annotations

import asyncio
import imaplib

from imap_tools.errors import MailboxLoginError, MailboxStarttlsError, UnexpectedCommandStatusError

from connectors.imap.folders import INBOX
from connectors.imap.session import ImapLogin, ImapSession
from connectors.probe.errors import detail, network_kind
from connectors.tls import client_context
from daemon.config.schema import ImapConfig
from daemon.errors import ConfigError
from daemon.ports.probe import Finding, Kind, Severity

TIMEOUT_SECONDS = 15.0  # a server slower than this to answer a probe is as good as down
NAME = "imap"


async def probe_imap(config: ImapConfig) -> list[Finding]:
    # imaplib blocks; one thread for the whole look, as the intake does.
    return await asyncio.to_thread(_probe, config, TIMEOUT_SECONDS)


def _probe(config: ImapConfig, timeout: float) -> list[Finding]:
    where = f"{config.host}:{config.port}"
    try:
        login = ImapLogin(
            host=config.host,
            port=config.port,
            security=config.security,
            username=config.username,
            password=config.password.reveal() if config.password else None,
            oauth2_token=config.oauth2_token.reveal() if config.oauth2_token else None,
            ssl_context=None if config.security == "none" else client_context(config.ca_file),
            timeout=timeout,
        )
    except (ConfigError, OSError) as error:  # a secret or CA file that is not there
        return [Finding(NAME, Kind.SECRET_MISSING, Severity.ERROR, where, str(error))]
    try:
        session = ImapSession.open(login, INBOX)
    except MailboxLoginError as error:
        return [Finding(NAME, Kind.LOGIN_REFUSED, Severity.ERROR, config.username, detail(error))]
    except MailboxStarttlsError as error:
        kind = network_kind(error)
        kind = kind if kind is Kind.CERTIFICATE else Kind.TLS_FAILED
        return [Finding(NAME, kind, Severity.ERROR, where, detail(error))]
    except (OSError, imaplib.IMAP4.error, UnexpectedCommandStatusError) as error:
        return [Finding(NAME, network_kind(error), Severity.ERROR, where, detail(error))]
    try:
        found = [Finding(NAME, Kind.CONNECTED, Severity.OK, f"{config.username} @ {where}")]
        if session.has_folder(config.folder):
            found.append(Finding(NAME, Kind.FOLDER_OK, Severity.OK, config.folder))
        else:
            found.append(Finding(NAME, Kind.FOLDER_MISSING, Severity.ERROR, config.folder))
        for ours in (config.processed_folder, config.quarantine_folder):
            kind = Kind.FOLDER_OK if session.has_folder(ours) else Kind.FOLDER_CREATED_LATER
            found.append(Finding(NAME, kind, Severity.OK, ours))
        return found
    except (OSError, imaplib.IMAP4.error, UnexpectedCommandStatusError) as error:
        return [Finding(NAME, network_kind(error), Severity.ERROR, where, detail(error))]
    finally:
        session.close()
