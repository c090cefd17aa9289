"""A real Synapse homeserver on loopback, for tests, benchmarks and the demo.

One ``SynapseServer`` owns a run directory (config, SQLite database, media,
signing key) and a ``python -m synapse.app.homeserver`` child process on a
free 127.0.0.1 port. ``restart()`` keeps the port and the data, so a client
can watch the server go away and come back.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import secrets
import shutil
import string
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.ports import free_port

SERVER_NAME = "localhost"
START_TIMEOUT_S = 60.0

# Everything a test does quickly: messages, logins, joins, invites, media, keys.
_RATE_LIMIT_KEYS = (
    "rc_message",
    "rc_registration",
    "rc_admin_redaction",
    "rc_joins_per_room",
    "rc_key_requests",
    "rc_3pid_validation",
    "rc_third_party_invite",
    "rc_media_create",
    "rc_room_creation",
    "rc_reports",
    "rc_delayed_event_mgmt",
    "rc_user_directory",
    "rc_profile",
)
_NESTED_RATE_LIMIT_KEYS = {
    "rc_login": ("address", "account", "failed_attempts"),
    "rc_joins": ("local", "remote"),
    "rc_invites": ("per_room", "per_user", "per_issuer"),
    "rc_presence": ("per_user",),
}
_HIGH = {"per_second": 1000, "burst_count": 1000}
# Low enough that a handful of quick sends is refused with M_LIMIT_EXCEEDED.
_LOW_MESSAGE_LIMIT = {"per_second": 0.5, "burst_count": 2}


def name_tag(length: int = 8) -> str:
    """A random lower-case tag for a user name, letters only: a run of six digits in a
    Matrix id reads as a phone number, which Wijkbode hides (daemon/rules/names.py), so
    a random hex tag made a test's member look bridged about one run in ten."""
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(length))


def _rate_limits(rate_limited: bool) -> dict[str, Any]:
    limits: dict[str, Any] = {key: dict(_HIGH) for key in _RATE_LIMIT_KEYS}
    for key, subkeys in _NESTED_RATE_LIMIT_KEYS.items():
        limits[key] = {sub: dict(_HIGH) for sub in subkeys}
    if rate_limited:
        limits["rc_message"] = dict(_LOW_MESSAGE_LIMIT)
    return limits


class SynapseServer:
    """A throwaway Synapse on 127.0.0.1 with SQLite and a shared registration secret."""

    def __init__(
        self,
        run_dir: Path | None = None,
        *,
        rate_limited: bool = False,
        appservices: Sequence[Path] = (),
    ) -> None:
        self._owns_dir = run_dir is None
        self.run_dir = Path(tempfile.mkdtemp(prefix="synapse-")) if run_dir is None else run_dir
        self.rate_limited = rate_limited
        # Application service registration files (e.g. harness/whatsapp_bridge.py's);
        # a server started without any is configured exactly as before.
        self.appservices = tuple(appservices)
        self.port = free_port()
        self.registration_secret = secrets.token_hex(16)
        self._macaroon_secret = secrets.token_hex(16)
        self._form_secret = secrets.token_hex(16)
        self._process: asyncio.subprocess.Process | None = None
        self._log_file: Any = None
        self._admin_token: str | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.run_dir / "homeserver.yaml"

    @property
    def log_path(self) -> Path:
        return self.run_dir / "synapse.log"

    async def start(self) -> None:
        """Write the config (first time), generate keys, start and wait until it answers."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._write_config()
        if not (self.run_dir / "signing.key").exists():
            await asyncio.to_thread(self._run_synapse, "--generate-keys")
        self._log_file = self.log_path.open("ab")
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "synapse.app.homeserver",
            "-c",
            str(self.config_path),
            cwd=self.run_dir,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            # Its own session: a Ctrl-C in the terminal reaches only the harness (or the
            # demo), which stops its clients first and Synapse after them.
            start_new_session=True,
        )
        await self._wait_ready()

    async def stop(self) -> None:
        """Terminate the process (data stays); a no-op when not running."""
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                async with asyncio.timeout(15):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    async def restart(self) -> None:
        """Stop and start again on the same port with the same data."""
        await self.stop()
        await self.start()

    async def cleanup(self) -> None:
        """Stop and remove the run directory if this object created it."""
        await self.stop()
        if self._owns_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    async def register_user(
        self, localpart: str, password: str, *, admin: bool = False
    ) -> tuple[str, str]:
        """Register through the shared-secret admin API; returns (user_id, password)."""
        nonce = (await self._request("GET", "/_synapse/admin/v1/register"))["nonce"]
        mac = hmac.new(self.registration_secret.encode(), digestmod=hashlib.sha1)
        for part in (nonce, localpart, password):
            mac.update(part.encode())
            mac.update(b"\x00")
        mac.update(b"admin" if admin else b"notadmin")
        body = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": mac.hexdigest(),
        }
        answer = await self._request("POST", "/_synapse/admin/v1/register", body)
        return str(answer["user_id"]), password

    async def admin_token(self) -> str:
        """An access token of an admin user, registered on first use."""
        if self._admin_token is None:
            user_id, password = await self.register_user(
                f"admin{secrets.token_hex(4)}", secrets.token_hex(12), admin=True
            )
            self._admin_token = await self.login(user_id, password)
        return self._admin_token

    async def login(self, user_id: str, password: str) -> str:
        """A fresh access token (a new device) for ``user_id``."""
        body = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user_id},
            "password": password,
        }
        answer = await self._request("POST", "/_matrix/client/v3/login", body)
        return str(answer["access_token"])

    async def client_api(
        self, method: str, path: str, token: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A raw client-server API call as ``token`` (tests use it to look behind the bot)."""
        return await self._request(method, path, body, token)

    async def _request(
        self, method: str, path: str, body: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        return await asyncio.to_thread(self._request_sync, method, path, body, token)

    def _request_sync(
        self, method: str, path: str, body: dict[str, Any] | None, token: str | None
    ) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer: dict[str, Any] = json.loads(response.read() or b"{}")
                return answer
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            raise RuntimeError(f"{method} {path} -> {error.code}: {detail}") from error

    def _run_synapse(self, *extra: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "synapse.app.homeserver", "-c", str(self.config_path), *extra],
            cwd=self.run_dir,
            check=True,
            capture_output=True,
        )

    async def _wait_ready(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT_S
        while loop.time() < deadline:
            if self._process is None or self._process.returncode is not None:
                raise RuntimeError(f"synapse exited during start; see {self.log_path}")
            try:
                await self._request("GET", "/_matrix/client/versions")
                return
            except (OSError, RuntimeError):
                await asyncio.sleep(0.1)
        raise RuntimeError(f"synapse did not answer within {START_TIMEOUT_S}s; see {self.log_path}")

    def _write_config(self) -> None:
        media = self.run_dir / "media"
        media.mkdir(exist_ok=True)
        config: dict[str, Any] = {
            "server_name": SERVER_NAME,
            "pid_file": str(self.run_dir / "homeserver.pid"),
            "public_baseurl": self.base_url + "/",
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {
                "name": "sqlite3",
                "args": {"database": str(self.run_dir / "homeserver.db")},
            },
            "media_store_path": str(media),
            "signing_key_path": str(self.run_dir / "signing.key"),
            "registration_shared_secret": self.registration_secret,
            "macaroon_secret_key": self._macaroon_secret,
            "form_secret": self._form_secret,
            "trusted_key_servers": [],
            "federation_domain_whitelist": [],
            "report_stats": False,
            "enable_registration": False,
            "suppress_key_server_warning": True,
            **_rate_limits(self.rate_limited),
        }
        if self.appservices:
            config["app_service_config_files"] = [str(path) for path in self.appservices]
        # JSON is valid YAML; no YAML writer needed.
        self.config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
        os.chmod(self.config_path, 0o600)
