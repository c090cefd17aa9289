"""The mail intake: every mail in the folder becomes exactly one item (or a quarantine entry).

Per mail, in this order (ARCHITECTURE.md, "Following one mail"):

1. handled before under this (UIDVALIDITY, UID)? then only the move is left;
2. parse, in a worker with a time limit, with attempts counted in the store
   before each try; after ``parse_attempts`` failures the mail is quarantined;
3. the same mail filed before (same Message-ID and content hash, e.g. after
   the folder was renumbered, or delivered twice: the hash leaves out the trace
   fields servers add on delivery)? then it is recorded as a repeat, never refiled;
4. its files are written to the content-addressed document store, then ONE
   transaction files the item (or version), records the mail as handled,
   advances the folder position and adds the receipt and room post to the outbox;
5. the outbox is woken; only then is the mail moved out of the folder.

A crash anywhere repeats at most the move. IDLE only wakes the loop: the
truth is always a UID search above the last handled UID. Mail is never deleted.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from datetime import datetime

from daemon.clock import Clock
from daemon.errors import PermanentError, TransientError
from daemon.filing.submission import IncomingDocument
from daemon.mail.outcomes import Arrival, file_mail, record_repeat
from daemon.mail.quarantine import quarantine_mail
from daemon.mail.settings import IntakeSettings
from daemon.mail.understand import understand
from daemon.model import DocumentHash
from daemon.ports.mail import ParsedMail, UnparseableMail
from daemon.ports.mailbox import MailSource, QuarantineReturn, RawMail
from daemon.ports.parser import MailParser
from daemon.store import Store
from daemon.store.mail import HandledMail, MailOutcome, QuarantineStatus

__all__ = ["MailIntake"]

log = logging.getLogger("wijkbode.mail")

_ERROR_PAUSE_SECONDS = (1.0, 5.0, 30.0, 120.0)  # after an unexpected error, growing
Sleep = Callable[[float], Awaitable[None]]


class MailIntake:
    """Reads the configured folder through a ``MailSource`` until cancelled."""

    def __init__(
        self,
        store: Store,
        source: MailSource,
        parser: MailParser,
        clock: Clock,
        settings: IntakeSettings,
        *,
        on_enqueued: Callable[[], None] = lambda: None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._store = store
        self._source = source
        self._parser = parser
        self._clock = clock
        self._settings = settings
        self._on_enqueued = on_enqueued
        self._sleep = sleep
        self.passes = 0  # completed passes over the folder (for tests and the bench)

    # --- the loop -------------------------------------------------------------

    async def run(self) -> None:
        """Connect, then look for mail and wait for the next, forever; survives any error."""
        failures = 0
        while True:
            try:
                await self._source.connect()
                await self._source.ensure_folders()
                while True:
                    await self.run_once()
                    failures = 0
                    await self._source.wait_for_change(self._settings.wait_seconds)
            except asyncio.CancelledError:
                await asyncio.shield(self._source.close())
                raise
            except Exception:  # the intake must outlive any one mail or outage
                pause = _ERROR_PAUSE_SECONDS[min(failures, len(_ERROR_PAUSE_SECONDS) - 1)]
                failures += 1
                log.exception("mail intake failed; trying again in %.0f s", pause)
                await self._source.close()
                await self._sleep(pause)

    async def run_once(self) -> None:
        """One pass: finish pending moves and retries, then handle every new mail."""
        while not await self._pass():
            log.info("%s was renumbered during the pass: starting again", self._settings.folder)
        self.passes += 1

    async def _pass(self) -> bool:
        """False when the folder got a new UIDVALIDITY meanwhile (a reconnect may show one)."""
        folder = self._settings.folder
        uidvalidity = await self._source.uidvalidity()
        last_uid = await self._position(uidvalidity)
        async with self._store.reading() as tx:
            unmoved = await tx.unmoved_mail(folder, uidvalidity)
        for handled in unmoved:
            await self._move(handled)
        await self._return_requested()
        while batch := await self._source.fetch_after(last_uid, self._settings.batch_size):
            for mail in batch:
                if mail.uidvalidity != uidvalidity:
                    return False
                await self.handle(mail)
                last_uid = mail.uid
        return True

    async def _position(self, uidvalidity: int) -> int:
        """The last handled UID; 0 for a new folder or a renumbered one (nothing refiled:
        mail filed before is recognised by Message-ID and content hash)."""
        folder = self._settings.folder
        async with self._store.transaction() as tx:
            state = await tx.folder_state(folder)
            if state is not None and state.uidvalidity == uidvalidity:
                return state.last_uid
            if state is not None:
                log.warning(
                    "UIDVALIDITY of %s changed from %d to %d: reading it again from the start",
                    folder, state.uidvalidity, uidvalidity,
                )  # fmt: skip
            await tx.set_folder_state(folder, uidvalidity, 0, at=self._clock.now())
        return 0

    # --- one mail -------------------------------------------------------------

    async def handle(self, mail: RawMail) -> HandledMail:
        """Handle one mail exactly once and move it out of the folder."""
        async with self._store.reading() as tx:
            handled = await tx.handled_mail(self._settings.folder, mail.uidvalidity, mail.uid)
        if handled is None:
            handled = await self._handle_new(mail)
            self._on_enqueued()
            if self._settings.crash_after_commit:
                _crash_for_test(mail)
        await self._move(handled)
        return handled

    async def _handle_new(self, mail: RawMail) -> HandledMail:
        content_sha256 = hashlib.sha256(mail.raw).hexdigest()
        parsed = await self._parse(mail)
        if isinstance(parsed, str):
            return await self._quarantine(mail, content_sha256, parsed)
        async with self._store.reading() as tx:
            # The raw hash too: mail recorded before the identity left out trace fields.
            earlier = await tx.filed_before(
                parsed.message_id, parsed.content_sha256, content_sha256
            )
        if earlier is not None:
            async with self._store.transaction() as tx:
                return await record_repeat(tx, self._settings, mail, earlier, self._clock.now())
        return await self._file(mail, parsed)

    async def _parse(self, mail: RawMail) -> ParsedMail | str:
        """The parsed mail, or the reason to quarantine it after too many failed attempts."""
        folder, limit = self._settings.folder, self._settings.parse_attempts
        key = (folder, mail.uidvalidity, mail.uid)
        while True:
            async with self._store.transaction() as tx:
                attempt = await tx.count_attempt(*key, at=self._clock.now())
                _, last_error = await tx.attempt_state(*key)
            if attempt > limit:
                return last_error or f"gave_up: {limit} attempts did not finish"
            try:
                return await self._parser.parse(mail.raw)
            except UnparseableMail as refused:
                log.warning("mail %s/%s attempt %d/%d: %s", mail.uidvalidity, mail.uid,
                            attempt, limit, refused.reason)  # fmt: skip
                async with self._store.transaction() as tx:
                    await tx.record_attempt_error(*key, refused.reason)

    async def _file(self, mail: RawMail, parsed: ParsedMail) -> HandledMail:
        settings = self._settings
        received_at = self._now() if settings.received_at_from_clock else mail.internaldate
        understood = understand(
            parsed,
            received_at,
            partners=settings.partners,
            authserv_id=settings.authserv_id,
            known_series=settings.filing.rules.keys(),
        )
        documents = await self._store_documents(parsed)
        arrival = Arrival(mail, parsed, understood, documents, self._clock.now())
        async with self._store.transaction() as tx:
            return await file_mail(tx, settings, arrival)

    async def _store_documents(self, parsed: ParsedMail) -> tuple[IncomingDocument, ...]:
        """Write the files before the transaction: content-addressed, so a repeat writes nothing."""
        stored: list[IncomingDocument] = []
        for attachment in parsed.attachments:
            digest = await self._store.documents.put(attachment.content)
            name, kind, size = attachment.filename, attachment.content_type, attachment.size
            stored.append(IncomingDocument(DocumentHash(digest), name, kind, size))
        return tuple(stored)

    async def _quarantine(self, mail: RawMail, content_sha256: str, reason: str) -> HandledMail:
        hint = await self._parser.sender_hint(mail.raw)
        async with self._store.transaction() as tx:
            return await quarantine_mail(
                tx, self._settings, mail, content_sha256, reason, hint, self._clock.now()
            )

    # --- moves ------------------------------------------------------------------

    async def _move(self, handled: HandledMail) -> None:
        """Move a handled mail to its folder and remember that it went."""
        settings = self._settings
        target = (
            settings.quarantine_folder
            if handled.outcome is MailOutcome.QUARANTINED
            else settings.processed_folder
        )
        await self._source.move(handled.uid, target, uidvalidity=handled.uidvalidity)
        async with self._store.transaction() as tx:
            await tx.mark_moved(handled.folder, handled.uidvalidity, handled.uid, at=self._now())

    async def _return_requested(self) -> None:
        """Put mail back in the folder for which the operator asked ``quarantine retry``."""
        async with self._store.reading() as tx:
            wanted = await tx.quarantined([QuarantineStatus.RETRY])
        if not wanted:
            return
        if not isinstance(self._source, QuarantineReturn):
            log.error("this mail source cannot move quarantined mail back; move it by hand")
            return
        for entry in wanted:
            message_id = entry.message_id or None
            try:
                found = await self._source.move_back(
                    self._settings.quarantine_folder, message_id, entry.content_sha256
                )
            except (TransientError, PermanentError) as error:
                log.warning("quarantine %d not moved back yet: %s", entry.id, error)
                continue
            if not found:
                log.warning("quarantine %d: mail not found in %s (moved by hand?)", entry.id,
                            self._settings.quarantine_folder)  # fmt: skip
            async with self._store.transaction() as tx:
                await tx.mark_quarantine_retried(entry.id, at=self._now())
            log.info("quarantine %d moved back to %s for another try", entry.id,
                     self._settings.folder)  # fmt: skip

    def _now(self) -> datetime:
        return self._clock.now()


def _crash_for_test(mail: RawMail) -> None:
    """The crash test's hook (see ``CRASH_AFTER_COMMIT_ENV``): die between commit and move."""
    log.critical("test hook: killing the daemon after committing %s/%s", mail.uidvalidity, mail.uid)
    os.kill(os.getpid(), signal.SIGKILL)
