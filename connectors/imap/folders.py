"""Our folder names (``Wijkbode/Verwerkt``) in the server's hierarchy and namespace."""

from __future__ import annotations

import re
from dataclasses import dataclass

INBOX = "INBOX"

# The personal namespace of a NAMESPACE answer: ``(("INBOX." ".")) NIL NIL``.
_PERSONAL = re.compile(rb'^\s*\(\("((?:[^"\\]|\\.)*)" (?:"((?:[^"\\]|\\.)+)"|NIL)\)')


@dataclass(frozen=True, slots=True)
class FolderLayout:
    """How this server names folders: its hierarchy delimiter and personal prefix.

    Dovecot with Maildir uses ``.``; Courier and Cyrus put everything under
    ``INBOX.``; a flat server (``delimiter None``) keeps our ``/`` as part of
    the one name.
    """

    delimiter: str | None
    prefix: str = ""

    def server_name(self, name: str) -> str:
        """The server's name for our folder ``name`` (levels separated by ``/``)."""
        parts = [part for part in name.split("/") if part]
        if not parts:
            raise ValueError(f"empty folder name {name!r}")
        if parts[0].upper() == INBOX and len(parts) == 1:
            return INBOX
        joined = (self.delimiter or "/").join(parts)
        if self.prefix and not joined.startswith(self.prefix):
            return self.prefix + joined
        return joined

    def levels(self, server_name: str) -> list[str]:
        """The folder and its parents, outermost first (each must exist before its child)."""
        if self.delimiter is None:
            return [server_name]
        parts = server_name.split(self.delimiter)
        names = [self.delimiter.join(parts[: i + 1]) for i in range(len(parts))]
        # INBOX always exists, and the namespace prefix ("INBOX.") is not ours to create.
        return [n for n in names if n.upper() != INBOX and n + self.delimiter != self.prefix]


def personal_prefix(namespace_answer: bytes) -> str:
    """The personal namespace prefix from a NAMESPACE answer ("" when none or unreadable)."""
    found = _PERSONAL.match(namespace_answer)
    if found is None:
        return ""
    return found.group(1).decode("utf-8", "replace").replace('\\"', '"').replace("\\\\", "\\")


def delimiter_from(listed: str | None) -> str | None:
    """imap-tools' delimiter of a LIST entry as ours: ``NIL`` or empty means flat."""
    if not listed or listed.upper() == "NIL":
        return None
    return listed
