"""``Tx``: the typed methods available inside one store transaction.

Each concern keeps its SQL in its own module as a mixin; ``Tx`` joins them.
"""

from __future__ import annotations

from daemon.store.chat import ChatQueries
from daemon.store.core import CoreQueries
from daemon.store.decisions import DecisionQueries
from daemon.store.direct_rooms import DirectRoomQueries
from daemon.store.downloads import DownloadQueries
from daemon.store.engine import EngineQueries
from daemon.store.feed import FeedQueries
from daemon.store.mail import MailQueries
from daemon.store.planning import PlanningQueries
from daemon.store.privacy import PrivacyQueries
from daemon.store.public import PublicQueries
from daemon.store.subscribers import SubscriberQueries


class Tx(
    CoreQueries,
    EngineQueries,
    MailQueries,
    ChatQueries,
    FeedQueries,
    PublicQueries,
    PlanningQueries,
    PrivacyQueries,
    DownloadQueries,
    DecisionQueries,
    SubscriberQueries,
    DirectRoomQueries,
):
    """All typed queries, bound to the connection of one open transaction."""
