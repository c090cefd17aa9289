"""Reading a batch of new mails before the transaction that records them.

Parsing runs in parallel in the parser's workers, each mail with its attempts
counted in the store *before* it is tried: one transaction counts them for the
whole batch, so a mail that keeps killing its parse is quarantined after
``parse_attempts`` tries even across crashes. The documents of each parsed mail
are written to the content-addressed store here too, since files are not part of
a SQLite transaction (a repeat writes nothing).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from daemon.clock import Clock
from daemon.filing.submission import IncomingDocument
from daemon.mail.settings import IntakeSettings
from daemon.mail.understand import Understood, understand
from daemon.model import DocumentHash
from daemon.ports.mail import ParsedMail, UnparseableMail
from daemon.ports.mailbox import RawMail
from daemon.ports.parser import MailParser, SenderHint
from daemon.store import Store

__all__ = ["Readable", "Reading", "Unreadable", "read_batch"]

log = logging.getLogger("wijkbode.mail")


@dataclass(frozen=True, slots=True)
class Readable:
    """A mail understood, its files stored: ready to be filed (or seen as a repeat)."""

    mail: RawMail
    raw_sha256: str
    parsed: ParsedMail
    understood: Understood
    documents: tuple[IncomingDocument, ...]


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A mail to quarantine after its last failed attempt, with what its headers tell."""

    mail: RawMail
    raw_sha256: str
    reason: str
    hint: SenderHint | None


Reading = Readable | Unreadable


async def read_batch(
    mails: Sequence[RawMail],
    *,
    store: Store,
    parser: MailParser,
    settings: IntakeSettings,
    clock: Clock,
) -> list[Reading]:
    """Each mail read, in the order given."""
    outcomes = await _parse_all(mails, store=store, parser=parser, settings=settings, clock=clock)
    return list(
        await asyncio.gather(
            *(_reading(m, outcomes[m.uid], store, parser, settings, clock) for m in mails)
        )
    )


async def _parse_all(
    mails: Sequence[RawMail],
    *,
    store: Store,
    parser: MailParser,
    settings: IntakeSettings,
    clock: Clock,
) -> dict[int, ParsedMail | str]:
    """UID -> the parsed mail, or the reason to quarantine it once its attempts ran out."""
    folder, limit = settings.folder, settings.parse_attempts
    results: dict[int, ParsedMail | str] = {}
    pending = list(mails)
    while pending:
        trying: list[tuple[RawMail, int]] = []
        async with store.transaction(direct=True) as tx:
            for mail in pending:
                key = (folder, mail.uidvalidity, mail.uid)
                attempt = await tx.count_attempt(*key, at=clock.now())
                if attempt > limit:
                    _, last_error = await tx.attempt_state(*key)
                    results[mail.uid] = last_error or f"gave_up: {limit} attempts did not finish"
                else:
                    trying.append((mail, attempt))
        answers = await asyncio.gather(
            *(parser.parse(mail.raw) for mail, _ in trying), return_exceptions=True
        )
        refused: list[tuple[RawMail, str]] = []
        for (mail, attempt), answer in zip(trying, answers, strict=True):
            if isinstance(answer, UnparseableMail):
                log.warning("mail %s/%s attempt %d/%d: %s", mail.uidvalidity, mail.uid,
                            attempt, limit, answer.reason)  # fmt: skip
                refused.append((mail, answer.reason))
            elif isinstance(answer, BaseException):
                raise answer  # not the mail's fault (a worker that cannot start): the pass stops
            else:
                results[mail.uid] = answer
        if refused:
            async with store.transaction(direct=True) as tx:
                for mail, reason in refused:
                    await tx.record_attempt_error(folder, mail.uidvalidity, mail.uid, reason)
        pending = [mail for mail, _ in refused]
    return results


async def _reading(
    mail: RawMail,
    outcome: ParsedMail | str,
    store: Store,
    parser: MailParser,
    settings: IntakeSettings,
    clock: Clock,
) -> Reading:
    raw_sha256 = hashlib.sha256(mail.raw).hexdigest()
    if isinstance(outcome, str):
        return Unreadable(mail, raw_sha256, outcome, await parser.sender_hint(mail.raw))
    received_at = clock.now() if settings.received_at_from_clock else mail.internaldate
    understood = understand(
        outcome,
        received_at,
        partners=settings.partners,
        authserv_id=settings.authserv_id,
        known_series=settings.filing.rules.keys(),
    )
    documents = await _store_documents(store, outcome)
    return Readable(mail, raw_sha256, outcome, understood, documents)


async def _store_documents(store: Store, parsed: ParsedMail) -> tuple[IncomingDocument, ...]:
    """Write the files before the transaction: content-addressed, so a repeat writes nothing."""
    stored: list[IncomingDocument] = []
    for attachment in parsed.attachments:
        digest = await store.documents.put(attachment.content)
        name, kind, size = attachment.filename, attachment.content_type, attachment.size
        stored.append(IncomingDocument(DocumentHash(digest), name, kind, size))
    return tuple(stored)
