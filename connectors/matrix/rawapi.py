"""Plain JSON calls to client-server endpoints matrix-nio has no method for."""

from __future__ import annotations

import json
from typing import Any

import nio

from connectors.matrix.errors import translated


async def call_json(
    client: nio.AsyncClient, method: str, path: str, body: dict[str, Any] | None = None
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON answer) of an authenticated request on nio's HTTP session."""
    headers = {"Content-Type": "application/json"}
    if client.access_token:
        headers["Authorization"] = f"Bearer {client.access_token}"
    data = None if body is None else json.dumps(body)
    with translated(f"{method} {path}"):
        response = await client.send(method, path, data, headers)
        try:
            answer = await response.json(content_type=None)
        except ValueError:
            answer = {}
        finally:
            response.release()
    return int(response.status), answer if isinstance(answer, dict) else {}
