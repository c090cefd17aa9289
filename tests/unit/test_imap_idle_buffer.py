"""IDLE wake-ups that arrive in the same TCP packet as the ``+ idling`` continuation.

imaplib reads through a buffered file: a ``* 5 EXISTS`` sent together with
``+ idling`` ends up in that buffer, where a wait on the socket never sees
it. A tiny scripted IMAP peer on a loopback socket sends exactly that, so
the bug shows deterministically. (Loopback, not a protocol mock: the bug
lives in how bytes are buffered, which only a real socket reproduces.)
"""

from __future__ import annotations

import imaplib
import socket
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence

import pytest

from connectors.imap.idle_lines import IdleLines
from connectors.imap.session import ImapLogin, ImapSession, Wake
from daemon.errors import TransientError

GREETING = b"* OK scripted peer ready\r\n"
CAPABILITY = b"* CAPABILITY IMAP4rev1 IDLE\r\n"
# What the session's setup asks; every other command is answered "tag OK done".
SETUP: Mapping[str, Sequence[bytes]] = {
    "CAPABILITY": [CAPABILITY],
    "LIST": [b'* LIST (\\HasNoChildren) "/" INBOX\r\n'],
    "SELECT": [b"* 0 EXISTS\r\n", b"* OK [UIDVALIDITY 7] ok\r\n"],
}
WAIT = 20.0  # a wait that must end long before this; on the old code it ran out
BUFFERED_EXISTS = b"+ idling\r\n* 5 EXISTS\r\n"


class ScriptedPeer:
    """One IMAP connection on loopback, answered from a script, in a thread.

    ``idle_reply`` is the whole answer to IDLE, sent in one ``send``; then
    ``idle_later`` (if any) once the test calls ``release()``. DONE ends the
    IDLE with a tagged OK; with ``hang_up`` the peer closes after its reply.
    """

    def __init__(
        self, idle_reply: bytes, idle_later: bytes = b"", *, hang_up: bool = False
    ) -> None:
        self._idle_reply, self._idle_later, self._hang_up = idle_reply, idle_later, hang_up
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.commands: list[str] = []
        self._release = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def release(self) -> None:
        """Let the peer send ``idle_later``."""
        self._release.set()

    def join(self) -> None:
        self._release.set()
        self._thread.join(timeout=WAIT)
        self._listener.close()

    def _serve(self) -> None:
        connection, _ = self._listener.accept()
        with connection, connection.makefile("rb") as lines:
            connection.sendall(GREETING)
            idle_tag = b""
            for line in lines:
                tag, _, rest = line.rstrip(b"\r\n").partition(b" ")
                if tag.upper() == b"DONE":
                    connection.sendall(idle_tag + b" OK idle done\r\n")
                    continue
                command = rest.split(b" ", 1)[0].decode().upper()
                self.commands.append(command)
                if command == "IDLE":
                    idle_tag = tag
                    self._idle(connection)
                    if self._hang_up:
                        return
                elif command == "LOGOUT":
                    connection.sendall(b"* BYE bye\r\n" + tag + b" OK logged out\r\n")
                    return
                else:
                    connection.sendall(b"".join(SETUP.get(command, [])) + tag + b" OK done\r\n")

    def _idle(self, connection: socket.socket) -> None:
        connection.sendall(self._idle_reply)  # ONE send: continuation and what follows
        if self._idle_later:
            self._release.wait(WAIT)
            connection.sendall(self._idle_later)


def login(port: int) -> ImapLogin:
    return ImapLogin(
        host="127.0.0.1",
        port=port,
        security="none",
        username="alice",
        password="secret",
        oauth2_token=None,
        ssl_context=None,
        timeout=WAIT,
    )


def session_with(peer: ScriptedPeer) -> Iterator[ImapSession]:
    session = ImapSession.open(login(peer.port), "INBOX")
    try:
        yield session
    finally:
        session.abort()
        peer.join()


class SocketWaits:
    """Records each wait on the socket (one per IDLE slice that found nothing buffered)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.windows: list[float] = []
        self.on_wait: Callable[[], None] = lambda: None
        readable = IdleLines._readable

        def counted(idle_lines: IdleLines, window: float) -> bool:
            self.windows.append(window)
            self.on_wait()
            return readable(idle_lines, window)

        monkeypatch.setattr(IdleLines, "_readable", counted)


@pytest.fixture
def socket_waits(monkeypatch: pytest.MonkeyPatch) -> SocketWaits:
    return SocketWaits(monkeypatch)


@pytest.fixture
def buffered_exists() -> Iterator[ImapSession]:
    yield from session_with(ScriptedPeer(BUFFERED_EXISTS))


def test_exists_in_the_continuation_packet_wakes_without_waiting(
    buffered_exists: ImapSession, socket_waits: SocketWaits
) -> None:
    reason = buffered_exists.wait_for_change(WAIT, threading.Event())
    assert (reason, socket_waits.windows) == (Wake.CHANGE, [])


def test_the_connection_stays_usable_after_a_buffered_wake_up(
    buffered_exists: ImapSession,
) -> None:
    assert buffered_exists.wait_for_change(WAIT, threading.Event()) == Wake.CHANGE
    # DONE was answered and nothing is left over: the next IDLE starts cleanly.
    assert buffered_exists.wait_for_change(WAIT, threading.Event()) == Wake.CHANGE


def test_a_line_after_untagged_lines_before_the_continuation_also_wakes() -> None:
    reply = b"* OK still here\r\n+ idling\r\n* 1 RECENT\r\n"
    for session in session_with(ScriptedPeer(reply)):
        assert session.wait_for_change(WAIT, threading.Event()) == Wake.CHANGE


def test_a_half_line_in_the_buffer_is_completed_not_lost(socket_waits: SocketWaits) -> None:
    peer = ScriptedPeer(b"+ idling\r\n* 5 EXI", idle_later=b"STS\r\n")
    socket_waits.on_wait = peer.release  # the rest comes once the half line waits in the buffer
    for session in session_with(peer):
        assert session.wait_for_change(WAIT, threading.Event()) == Wake.CHANGE
        assert len(socket_waits.windows) == 1


def test_a_buffered_bye_ends_the_wait_with_a_transient_error() -> None:
    for session in session_with(ScriptedPeer(b"+ idling\r\n* BYE shutting down\r\n")):
        with pytest.raises(TransientError, match="BYE"):
            session.wait_for_change(WAIT, threading.Event())


def test_unrelated_buffered_lines_do_not_end_the_wait() -> None:
    for session in session_with(ScriptedPeer(b"+ idling\r\n* OK still here\r\n")):
        assert session.wait_for_change(0.3, threading.Event()) == Wake.TIMEOUT


def test_a_set_stop_event_ends_the_wait_before_the_first_slice() -> None:
    stop = threading.Event()
    stop.set()
    for session in session_with(ScriptedPeer(b"+ idling\r\n")):
        assert session.wait_for_change(WAIT, stop) == Wake.STOPPED


def test_a_hang_up_during_idle_raises_instead_of_waiting() -> None:
    for session in session_with(ScriptedPeer(b"+ idling\r\n", hang_up=True)):
        with pytest.raises(imaplib.IMAP4.abort, match="EOF"):
            session.wait_for_change(WAIT, threading.Event())


def test_a_quiet_idle_ends_at_its_timeout(socket_waits: SocketWaits) -> None:
    for session in session_with(ScriptedPeer(b"+ idling\r\n")):
        assert session.wait_for_change(0.2, threading.Event()) == Wake.TIMEOUT
        assert len(socket_waits.windows) >= 1  # it waited on the socket, slice by slice
