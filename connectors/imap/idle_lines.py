"""The lines a server sends during IDLE, read so that none waits in a buffer unseen.

imaplib reads the socket through a ``BufferedReader`` (``client.file``), and
TLS adds a buffer of its own. A line that arrived in the same packet as an
earlier one (``+ idling\\r\\n* 5 EXISTS\\r\\n``) sits in those buffers, where a
wait on the socket (imap-tools' ``idle.poll``) never sees it: the wake-up
would wait for the next IDLE renewal. So every wait first looks, without
blocking, at what is already buffered, and only waits on the socket when
no complete line is there. A half line is left in imaplib's buffer and
completed by imaplib's own (blocking) read once more bytes arrive.
"""

from __future__ import annotations

import imaplib
import io
import selectors
import ssl

# A TLS socket without decrypted data raises these in non-blocking mode.
_NOTHING_YET = (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


class IdleLines:
    """Reads whole untagged lines from an IDLE-ing imaplib client."""

    def __init__(self, client: imaplib.IMAP4) -> None:
        self._client = client

    def within(self, window: float) -> list[bytes] | None:
        """The complete lines (without CRLF) there now or arriving within ``window`` seconds.

        ``[]`` when none came; ``None`` when the server closed the connection.
        """
        buffered = self._peek_now() or b""
        if b"\n" not in buffered:
            if not self._readable(window):
                return []
            if not buffered:  # the buffer was empty: fetch what made the socket readable
                fetched = self._peek_now()
                if fetched is None:
                    return []  # TLS bookkeeping only, no data
                if not fetched:
                    return None  # readable, yet no bytes: end of stream
            # A half line (or the start of one) is buffered and more has arrived:
            # imaplib's blocking read completes it within the socket timeout, as
            # for any reply; a server that stops mid-line is a dead one.
            return [self._client._get_line(), *self._buffered_lines()]
        return self._buffered_lines()

    def _buffered_lines(self) -> list[bytes]:
        """Every complete line already buffered; a trailing half line stays put."""
        lines: list[bytes] = []
        while b"\n" in (self._peek_now() or b""):
            lines.append(self._client._get_line())  # served from the buffer, never blocks
        return lines

    def _peek_now(self) -> bytes | None:
        """The bytes buffered (or decrypted) now, without consuming or waiting.

        ``b""`` when none or at end of stream; ``None`` when TLS says "try again
        later". An empty buffer gets one non-blocking read, which CPython's
        ``BufferedReader.peek`` reports as ``b""`` when it would block.
        """
        sock, file = self._client.sock, self._client.file
        if not isinstance(file, io.BufferedReader):  # imaplib always opens one ("rb")
            raise TypeError(f"imaplib's file is a {type(file).__name__}, not a BufferedReader")
        timeout = sock.gettimeout()
        sock.settimeout(0)
        try:
            return file.peek()
        except _NOTHING_YET:
            return None
        finally:
            sock.settimeout(timeout)

    def _readable(self, window: float) -> bool:
        """Whether the socket (or TLS' decrypted buffer) has bytes within ``window`` seconds."""
        sock = self._client.sock
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return True
        with selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_READ)
            return bool(selector.select(window))
