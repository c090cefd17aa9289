"""One logged-in IMAP connection with the intake's folder selected; synchronous.

Every method blocks, so ``ImapMailSource`` calls them on its one worker
thread: a connection is never used by two threads at once. imap-tools opens
the connection, logs in and manages folders; FETCH, MOVE and IDLE are sent
through its imaplib client because imap-tools would mark mail seen, parse
away the raw bytes, miss INTERNALDATE, trust the pre-login capability list
(where Dovecot lists no MOVE) and expunge every deleted mail in its fallback.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import imaplib
import re
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from imap_tools import BaseMailBox, MailBox, MailBoxUnencrypted
from imap_tools.errors import MailboxStarttlsError, MailboxTaggedResponseError
from imap_tools.utils import check_command_status, encode_folder

from connectors.imap.fetch import FETCH_ITEMS, parse_fetch, parse_sizes, uid_set
from connectors.imap.folders import INBOX, FolderLayout, delimiter_from, personal_prefix
from connectors.imap.idle_lines import IdleLines
from daemon.errors import PermanentError, TransientError
from daemon.ports.mailbox import RawMail

# An IDLE wait is polled in slices so a cancelled wait ends within one slice.
IDLE_SLICE_SECONDS = 1.0
_CHANGE = re.compile(rb"^\* \d+ (EXISTS|RECENT)\b", re.IGNORECASE)
_BYE = re.compile(rb"^\* BYE\b", re.IGNORECASE)
_PLAIN_ID = re.compile(r"^<[\x21\x23-\x5b\x5d-\x7e]{1,250}>$")  # safe inside a quoted IMAP string


class Wake(enum.Enum):
    """Why ``wait_for_change`` returned."""

    CHANGE = "change"  # the server reported new mail (EXISTS or RECENT)
    TIMEOUT = "timeout"
    STOPPED = "stopped"  # the caller's stop event was set
    CLOSED = "closed"  # the server hung up (ending the IDLE raises the error that says so)


@dataclass(frozen=True)
class ImapLogin:
    """Where and how to log in; the secret is read at every (re)connect, so a rotated
    password file is picked up without a restart."""

    host: str
    port: int
    security: str  # "tls", "starttls" or "none"
    username: str
    password: str | None = field(repr=False)
    oauth2_token: str | None = field(repr=False)
    ssl_context: ssl.SSLContext | None = field(repr=False)
    timeout: float  # every blocking read and write; a silent server is a dead one


class _StartTlsMailBox(BaseMailBox):
    """imap-tools' STARTTLS mailbox, but closing the socket when STARTTLS fails."""

    def __init__(self, host: str, port: int, timeout: float, context: ssl.SSLContext) -> None:
        self._host, self._port, self._timeout, self._context = host, port, timeout, context
        super().__init__()

    def _get_mailbox_client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self._host, self._port, self._timeout)
        try:
            check_command_status(client.starttls(self._context), MailboxStarttlsError)
        except BaseException:
            # A failed handshake already closed the socket; imaplib may still complain.
            with contextlib.suppress(OSError):
                client.shutdown()
            raise
        return client


def quoted(folder: str) -> str:
    """A folder name as an IMAP argument: modified UTF-7, quoted (always ASCII)."""
    return encode_folder(folder).decode("ascii")


def open_mailbox(login: ImapLogin) -> BaseMailBox:
    """A connected, logged-in imap-tools mailbox (nothing selected yet)."""
    if login.security == "tls":
        mailbox: BaseMailBox = MailBox(
            login.host, login.port, timeout=login.timeout, ssl_context=login.ssl_context
        )
    elif login.security == "starttls":
        assert login.ssl_context is not None
        mailbox = _StartTlsMailBox(login.host, login.port, login.timeout, login.ssl_context)
    else:
        mailbox = MailBoxUnencrypted(login.host, login.port, timeout=login.timeout)
    try:
        if login.oauth2_token is not None:
            mailbox.xoauth2(login.username, login.oauth2_token, initial_folder=None)
        else:
            mailbox.login(login.username, login.password or "", initial_folder=None)
    except BaseException:
        with contextlib.suppress(OSError):
            mailbox.client.shutdown()
        raise
    return mailbox


class ImapSession:
    """The connection, its capabilities, folder layout and the selected folder's UIDVALIDITY."""

    def __init__(self, mailbox: BaseMailBox, folder: str, *, use_move: bool = True) -> None:
        self._mailbox = mailbox
        self._client = mailbox.client
        self.capabilities = self._read_capabilities()
        self.layout = self._read_layout()
        self._use_move = use_move and "MOVE" in self.capabilities
        self._ensured: set[str] = set()
        self._said_bye = False  # the server ended the connection during IDLE
        self.folder = self.layout.server_name(folder)
        self.uidvalidity = self._select(self.folder)

    @classmethod
    def open(cls, login: ImapLogin, folder: str, *, use_move: bool = True) -> ImapSession:
        """Connect, log in and select ``folder``."""
        mailbox = open_mailbox(login)
        try:
            return cls(mailbox, folder, use_move=use_move)
        except BaseException:
            with contextlib.suppress(OSError):
                mailbox.client.shutdown()
            raise

    # -- setup --------------------------------------------------------------

    def _read_capabilities(self) -> frozenset[str]:
        # After login: servers (Dovecot) list more than in the greeting (MOVE).
        typ, data = self._client.capability()
        check_command_status((typ, data), MailboxTaggedResponseError)
        words = b" ".join(d for d in data if isinstance(d, bytes)).split()
        return frozenset(w.decode("ascii", "replace").upper() for w in words)

    def _read_layout(self) -> FolderLayout:
        listed = self._mailbox.folder.list("", INBOX)
        delimiter = delimiter_from(listed[0].delim) if listed else None
        prefix = ""
        if "NAMESPACE" in self.capabilities:
            typ, data = self._client.namespace()
            if typ == "OK" and data and isinstance(data[0], bytes):
                prefix = personal_prefix(data[0])
        return FolderLayout(delimiter, prefix)

    def _select(self, server_name: str) -> int:
        self._mailbox.folder.set(server_name)
        self._forget_reported_changes()  # the folder's state at SELECT is no change
        found = self._client.untagged_responses.get("UIDVALIDITY") or [b""]
        if isinstance(found[-1], bytes) and found[-1].strip().isdigit():
            return int(found[-1])
        status = self._mailbox.folder.status(server_name, ["UIDVALIDITY"])
        return int(status["UIDVALIDITY"])

    # -- the MailSource operations ------------------------------------------

    def fetch_after(self, uid: int, limit: int, max_bytes: int | None = None) -> list[RawMail]:
        """Up to ``limit`` mails above ``uid``, oldest first, fetched without setting \\Seen.

        With ``max_bytes`` the batch stops before the mail that would pass it (but holds
        at least one). Two round trips for the whole batch: the sizes, then the mails.
        """
        if uid < 0 or limit < 1:
            raise ValueError(f"fetch_after needs uid >= 0 and limit >= 1, not {uid}, {limit}")
        # Dovecot runs a SEARCH on the folder as this session last saw it and only
        # then reports new mail: a NOOP first brings the view up to date, and what
        # it reports is covered by the search (anything later still wakes the IDLE).
        self._command("NOOP", self._client.noop())
        self._forget_reported_changes()
        found = self._mailbox.uids(f"UID {uid + 1}:*", charset=None)
        # "n+1:*" always matches the highest UID, even when it is below n+1.
        newer = sorted(u for u in (int(x) for x in found) if u > uid)[:limit]
        if max_bytes is not None and len(newer) > 1:
            newer = self._within(newer, max_bytes)
        if not newer:
            return []
        wanted = set(newer)
        # A mail moved away meanwhile is simply absent from the answer.
        return sorted((m for m in self._fetch(newer) if m.uid in wanted), key=lambda m: m.uid)

    def _within(self, uids: list[int], max_bytes: int) -> list[int]:
        """The first of ``uids`` whose sizes add up to at most ``max_bytes`` (one at least)."""
        typ, data = self._client.uid("FETCH", uid_set(uids), "(UID RFC822.SIZE)")
        check_command_status((typ, data), MailboxTaggedResponseError)
        sizes = parse_sizes(data)
        chosen: list[int] = []
        total = 0
        for uid in uids:
            total += sizes.get(uid, 0)
            if chosen and total > max_bytes:
                break
            chosen.append(uid)
        return chosen

    def _fetch(self, uids: Sequence[int]) -> list[RawMail]:
        typ, data = self._client.uid("FETCH", uid_set(uids), FETCH_ITEMS)
        check_command_status((typ, data), MailboxTaggedResponseError)
        return parse_fetch(data, self.uidvalidity)

    def _fetch_one(self, uid: int) -> list[RawMail]:
        return self._fetch([uid])  # empty when it was moved away meanwhile

    def move(self, uids: Sequence[int], folder: str, uidvalidity: int | None) -> None:
        """Move exactly mails ``uids`` to our folder ``folder`` in one command; nothing else
        is touched. A mail already gone is no error."""
        if not uids:
            return
        if uidvalidity is not None and uidvalidity != self.uidvalidity:
            raise PermanentError(
                f"UIDVALIDITY of {self.folder} is now {self.uidvalidity}, not {uidvalidity}: "
                f"UIDs {uid_set(uids)} may name other mail, so they are not moved"
            )
        self._move_selected(uid_set(uids), quoted(self.ensure_folder(folder)))

    def _move_selected(self, uids: str, target: str) -> None:
        """Move the mails ``uids`` (a UID set) of the selected folder to ``target`` (quoted)."""
        if self._use_move:
            self._command("MOVE", self._client.uid("MOVE", uids, target))
            return
        self._command("COPY", self._client.uid("COPY", uids, target))
        self._command("STORE", self._client.uid("STORE", uids, "+FLAGS.SILENT", r"(\Deleted)"))
        if "UIDPLUS" in self.capabilities:
            # UID EXPUNGE removes only these mails; a plain EXPUNGE would also remove
            # whatever a person flagged \Deleted, so without UIDPLUS the flag stays.
            self._command("EXPUNGE", self._client.uid("EXPUNGE", uids))

    def move_back(self, folder: str, message_id: str | None, content_sha256: str) -> bool:
        """Move the mail with these bytes from our ``folder`` back to the intake folder.

        Added for ``wijkbode quarantine retry``: the search (by Message-ID when it is
        a plain one, else the whole folder, which only holds quarantined mail) is
        confirmed by the content hash, so no other mail is ever moved.
        """
        self._select(self.layout.server_name(folder))
        try:
            criteria = "ALL"
            if message_id and _PLAIN_ID.match(message_id):
                criteria = f'HEADER Message-ID "{message_id}"'
            for uid in self._mailbox.uids(criteria, charset=None):
                found = [m for m in self._fetch_one(int(uid)) if m.uid == int(uid)]
                if found and hashlib.sha256(found[0].raw).hexdigest() == content_sha256:
                    self._move_selected(str(int(uid)), quoted(self.folder))
                    return True
            return False
        finally:
            self.uidvalidity = self._select(self.folder)

    def ensure_folder(self, folder: str) -> str:
        """Create our folder ``folder`` and its parents when missing; its server name."""
        server_name = self.layout.server_name(folder)
        if server_name in self._ensured:
            return server_name
        for level in self.layout.levels(server_name):
            if not self._mailbox.folder.exists(level):
                self._create(level)
        self._ensured.add(server_name)
        return server_name

    def has_folder(self, folder: str) -> bool:
        """Whether our folder ``folder`` exists already (``check-config --connect``)."""
        return bool(self._mailbox.folder.exists(self.layout.server_name(folder)))

    def _create(self, name: str) -> None:
        typ, data = self._client.create(quoted(name))
        if typ != "OK" and not self._mailbox.folder.exists(name):  # not a creation race
            raise TransientError(f"IMAP CREATE {name}: {typ} {data!r}")
        self._client.subscribe(quoted(name))  # so people's mail clients show it

    # -- IDLE -----------------------------------------------------------------

    def wait_for_change(self, timeout: float, stop: threading.Event) -> Wake:
        """IDLE until the server reports new mail, ``timeout`` passes or ``stop`` is set.

        A NOOP first makes the server report what arrived since the last
        search. Ending the IDLE (DONE) needs the server's answer within the
        socket timeout, so a connection silently dropped by a NAT shows up at
        the latest when the IDLE is renewed.
        """
        self._command("NOOP", self._client.noop())
        if self._changes_reported():
            return Wake.CHANGE
        tag = self._start_idle()
        try:
            if self._changes_reported():
                return Wake.CHANGE
            return self._poll_idle(time.monotonic() + timeout, stop)
        finally:
            self._end_idle(tag)

    def _start_idle(self) -> bytes:
        tag: bytes = self._client._command("IDLE")  # imaplib has no IDLE of its own
        # Untagged lines may come before the "+ idling" continuation (None).
        while self._client._get_response() is not None:
            refused = self._client.tagged_commands.get(tag)
            if refused:
                self._client.tagged_commands.pop(tag)
                raise TransientError(f"IMAP IDLE refused: {refused!r}")
        return tag

    def _poll_idle(self, deadline: float, stop: threading.Event) -> Wake:
        # Not imap-tools' idle.poll: it waits on the socket even when imaplib has
        # already buffered the line that should wake us (see idle_lines).
        idle_lines = IdleLines(self._client)
        while not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return Wake.TIMEOUT
            lines = idle_lines.within(min(IDLE_SLICE_SECONDS, remaining))
            if lines is None:
                return Wake.CLOSED
            if any(_BYE.match(line) for line in lines):
                self._said_bye = True
                raise TransientError(f"IMAP server ended the connection: {lines!r}")
            if any(_CHANGE.match(line) for line in lines):
                return Wake.CHANGE
        return Wake.STOPPED

    def _end_idle(self, tag: bytes) -> None:
        if self._said_bye:
            return
        self._client.send(b"DONE\r\n")
        self._mailbox.consume_until_tagged_response(tag)

    def _forget_reported_changes(self) -> None:
        for kind in ("EXISTS", "RECENT"):
            self._client.untagged_responses.pop(kind, None)

    def _changes_reported(self) -> bool:
        responses = self._client.untagged_responses
        return "EXISTS" in responses or "RECENT" in responses

    # -- closing --------------------------------------------------------------

    def close(self) -> None:
        """Log out if the server still listens; the socket is closed either way."""
        try:
            self._client.logout()  # imaplib closes the socket even when LOGOUT fails
        except (OSError, imaplib.IMAP4.error):
            self._client.shutdown()

    def abort(self) -> None:
        """Close the socket without a LOGOUT: after a failure the server may never answer."""
        with contextlib.suppress(OSError):
            self._client.shutdown()

    @staticmethod
    def _command(what: str, result: tuple[str, Sequence[object]]) -> None:
        typ, data = result
        if typ != "OK":
            raise TransientError(f"IMAP {what}: {typ} {data!r}")
