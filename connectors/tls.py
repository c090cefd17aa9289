"""Client TLS for the mail connectors: always verifying, optionally trusting one more CA."""

from __future__ import annotations

import ssl
from pathlib import Path


def client_context(ca_file: Path | None) -> ssl.SSLContext:
    """The system's trusted CAs, plus ``ca_file`` (a private or self-signed CA) when given.

    Always pass one: imap-tools without a context accepts any certificate.
    """
    context = ssl.create_default_context()
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    return context
