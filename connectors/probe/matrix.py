"""Probe the homeserver: reachable, the login, each configured room (joined, may post,
encrypted with a cross-signed device), and the server's clock.

Plain client-server API calls over aiohttp, so no nio key store is opened. With
the daemon's own device (``state_dir/matrix/credentials.json``) its token is
used; without it a password login makes a short-lived device that is logged
out again at the end, so probing leaves no device behind.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from connectors.probe.errors import detail, network_kind
from connectors.probe.http import skew_from_date
from daemon.config.schema import MatrixConfig
from daemon.errors import ConfigError
from daemon.ports.probe import Finding, Kind, Severity, clock_finding

TIMEOUT_SECONDS = 15.0  # a server slower than this to answer a probe is as good as down
NAME = "matrix"
API = "/_matrix/client/v3"


class _RefusedError(Exception):
    """The homeserver answered with an error status."""

    def __init__(self, status: int, answer: dict[str, Any]) -> None:
        super().__init__(f"HTTP {status} {answer.get('errcode', '')} {answer.get('error', '')}")
        self.status = status
        self.errcode = str(answer.get("errcode", ""))


class _Api:
    def __init__(self, session: aiohttp.ClientSession, homeserver: str) -> None:
        self.session, self.base, self.token = session, homeserver.rstrip("/"), ""

    async def call(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with self.session.request(
            method, self.base + path, json=body, headers=headers
        ) as response:
            try:
                answer = await response.json(content_type=None)
            except (ValueError, aiohttp.ContentTypeError):
                answer = {}
            answer = answer if isinstance(answer, dict) else {}
            if response.status >= 400:
                raise _RefusedError(response.status, answer)
            return answer

    async def skew(self) -> float | None:
        before = datetime.now(UTC)
        async with self.session.get(self.base + "/_matrix/client/versions") as response:
            if response.status >= 400:
                raise _RefusedError(response.status, {})
            after = datetime.now(UTC)
            return skew_from_date(response.headers.get("Date"), before + (after - before) / 2)


async def probe_matrix(config: MatrixConfig, state_dir: Path) -> list[Finding]:
    try:
        token, device = _stored(config, state_dir)
        password = config.password.reveal() if config.password and not token else None
        if not token and config.access_token is not None:
            token = config.access_token.reveal()
    except ConfigError as error:
        return [Finding(NAME, Kind.SECRET_MISSING, Severity.ERROR, config.user_id, str(error))]
    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
    ) as session:
        api = _Api(session, config.homeserver)
        try:
            skew = await api.skew()
        except _RefusedError as error:  # something answers, but not as a homeserver
            return [Finding(NAME, Kind.NOT_MATRIX, Severity.ERROR, config.homeserver, str(error))]
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            kind = network_kind(error)
            return [Finding(NAME, kind, Severity.ERROR, config.homeserver, detail(error))]
        found: list[Finding] = []
        late = clock_finding(NAME, config.homeserver, skew) if skew is not None else None
        if late is not None:
            found.append(late)
        logged_in_here = False
        try:
            if token:
                api.token = token
                who = await api.call("GET", f"{API}/account/whoami")
                device = device or str(who.get("device_id", "")) or None
            else:
                answer = await api.call(
                    "POST",
                    f"{API}/login",
                    {
                        "type": "m.login.password",
                        "identifier": {"type": "m.id.user", "user": config.user_id},
                        "password": password or "",
                        "initial_device_display_name": "Wijkbode check-config",
                    },
                )
                api.token, logged_in_here = str(answer.get("access_token", "")), True
        except _RefusedError as error:
            if error.status in (401, 403):
                return [*found, _login_refused(config, error)]
            return [*found, Finding(NAME, Kind.FAILED, Severity.ERROR, config.user_id, str(error))]
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            kind = network_kind(error)
            return [*found, Finding(NAME, kind, Severity.ERROR, config.homeserver, detail(error))]
        try:
            found.append(Finding(NAME, Kind.CONNECTED, Severity.OK, config.user_id))
            found += await _rooms(api, config, device)
        except (aiohttp.ClientError, OSError, TimeoutError, _RefusedError) as error:
            kind = network_kind(error)
            found.append(Finding(NAME, kind, Severity.ERROR, config.homeserver, detail(error)))
        finally:
            if logged_in_here:
                # The probe's own device goes away with its token.
                with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError, _RefusedError):
                    await api.call("POST", f"{API}/logout", {})
        return found


def _login_refused(config: MatrixConfig, error: _RefusedError) -> Finding:
    return Finding(NAME, Kind.LOGIN_REFUSED, Severity.ERROR, config.user_id, str(error))


def _stored(config: MatrixConfig, state_dir: Path) -> tuple[str | None, str | None]:
    """The daemon's own token and device, when it logged in before as this user."""
    path = state_dir / "matrix" / "credentials.json"
    try:
        stored = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None, None
    if not isinstance(stored, dict) or stored.get("user_id") != config.user_id:
        return None, None
    return stored.get("access_token") or None, stored.get("device_id") or None


async def _rooms(api: _Api, config: MatrixConfig, device: str | None) -> list[Finding]:
    rooms = [r for r in (config.core_room, *config.announce_rooms) if r]
    if not rooms:
        return []
    joined = set((await api.call("GET", f"{API}/joined_rooms")).get("joined_rooms", []))
    found: list[Finding] = []
    for room in rooms:
        room_id = room
        if room.startswith("#"):
            try:
                answer = await api.call("GET", f"{API}/directory/room/{quote(room, safe='')}")
            except _RefusedError as error:
                found.append(Finding(NAME, Kind.ROOM_NOT_FOUND, Severity.ERROR, room, str(error)))
                continue
            room_id = str(answer.get("room_id", ""))
        if room_id not in joined:
            found.append(Finding(NAME, Kind.ROOM_NOT_JOINED, Severity.ERROR, room))
            continue
        found.append(await _power(api, config.user_id, room, room_id))
        encrypted = await _state(api, room_id, "m.room.encryption")
        if encrypted is not None:
            found.append(await _encryption(api, config.user_id, room, device))
    return found


async def _state(api: _Api, room_id: str, event_type: str) -> dict[str, Any] | None:
    try:
        return await api.call("GET", f"{API}/rooms/{quote(room_id, safe='')}/state/{event_type}")
    except _RefusedError as error:
        if error.status == 404:
            return None
        raise


async def _power(api: _Api, me: str, room: str, room_id: str) -> Finding:
    levels = await _state(api, room_id, "m.room.power_levels") or {}
    users = levels.get("users") or {}
    mine = int(users.get(me, levels.get("users_default", 0)))
    events = levels.get("events") or {}
    needed = int(events.get("m.room.message", levels.get("events_default", 0)))
    if mine < needed:
        return Finding(NAME, Kind.NO_POWER_TO_POST, Severity.ERROR, room, f"{mine} < {needed}")
    return Finding(NAME, Kind.ROOM_OK, Severity.OK, room)


async def _encryption(api: _Api, me: str, room: str, device: str | None) -> Finding:
    """Is the device that posts signed by the account's self-signing key?"""
    if device is None:
        return Finding(NAME, Kind.ENCRYPTED_NOT_CHECKED, Severity.WARNING, room)
    keys = await api.call("POST", f"{API}/keys/query", {"device_keys": {me: [device]}})
    ssk = ((keys.get("self_signing_keys") or {}).get(me) or {}).get("keys") or {}
    device_keys = ((keys.get("device_keys") or {}).get(me) or {}).get(device) or {}
    signatures = (device_keys.get("signatures") or {}).get(me) or {}
    if any(key_id in signatures for key_id in ssk):
        return Finding(NAME, Kind.ROOM_OK, Severity.OK, room, "encrypted, verified device")
    return Finding(NAME, Kind.ENCRYPTED_UNVERIFIED, Severity.WARNING, room, device)
