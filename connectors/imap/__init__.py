"""IMAP intake on imap-tools: the ``MailSource`` the core reads mail through.

``ImapMailSource`` is one connection (blocking library, one worker thread);
``ResilientMailSource`` wraps it and reconnects with backoff, so the intake
survives a server restart. ``session`` holds the synchronous IMAP work,
``fetch`` and ``folders`` the parsing and naming, ``errors`` the translation
into ``TransientError`` / ``PermanentError``.
"""

from connectors.imap.resilient import ResilientMailSource
from connectors.imap.source import ImapMailSource

__all__ = ["ImapMailSource", "ResilientMailSource"]
