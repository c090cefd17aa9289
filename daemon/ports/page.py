"""What the HTTP connector asks of the core for the public page, ``/healthz`` and ``/metrics``.

The page and the metrics are composed in the core (``daemon.publish.public_page``,
``daemon.publish.metrics``); a connector may not import the publication layer, so
the composition root hands them over behind these shapes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Final, Protocol

from daemon.ports.public import PublicMeeting

# The page of each language; Dutch is the default, at the root.
PAGE_PATHS: Final = {"nl": "/", "en": "/en"}


def page_path(language: str) -> str:
    """The page of ``language``: ``/`` for Dutch, else ``/<language>`` (``/en``, ``/ar``)."""
    return PAGE_PATHS.get(language, f"/{language}")


class PublicPages(Protocol):
    """The public page and the 404 page, as HTML."""

    @property
    def style_source(self) -> str:
        """The Content-Security-Policy source that allows the pages' one inline style."""
        ...

    @property
    def codes(self) -> tuple[str, ...]:
        """The page's languages, Dutch first (``[http] languages``)."""
        ...

    def page(self, meetings: Sequence[PublicMeeting], language: str, now: datetime) -> str: ...

    def not_found(self, language: str) -> str: ...


# ``/metrics``' text (Prometheus text format), made from the store and the counters.
MetricsSource = Callable[[], Awaitable[str]]
