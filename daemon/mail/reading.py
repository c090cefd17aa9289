"""Reading a batch of new mails before the transaction that records them.

Parsing runs in parallel in the parser's workers. A mail tried before runs
alone, with its attempts counted in the store *before* each try (and taken back
once the parse finished), so a mail that keeps killing its parse is quarantined
after ``parse_attempts`` tries even across crashes, while the mails that merely
shared a batch with it, or were in hand when the daemon died elsewhere, are not. The
documents of each parsed mail are written to the content-addressed store here
too, since files are not part of a SQLite transaction (a repeat writes nothing).
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
    """UID -> the parsed mail, or the reason to quarantine it once its attempts ran out.

    New mails are parsed side by side, charged nothing: if the daemon dies meanwhile,
    no one mail can be blamed. Every mail tried before (a crash or a refusal) is then
    tried alone with its attempts counted, so only a mail that really takes the daemon
    down runs out of them, and a backlog killed a few times quarantines nothing.
    """
    folder = settings.folder
    async with store.transaction(direct=True) as tx:
        fresh = [
            mail for mail in mails if not await tx.tried_before(folder, mail.uidvalidity, mail.uid)
        ]
        if len(fresh) > 1:
            for mail in fresh:
                await tx.mark_batch_try(folder, mail.uidvalidity, mail.uid, at=clock.now())
    results: dict[int, ParsedMail | str] = {}
    fresh_uids = {mail.uid for mail in fresh}
    alone = [mail for mail in mails if mail.uid not in fresh_uids]
    if len(fresh) > 1:
        answers = await asyncio.gather(
            *(parser.parse(mail.raw) for mail in fresh), return_exceptions=True
        )
        refused: list[tuple[RawMail, str]] = []
        for mail, answer in zip(fresh, answers, strict=True):
            if isinstance(answer, UnparseableMail):
                refused.append((mail, answer.reason))
            elif isinstance(answer, BaseException):
                raise answer  # not the mail's fault (a worker that cannot start): the pass stops
            else:
                results[mail.uid] = answer
        if refused:
            # A refusal is the mail's own doing: it counts as its first attempt.
            async with store.transaction(direct=True) as tx:
                for mail, reason in refused:
                    key = (folder, mail.uidvalidity, mail.uid)
                    attempt = await tx.count_attempt(*key, at=clock.now())
                    await tx.record_attempt_error(*key, reason)
                    _log_refusal(mail, attempt, settings.parse_attempts, reason)
        alone.extend(mail for mail, _ in refused)
    else:
        alone.extend(fresh)
    for mail in sorted(alone, key=lambda m: m.uid):
        results[mail.uid] = await _parse_alone(mail, store, parser, settings, clock)
    return results


async def _parse_alone(
    mail: RawMail, store: Store, parser: MailParser, settings: IntakeSettings, clock: Clock
) -> ParsedMail | str:
    """Try one mail until it parses or its attempts run out, each attempt counted first.

    Only the parse itself is charged: a worker is started before the count (after a
    restart that takes a second or more), and a parse that finished is taken back, so
    a daemon killed again and again while starting or filing quarantines no mail.
    """
    key, limit = (settings.folder, mail.uidvalidity, mail.uid), settings.parse_attempts
    while True:
        await parser.ready()
        async with store.transaction(direct=True) as tx:
            attempt = await tx.count_attempt(*key, at=clock.now())
            if attempt > limit:
                _, last_error = await tx.attempt_state(*key)
                return last_error or f"gave_up: {limit} attempts did not finish"
        try:
            parsed = await parser.parse(mail.raw)
        except UnparseableMail as refusal:
            _log_refusal(mail, attempt, limit, refusal.reason)
            async with store.transaction(direct=True) as tx:
                await tx.record_attempt_error(*key, refusal.reason)
        else:
            async with store.transaction(direct=True) as tx:
                await tx.settle_attempt(*key)
            return parsed


def _log_refusal(mail: RawMail, attempt: int, limit: int, reason: str) -> None:
    log.warning("mail %s/%s attempt %d/%d: %s", mail.uidvalidity, mail.uid, attempt, limit, reason)


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
