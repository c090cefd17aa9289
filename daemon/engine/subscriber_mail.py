"""The mail channel, with rows for a residents' subscriber addressed as they go out.

An outbox row for a subscriber names ``subscriber:<id>``, never the address
(see :mod:`daemon.publish.subscriptions`). This channel looks the address up
at the moment of sending, adds the unsubscribe link and headers, and hands the
mail to the real mail channel. A subscriber who left meanwhile gets nothing:
the row is done (there is nobody left to send it to). An error the mail server
gave, which may quote the address, is stored with the id in its place. Every
other row goes to the mail channel as it is.
"""

from __future__ import annotations

from dataclasses import replace

from daemon.errors import PermanentError, TransientError
from daemon.ports.outbox import Channel, ChannelName, Effect, MailOut
from daemon.publish.subscriptions import (
    SubscriptionLinks,
    personalise,
    scrub,
    subscriber_id_of,
)
from daemon.store import Store

# The remote id of a row whose subscriber is gone: nothing was sent.
NOBODY = "subscriber-gone"


class SubscriberMail:
    """A ``Channel`` around the mail channel; see the module docstring."""

    def __init__(self, mail: Channel, store: Store, links: SubscriptionLinks) -> None:
        self._mail = mail
        self._store = store
        self._links = links
        self.parallel = int(getattr(mail, "parallel", 1))

    @property
    def name(self) -> ChannelName:
        return self._mail.name

    async def deliver(self, effect: Effect) -> str:
        subscriber_id = subscriber_id_of(effect.destination)
        if subscriber_id is None or not isinstance(effect.payload, MailOut):
            return await self._mail.deliver(effect)
        async with self._store.reading() as tx:
            subscriber = await tx.subscriber(subscriber_id)
        if subscriber is None:
            return NOBODY
        mail = personalise(effect.payload, subscriber, self._links)
        try:
            return await self._mail.deliver(replace(effect, payload=mail))
        except TransientError as error:
            said = scrub(str(error), subscriber.address, effect.destination)
            raise TransientError(said, error.retry_after) from None
        except PermanentError as error:
            raise PermanentError(
                scrub(str(error), subscriber.address, effect.destination)
            ) from None
        except Exception as error:  # a connector bug: its text may quote the address too
            text = f"{type(error).__name__}: {error}"
            raise TransientError(scrub(text, subscriber.address, effect.destination)) from None
