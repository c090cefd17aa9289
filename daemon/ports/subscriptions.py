"""What the HTTP connector asks of the core for the residents' mail subscriptions.

The connector reads the form and the link, keeps the rate limits and the
honeypot; the core (``daemon.publish.subscription_desk``) stores, sends the
confirmation mail and words the answer page. An ``Answer`` is the status and the
whole HTML page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    html: str


class SubscriptionDesk(Protocol):
    @property
    def languages(self) -> tuple[str, ...]:
        """The languages the pages can be answered in (the page's)."""
        ...

    async def subscribe(self, address: str, language: str) -> Answer:
        """Store ``address`` unconfirmed and send the confirmation mail; the answer says
        "check your mail" whether or not the address was new (nothing is revealed)."""
        ...

    async def confirm_page(self, token: str, language: str) -> Answer:
        """GET of the confirmation link: a button that confirms (a link scanner that
        only fetches the link confirms nothing)."""
        ...

    async def confirm(self, token: str, language: str) -> Answer: ...

    async def unsubscribe_page(self, token: str, language: str) -> Answer:
        """GET of the unsubscribe link: a button that unsubscribes."""
        ...

    async def unsubscribe(self, token: str, language: str) -> Answer:
        """Delete the subscriber at once (RFC 8058 one-click, or the button)."""
        ...

    def accepted(self, language: str) -> Answer:
        """The answer to a sign-up that is dropped (the honeypot): as if it worked."""
        ...

    def too_many(self, language: str) -> Answer:
        """The answer when the rate limit refuses a sign-up."""
        ...

    def invalid(self, language: str) -> Answer:
        """The answer to a form without a usable address."""
        ...
