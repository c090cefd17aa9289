"""The one error tree of Wijkbode.

::

    WijkbodeError
    ├── ConfigError           the configuration is wrong; the CLI exits 2 with the message
    ├── StoreError            the state store cannot be used (newer schema, corrupt file)
    └── ChannelError          an outside system refused or failed
        ├── TransientError    try again later, with backoff (network down, 5xx, rate limit)
        └── PermanentError    retrying will not help (address rejected, kicked from room)

Connectors translate their library's exceptions into ``TransientError`` or
``PermanentError``; the core knows nothing else about outside failures.
"""

from __future__ import annotations


class WijkbodeError(Exception):
    """Base of every error Wijkbode raises on purpose."""


class ConfigError(WijkbodeError):
    """A configuration problem, phrased for the operator, naming the key and line."""


class StoreError(WijkbodeError):
    """The state store cannot be opened or used."""


class ChannelError(WijkbodeError):
    """An outside system failed while handling an effect."""


class TransientError(ChannelError):
    """The outside system may succeed later; ``retry_after`` is its hint in seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(ChannelError):
    """The outside system refused for good; the effect is parked with this reason."""
