"""Login once, then restore the same device on every start.

Everything lives under ``state_dir/matrix/`` (directory 0700, secrets 0600):

- ``credentials.json``: user id, device id, access token (from the one login);
- ``pickle_key``: a random key, made once, that encrypts nio's key store;
- ``store/``: nio's SQLite store with the Olm account and Megolm sessions.

A second ``login()`` would make a new device that cannot read older messages,
so it only happens when there are no credentials yet. The device is never
logged out: that would delete its keys on the server.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

import nio

from connectors.matrix.errors import check, translated
from daemon.errors import ConfigError, PermanentError

log = logging.getLogger(__name__)

# nio retries a refused connection this many times before raising; the sync loop
# then backs off with jitter itself, and a send fails as TransientError.
MAX_CONNECTION_RETRIES = 2


@dataclass(frozen=True, slots=True)
class MatrixSettings:
    """What the connector needs from the configuration."""

    homeserver: str
    user_id: str
    state_dir: Path
    password: str | None = None
    access_token: str | None = None
    device_name: str = "Wijkbode"
    # How long an undecryptable event waits for its key before it is reported.
    undecryptable_hold_s: float = 600.0
    sync_timeout_ms: int = 30_000

    @property
    def matrix_dir(self) -> Path:
        return self.state_dir / "matrix"


@dataclass(frozen=True, slots=True)
class Credentials:
    homeserver: str
    user_id: str
    device_id: str
    access_token: str


def write_private(path: Path, text: str) -> None:
    """Write ``text`` atomically to a 0600 file."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def load_credentials(path: Path) -> Credentials | None:
    if not path.exists():
        return None
    return Credentials(**json.loads(path.read_text("utf-8")))


def save_credentials(path: Path, credentials: Credentials) -> None:
    write_private(path, json.dumps(asdict(credentials), indent=2))


def pickle_key(matrix_dir: Path) -> str:
    """The store's pickle key: random, made on first use, never nio's default."""
    path = matrix_dir / "pickle_key"
    if not path.exists():
        write_private(path, secrets.token_urlsafe(32))
    return path.read_text("utf-8").strip()


def prepare_dirs(settings: MatrixSettings) -> Path:
    """Create ``state_dir/matrix/store`` (0700) and return the store path."""
    store = settings.matrix_dir / "store"
    store.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.matrix_dir, 0o700)
    os.chmod(store, 0o700)
    return store


def client_config(settings: MatrixSettings) -> nio.AsyncClientConfig:
    return nio.AsyncClientConfig(
        encryption_enabled=True,
        pickle_key=pickle_key(settings.matrix_dir),
        # Wijkbode saves the sync token itself, after the events are handled.
        store_sync_tokens=False,
        max_timeouts=MAX_CONNECTION_RETRIES,
        request_timeout=settings.sync_timeout_ms / 1000 + 30,
    )


async def open_session(settings: MatrixSettings) -> nio.AsyncClient:
    """An nio client logged in as our one device, with its key store loaded."""
    store_path = prepare_dirs(settings)
    config = client_config(settings)
    creds_path = settings.matrix_dir / "credentials.json"
    credentials = load_credentials(creds_path)
    if credentials is None:
        credentials = await _first_login(settings, config, str(store_path))
        save_credentials(creds_path, credentials)
        log.info(
            "Matrix: logged in as %s, new device %s", credentials.user_id, credentials.device_id
        )
    client = nio.AsyncClient(
        credentials.homeserver,
        credentials.user_id,
        device_id=credentials.device_id,
        store_path=str(store_path),
        config=config,
    )
    client.restore_login(credentials.user_id, credentials.device_id, credentials.access_token)
    await _check_token(client)
    return client


async def _first_login(
    settings: MatrixSettings, config: nio.AsyncClientConfig, store_path: str
) -> Credentials:
    client = nio.AsyncClient(settings.homeserver, settings.user_id, config=config)
    try:
        if settings.access_token:
            client.access_token = settings.access_token
            with translated("whoami"):
                who = check(await client.whoami(), "whoami")
            if who.user_id != settings.user_id or not who.device_id:
                raise ConfigError(
                    f"matrix.access_token hoort bij {who.user_id}, niet bij {settings.user_id} "
                    f"(the access token belongs to another user or has no device)"
                )
            return Credentials(settings.homeserver, who.user_id, who.device_id, client.access_token)
        if not settings.password:
            raise ConfigError(
                "matrix: geef password of access_token voor de eerste login "
                "(give matrix.password or matrix.access_token for the first login)"
            )
        with translated("login"):
            answer = check(
                await client.login(settings.password, device_name=settings.device_name), "login"
            )
        return Credentials(
            settings.homeserver, answer.user_id, answer.device_id, answer.access_token
        )
    finally:
        await client.close()


async def _check_token(client: nio.AsyncClient) -> None:
    """Fail clearly when the stored token was revoked, instead of syncing into 401s."""
    with translated("whoami"):
        answer = await client.whoami()
    if isinstance(answer, nio.ErrorResponse) and answer.status_code == "M_UNKNOWN_TOKEN":
        await client.close()
        raise PermanentError(
            "het Matrix-apparaat van Wijkbode is afgemeld; verwijder matrix/credentials.json "
            "en start opnieuw met een wachtwoord (the device was logged out: remove "
            "matrix/credentials.json and start again with a password)"
        )
