"""Free TCP ports on the loopback interface for the harness servers."""

from __future__ import annotations

import socket
from contextlib import ExitStack

LOOPBACK = "127.0.0.1"


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """Return ``count`` distinct ports the kernel says are free on ``host`` right now.

    All sockets stay open until every port is chosen, so the ports differ from
    each other; another process could still take one before our server binds it,
    which on a test machine is rare enough to accept.
    """
    with ExitStack() as stack:
        ports: list[int] = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((host, 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def free_port(host: str = LOOPBACK) -> int:
    """Return one free port on ``host``."""
    return free_ports(1, host)[0]
