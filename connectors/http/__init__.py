"""The public HTTP service on aiohttp: the calendar feed, and room for the page and probes.

``HttpService`` is the listener with its limits and middleware (``server``);
``FeedService`` serves ``/agenda.ics`` and ``/agenda/<series>.ics`` from one
cached render (``feed``, ``ics``, ``responses``, ``cache``); ``FeedChannel``
is the outbox channel whose deliveries say what is published (``feed_channel``).
Built by ``daemon/runtime/wiring.py``.
"""

from connectors.http.cache import RenderCache
from connectors.http.feed import FeedService, FeedSettings
from connectors.http.feed_channel import FeedChannel
from connectors.http.server import HttpService, Limits, RouteTable

__all__ = [
    "FeedChannel",
    "FeedService",
    "FeedSettings",
    "HttpService",
    "Limits",
    "RenderCache",
    "RouteTable",
]
