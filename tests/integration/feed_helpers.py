"""The real daemon with ``[http]`` only, and plain HTTP to it, for the feed's tests.

No other channel is configured, so no other server is needed: the scheduler
fires the publication moments to the feed channel alone, and the HTTP service
serves what it recorded.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message

import pytest
from daemon_runner import DaemonRunner, q
from icalendar import Calendar, Event

PLAIN = 'timezone = "Europe/Amsterdam"\nlanguage = "nl"\nstate_dir = "state"\n'


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def feed_config(series: str, port: int, *, default_series: str) -> str:
    return (
        f"{PLAIN}default_series = {q(default_series)}\n\n{series}\n"
        f'[http]\nlisten = "127.0.0.1:{port}"\npublic_url = "https://wijk.example.org"\n'
    )


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Message
    body: bytes


def fetch(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> Answer:
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers, error.read())


async def afetch(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> Answer:
    return await asyncio.to_thread(fetch, url, method, headers)


def events(body: bytes) -> dict[str, Event]:
    """The feed's VEVENTs by UID (one each: a second would be a duplicate)."""
    found: dict[str, Event] = {}
    for event in Calendar.from_ical(body).events:
        uid = str(event["UID"])
        assert uid not in found, f"UID {uid} twice in the feed"
        found[uid] = event
    return found


async def feed_events(runner: DaemonRunner, port: int) -> dict[str, Event]:
    answer = await afetch(f"http://127.0.0.1:{port}/agenda.ics")
    assert answer.status == 200, answer
    return events(answer.body)


def need_tool(name: str) -> str:
    """The tool's path; in CI (CI=true) a missing tool fails, elsewhere the test skips."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (scripts/bootstrap installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path
