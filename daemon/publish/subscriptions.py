"""Residents' mail subscriptions: addresses, tokens, links and the mails. Pure.

A resident gives an address on the public page; it is kept (migration 0012)
only to send the announcements of the public series to, and only once the
resident followed the link in the confirmation mail (double opt-in). Outbox
rows never hold the address: a row for a subscriber is addressed to
``subscriber:<id>`` (:func:`destination_of`), and the mail channel asks the
store for the address when it sends (:func:`personalise`), adding the
unsubscribe link to the text and the ``List-Unsubscribe`` headers (RFC 2369,
RFC 8058 one-click). So unsubscribing deletes one row and the address is gone.

Only an https link is offered for unsubscribing, no ``mailto:``: a mail to an
unsubscribe address would land in the partners' intake, which files agenda
items; RFC 8058 needs the https one anyway.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, replace
from datetime import timedelta
from html import escape
from typing import Final
from urllib.parse import quote

from daemon.i18n import Translator, bilingual, native_name
from daemon.ports.outbox import MailOut, message_id_for
from daemon.store.subscribers import Subscriber

# How long a confirmation link works; an unconfirmed address is deleted after it.
CONFIRM_VALID: Final = timedelta(hours=48)
SUBSCRIBER_PREFIX: Final = "subscriber:"
# In ``meeting_destinations``: "every confirmed subscriber", expanded when the job fires.
SUBSCRIBERS: Final = "subscribers"
MAX_ADDRESS_LENGTH: Final = 254  # RFC 5321's limit on a path
_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"\\]+@([a-z0-9-]+\.)+[a-z0-9-]{2,}$")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,128}$")


def normalise_address(text: str) -> str | None:
    """The address as it is stored and compared (trimmed, lower case); ``None`` if it is
    not one a mail can go to (so nothing is stored for it)."""
    address = text.strip().lower()
    if len(address) > MAX_ADDRESS_LENGTH or not _ADDRESS.match(address):
        return None
    return address


def address_hash(address: str) -> str:
    """What finds an address again without reading every row (sha256, hex)."""
    return hashlib.sha256(address.encode("utf-8")).hexdigest()


def new_token() -> str:
    """An unguessable token for a link (256 bits)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def well_formed_token(token: str) -> bool:
    """Whether ``token`` could be one of ours (anything else is not looked up)."""
    return bool(_TOKEN.match(token))


def destination_of(subscriber_id: int) -> str:
    """The outbox destination of one subscriber: an id, never the address."""
    return f"{SUBSCRIBER_PREFIX}{subscriber_id}"


def subscriber_id_of(destination: str) -> int | None:
    """The subscriber an outbox destination names, or ``None`` for any other address."""
    if not destination.startswith(SUBSCRIBER_PREFIX):
        return None
    number = destination.removeprefix(SUBSCRIBER_PREFIX)
    return int(number) if number.isdigit() else None


@dataclass(frozen=True, slots=True)
class SubscriptionLinks:
    """The links in the mails, under ``[http] public_url`` (no trailing slash)."""

    base_url: str

    def confirm_url(self, token: str) -> str:
        return f"{self.base_url}/subscribe/confirm?t={quote(token)}"

    def unsubscribe_url(self, token: str) -> str:
        return f"{self.base_url}/unsubscribe?t={quote(token)}"


def confirmation_mail(
    subscriber_id: int, token: str, links: SubscriptionLinks, domain: str, t: Translator
) -> MailOut:
    """The double opt-in mail: the link that confirms, and what happens if it is not used."""
    url = links.confirm_url(token)
    hours = int(CONFIRM_VALID.total_seconds() // 3600)

    def render(_: Translator) -> str:
        return "\n\n".join(
            [
                _("Someone, probably you, asked to receive the announcements of the "
                  "neighbourhood's public meetings by e-mail at this address."),
                _("To confirm, open this link within {hours} hours:", hours=hours) + f"\n{url}",
                _("Did you not ask for this? Then do nothing: without confirmation the "
                  "address is deleted and you get no more mail from us."),
                _("Wijkbode, on behalf of the neighbourhood collective."),
            ]
        )  # fmt: skip

    dutch, english = Translator("nl", t.tz), Translator("en", t.tz)
    subject = f"{dutch('Confirm your subscription')} / {english('Confirm your subscription')}"
    text = bilingual(render, t.tz)
    if t.language not in ("nl", "en"):  # signed up on a page in a further language: it too
        text += f"\n\n— {native_name(t.language)} —\n{render(t)}"
    key = confirmation_key(subscriber_id, token)
    return MailOut(
        to=(destination_of(subscriber_id),),
        subject=subject,
        text=text,
        message_id=message_id_for(key, domain),
        auto_submitted="auto-generated",
    )


def confirmation_key(subscriber_id: int, token: str) -> str:
    """The outbox key of a confirmation mail (one per link)."""
    return f"subscription/{subscriber_id}/confirm/{token_hash(token)[:16]}"


def personalise(mail: MailOut, subscriber: Subscriber, links: SubscriptionLinks) -> MailOut:
    """``mail`` as it goes to ``subscriber``: to their address, with how to unsubscribe.

    The unsubscribe link works without a further click when a mail program posts
    to it (RFC 8058); a person opening it in a browser gets a confirm button, so
    a link scanner that only fetches it unsubscribes no one.
    """
    url = links.unsubscribe_url(subscriber.unsubscribe_token)
    headers: tuple[tuple[str, str], ...] = ()
    footer_html = ""
    text = mail.text
    if subscriber.confirmed:
        headers = (
            ("List-Unsubscribe", f"<{url}>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        )
        footer = bilingual(
            lambda _: _("You get this mail because you subscribed on the neighbourhood page. "
                        "Unsubscribe:") + f" {url}"
        )  # fmt: skip
        text = f"{mail.text}\n\n-- \n{footer}"
        footer_html = f"<hr><p>{escape(footer).replace(chr(10), '<br>')}</p>"
    return replace(
        mail,
        to=(subscriber.address,),
        text=text,
        html=None if mail.html is None else mail.html + footer_html,
        headers=mail.headers + headers,
    )


def scrub(text: str, address: str, destination: str) -> str:
    """``text`` (an error to be stored or logged) with the address replaced by the row's id."""
    if not address:
        return text
    return re.sub(re.escape(address), destination, text, flags=re.IGNORECASE)


def with_subscribers(
    destinations: tuple[str, ...], subscribers: tuple[int, ...], notice: bool
) -> tuple[str, ...]:
    """A job's mail destinations with "every confirmed subscriber" spelled out.

    A moment names them by ``SUBSCRIBERS``; a notice (moved, cancelled) names the
    subscribers that heard of the meeting before, and goes to everyone subscribed
    now instead: one who subscribed since must hear of the change too, one who left
    is no longer among them.
    """
    if notice:
        told = any(subscriber_id_of(d) is not None for d in destinations)
        kept = tuple(d for d in destinations if subscriber_id_of(d) is None)
        return kept + (tuple(destination_of(s) for s in subscribers) if told else ())
    if SUBSCRIBERS not in destinations:
        return destinations
    found: list[str] = []
    for destination in destinations:
        if destination == SUBSCRIBERS:
            found += [destination_of(s) for s in subscribers]
        else:
            found.append(destination)
    return tuple(found)
