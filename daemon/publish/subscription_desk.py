"""The subscription desk: sign-up, confirmation and unsubscribing behind the page's form.

Implements ``daemon.ports.subscriptions.SubscriptionDesk`` for the HTTP
connector, which keeps the rate limits and the honeypot. Every answer is a page
in the public page's style (``PageComposer.message``) in the asker's language.

- A sign-up stores the address unconfirmed and, in the same transaction, the
  confirmation mail as an outbox row addressed to the subscriber's id. The page
  says "check your mail" whether the address was new, waiting or confirmed,
  so the form tells nobody who is subscribed; an address already there gets no
  second mail (the form cannot be used to flood someone's mailbox).
- An expired, unconfirmed address is deleted at the next sign-up, and within the
  hour by ``run`` (a task of the daemon).
- Unsubscribing deletes the row at once, then truncates the WAL, so the address
  is gone from the database's files.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from daemon.i18n import mark
from daemon.ports.outbox import ChannelName, NewEffect
from daemon.ports.subscriptions import Answer
from daemon.publish.public_page import PageComposer
from daemon.publish.subscriptions import (
    CONFIRM_VALID,
    SubscriptionLinks,
    address_hash,
    confirmation_key,
    confirmation_mail,
    destination_of,
    new_token,
    normalise_address,
    token_hash,
    well_formed_token,
)
from daemon.store import Store
from daemon.store.subscribers import Subscriber

log = logging.getLogger("wijkbode.subscriptions")

_CHECK_MAIL = mark("Check your mail")
_CHECK_MAIL_TEXT = mark(
    "If the address can receive mail, a message with a link to confirm is on its way. "
    "Only after you confirm do you get the announcements. No mail? Look in your spam folder."
)
_BAD_LINK = mark("This link does not work")
_BAD_LINK_TEXT = mark(
    "The link is incomplete, expired or already used. You can subscribe again on the page."
)
_CONFIRM = mark("Confirm your subscription")
_CONFIRM_TEXT = mark("Press the button to get the announcements of the public meetings by e-mail.")
_CONFIRM_BUTTON = mark("Yes, send me the announcements")
_CONFIRMED = mark("You are subscribed")
_CONFIRMED_TEXT = mark(
    "From now on you get the announcements of the public meetings by e-mail. "
    "Every mail has a link to unsubscribe."
)
_UNSUBSCRIBE = mark("Unsubscribe")
_UNSUBSCRIBE_TEXT = mark(
    "Press the button to stop the announcements by e-mail. Your address is then deleted."
)
_UNSUBSCRIBE_BUTTON = mark("Unsubscribe and delete my address")
_UNSUBSCRIBED = mark("You are unsubscribed")
_UNSUBSCRIBED_TEXT = mark("You get no more mail from us. Your address has been deleted.")
_TOO_MANY = mark("Too many sign-ups")
_TOO_MANY_TEXT = mark("Too many sign-ups came in just now. Please try again in an hour.")
_INVALID = mark("That is not an e-mail address")
_INVALID_TEXT = mark("Go back and check the address, e.g. name@example.org.")


class Desk:
    """``SubscriptionDesk``; ``on_enqueued`` wakes the outbox after a confirmation mail."""

    def __init__(
        self,
        store: Store,
        now: Callable[[], datetime],
        pages: PageComposer,
        links: SubscriptionLinks,
        mail_domain: str,
    ) -> None:
        self._store = store
        self._now = now
        self._pages = pages
        self._links = links
        self._domain = mail_domain
        self.on_enqueued: Callable[[], None] = lambda: None

    @property
    def languages(self) -> tuple[str, ...]:
        return self._pages.codes

    async def run(self, every: float = 3600.0) -> None:
        """Delete the addresses whose confirmation expired unused, now and every ``every``
        seconds (a sign-up does it too): an unconfirmed address is kept no longer."""
        while True:
            try:
                await self.purge()
            except Exception:  # a busy database: the next round tries again
                log.exception("onbevestigde inschrijvingen wissen mislukt (purge failed)")
            await asyncio.sleep(every)

    async def purge(self) -> int:
        async with self._store.transaction() as tx:
            purged = await tx.purge_unconfirmed(self._now())
        if purged:
            await self._store.truncate_wal()
            log.info("%d onbevestigde inschrijvingen gewist (unconfirmed, deleted)", purged)
        return purged

    async def subscribe(self, address: str, language: str) -> Answer:
        normal = normalise_address(address)
        if normal is None:
            return self.invalid(language)
        now, token = self._now(), new_token()
        async with self._store.transaction() as tx:
            purged = await tx.purge_unconfirmed(now)
            added = await tx.add_subscriber(
                address=normal,
                address_hash=address_hash(normal),
                language=language,
                confirm_hash=token_hash(token),
                confirm_expires=now + CONFIRM_VALID,
                unsubscribe_token=new_token(),
                now=now,
            )
            found = await tx.subscriber_id_by_address_hash(address_hash(normal))
            if added and found is not None:
                mail = confirmation_mail(
                    found, token, self._links, self._domain, self._pages.languages.translator(
                        language, self._pages.tz
                    )
                )  # fmt: skip
                effect = NewEffect(
                    ChannelName.MAIL, destination_of(found), confirmation_key(found, token), mail
                )
                await tx.enqueue(effect, now=now)
        if purged:
            await self._store.truncate_wal()
        if added:
            log.info("inschrijving %s wacht op bevestiging (awaits confirmation)", found)
            self.on_enqueued()
        return self._answer(200, language, _CHECK_MAIL, [_CHECK_MAIL_TEXT])

    async def confirm_page(self, token: str, language: str) -> Answer:
        found = await self._waiting(token)
        if found is None:
            return self._bad_link(language)
        query = self._links.confirm_url(token).partition("?")[2]
        return self._answer(
            200, found.language, _CONFIRM, [_CONFIRM_TEXT],
            action=f"/subscribe/confirm?{query}", button=_CONFIRM_BUTTON,
        )  # fmt: skip

    async def confirm(self, token: str, language: str) -> Answer:
        found = await self._waiting(token)
        if found is None:
            return self._bad_link(language)
        async with self._store.transaction() as tx:
            confirmed = await tx.confirm_subscriber(found.id, self._now())
        if not confirmed:
            return self._bad_link(language)
        log.info("inschrijving %d bevestigd (confirmed)", found.id)
        return self._answer(200, found.language, _CONFIRMED, [_CONFIRMED_TEXT])

    async def unsubscribe_page(self, token: str, language: str) -> Answer:
        found = await self._by_unsubscribe_token(token)
        if found is None:
            return self._answer(200, language, _UNSUBSCRIBED, [_UNSUBSCRIBED_TEXT])
        query = self._links.unsubscribe_url(token).partition("?")[2]
        return self._answer(
            200, found.language, _UNSUBSCRIBE, [_UNSUBSCRIBE_TEXT],
            action=f"/unsubscribe?{query}", button=_UNSUBSCRIBE_BUTTON,
        )  # fmt: skip

    async def unsubscribe(self, token: str, language: str) -> Answer:
        """Delete at once; an unknown token gets the same answer (it is gone either way)."""
        found = await self._by_unsubscribe_token(token)
        if found is not None:
            async with self._store.transaction() as tx:
                await tx.delete_subscriber(found.id)
            await self._store.truncate_wal()
            log.info("inschrijving %d opgezegd en gewist (unsubscribed, deleted)", found.id)
            language = found.language
        return self._answer(200, language, _UNSUBSCRIBED, [_UNSUBSCRIBED_TEXT])

    def accepted(self, language: str) -> Answer:
        return self._answer(200, language, _CHECK_MAIL, [_CHECK_MAIL_TEXT])

    def too_many(self, language: str) -> Answer:
        return self._answer(429, language, _TOO_MANY, [_TOO_MANY_TEXT])

    def invalid(self, language: str) -> Answer:
        return self._answer(400, language, _INVALID, [_INVALID_TEXT])

    async def _waiting(self, token: str) -> Subscriber | None:
        """The unconfirmed subscriber of a confirmation token still valid, else ``None``."""
        if not well_formed_token(token):
            return None
        async with self._store.reading() as tx:
            found = await tx.subscriber_by_confirm_hash(token_hash(token))
        if found is None or found.confirm_expires is None or found.confirm_expires <= self._now():
            return None
        return found

    async def _by_unsubscribe_token(self, token: str) -> Subscriber | None:
        if not well_formed_token(token):
            return None
        async with self._store.reading() as tx:
            return await tx.subscriber_by_unsubscribe_token(token)

    def _bad_link(self, language: str) -> Answer:
        return self._answer(404, language, _BAD_LINK, [_BAD_LINK_TEXT])

    def _answer(
        self,
        status: int,
        language: str,
        title: str,
        paragraphs: Sequence[str],
        *,
        action: str | None = None,
        button: str | None = None,
    ) -> Answer:
        if language not in self.languages:
            language = self.languages[0]
        t = self._pages.languages.translator(language, self._pages.tz)
        html = self._pages.message(
            language,
            t(title),
            [t(p) for p in paragraphs],
            action=action,
            button=None if button is None else t(button),
        )
        return Answer(status, html)
