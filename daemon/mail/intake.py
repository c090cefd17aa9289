"""The mail intake: every mail in the folder becomes exactly one item (or a quarantine entry).

Mail is fetched in batches (one ``UID FETCH`` of a set, bounded in count and
bytes; a single new mail is a batch of one). Per batch, in this order:

1. handled before under this (UIDVALIDITY, UID)? then only the move is left;
2. parse, in parallel in the parser's workers, each with a time limit and its
   attempts counted in the store before each try; after ``parse_attempts``
   failures a mail is quarantined (``reading.py``);
3. each mail's files are written to the content-addressed document store;
4. ONE transaction for the batch records, per mail: a repeat when the same mail
   was filed before (same Message-ID and content hash, e.g. after the folder was
   renumbered, or delivered twice: the hash leaves out the trace fields servers
   add on delivery), else the item (or version) or the quarantine entry; the mail
   as handled, the folder position, and the receipt and room post in the outbox;
5. the outbox is woken; only then are the mails moved out of the folder (one
   ``UID MOVE`` of a set per target folder).

While one batch is recorded and moved (4, 5), the next is fetched and read (1-3), so
that the IMAP connection, the parse workers and the store work side by side.

A crash anywhere repeats at most the moves. IDLE only wakes the loop: the
truth is always a UID search above the last handled UID. Mail is never deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from daemon.clock import Clock
from daemon.errors import PermanentError, TransientError
from daemon.mail.outcomes import Arrival, file_mail, record_repeat
from daemon.mail.quarantine import quarantine_mail
from daemon.mail.reading import Reading, Unreadable, read_batch
from daemon.mail.settings import IntakeSettings
from daemon.ports.mailbox import MailSource, QuarantineReturn, RawMail
from daemon.ports.parser import MailParser
from daemon.store import Store, Tx
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
        await self._move(unmoved)
        await self._return_requested()
        batch = await self._fetch_and_read(last_uid, uidvalidity)
        while isinstance(batch, _ReadBatch):
            # Reading ahead is safe to lose: it only stores files by their hash and marks
            # the parse tries (reading.py); the mails stay in the folder until recorded.
            ahead = asyncio.create_task(self._fetch_and_read(batch.mails[-1].uid, uidvalidity))
            try:
                await self._finish(batch)
            except BaseException:
                ahead.cancel()
                with contextlib.suppress(BaseException):
                    await ahead
                raise
            batch = await ahead
        return batch is _Stop.END

    async def _fetch_and_read(self, after_uid: int, uidvalidity: int) -> _ReadBatch | _Stop:
        settings = self._settings
        mails = await self._source.fetch_after(after_uid, settings.batch_size, settings.batch_bytes)
        if not mails:
            return _Stop.END
        if any(mail.uidvalidity != uidvalidity for mail in mails):
            return _Stop.RENUMBERED
        return await self._read(mails)

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

    # --- a batch of mails -------------------------------------------------------

    async def handle(self, mail: RawMail) -> HandledMail:
        """Handle one mail exactly once and move it out of the folder."""
        [handled] = await self.handle_batch([mail])
        return handled

    async def handle_batch(self, mails: Sequence[RawMail]) -> list[HandledMail]:
        """Handle each mail exactly once, recorded in one transaction, then move them.

        Mails handled before (a crash after the commit) are only moved. A single new
        mail is a batch of one: live mail never waits for a batch to fill.
        """
        return await self._finish(await self._read(mails))

    async def _read(self, mails: Sequence[RawMail]) -> _ReadBatch:
        """Which mails were handled before, and the others parsed, their files stored."""
        folder = self._settings.folder
        async with self._store.reading(direct=True) as tx:
            known = {m.uid: await tx.handled_mail(folder, m.uidvalidity, m.uid) for m in mails}
        new = [mail for mail in mails if known[mail.uid] is None]
        readings: list[Reading] = []
        if new:
            readings = await read_batch(
                new, store=self._store, parser=self._parser,
                settings=self._settings, clock=self._clock,
            )  # fmt: skip
        return _ReadBatch(mails, known, readings)

    async def _finish(self, batch: _ReadBatch) -> list[HandledMail]:
        """Record the new mails in one transaction, then move the whole batch."""
        known = dict(batch.known)
        if batch.readings:
            for handled in await self._record_all(batch.readings):
                known[handled.uid] = handled
            self._on_enqueued()
            if self._settings.crash_after_commit:
                _crash_for_test(batch.readings[-1].mail)
        done = [h for h in (known[m.uid] for m in batch.mails) if h is not None]
        await self._move(done)
        return done

    async def _record_all(self, readings: Sequence[Reading]) -> list[HandledMail]:
        """One transaction for the batch; if it fails, one per mail, so that one mail
        the code cannot handle does not hold back the others."""
        try:
            async with self._store.transaction(direct=True) as tx:
                return [await self._record(tx, reading) for reading in readings]
        except Exception:
            if len(readings) == 1:
                raise
            log.exception("a batch of %d mails failed; handling them one by one", len(readings))
        handled = []
        for reading in readings:
            async with self._store.transaction(direct=True) as tx:
                handled.append(await self._record(tx, reading))
        return handled

    async def _record(self, tx: Tx, reading: Reading) -> HandledMail:
        """What one mail means, with its effects, in the batch's transaction."""
        settings, now = self._settings, self._clock.now()
        if isinstance(reading, Unreadable):
            return await quarantine_mail(
                tx, settings, reading.mail, reading.raw_sha256, reading.reason, reading.hint, now
            )
        parsed = reading.parsed
        # The raw hash too: mail recorded before the identity left out trace fields. In
        # the transaction, so a repeat within the same batch is seen as well.
        hashes = (parsed.content_sha256, reading.raw_sha256)
        earlier = await tx.filed_before(parsed.message_id, *hashes)
        if earlier is not None:
            return await record_repeat(tx, settings, reading.mail, earlier, now)
        arrival = Arrival(reading.mail, parsed, reading.understood, reading.documents, now)
        return await file_mail(tx, settings, arrival)

    # --- moves ------------------------------------------------------------------

    async def _move(self, handled: Sequence[HandledMail]) -> None:
        """Move handled mails to their folders, one command per folder, and remember it."""
        settings = self._settings
        groups: dict[tuple[str, int], list[HandledMail]] = {}
        for mail in handled:
            target = (
                settings.quarantine_folder
                if mail.outcome is MailOutcome.QUARANTINED
                else settings.processed_folder
            )
            groups.setdefault((target, mail.uidvalidity), []).append(mail)
        for (target, uidvalidity), group in groups.items():
            await self._source.move([m.uid for m in group], target, uidvalidity=uidvalidity)
            async with self._store.transaction(direct=True) as tx:
                for mail in group:
                    await tx.mark_moved(mail.folder, mail.uidvalidity, mail.uid, at=self._now())

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


@dataclass(frozen=True, slots=True)
class _ReadBatch:
    """A batch fetched and read: what was handled before, and the new mails' readings."""

    mails: Sequence[RawMail]
    known: Mapping[int, HandledMail | None]
    readings: Sequence[Reading]


class _Stop(enum.Enum):
    """Why a pass fetched no further batch."""

    END = "nothing more to fetch"
    RENUMBERED = "the folder has a new UIDVALIDITY"


def _crash_for_test(mail: RawMail) -> None:
    """The crash test's hook (see ``CRASH_AFTER_COMMIT_ENV``): die between a batch's commit
    and its move."""
    log.critical("test hook: killing the daemon after committing %s/%s", mail.uidvalidity, mail.uid)
    os.kill(os.getpid(), signal.SIGKILL)
