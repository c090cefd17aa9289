"""Reading a batch of mail: who is charged a parse attempt when the daemon dies meanwhile.

New mails are parsed side by side and charged nothing; a mail tried before is tried
alone, each attempt counted first. So a backlog killed a few times mid-parse
quarantines no innocent mail, while a mail that keeps killing its own parse still
runs out of attempts. The parser here is the real in-process parse behind the
``MailParser`` port, recording how many parses ran at once.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.mail.parse import parse_mail
from daemon.clock import ManualClock
from daemon.config import load_config
from daemon.mail import IntakeSettings
from daemon.mail.reading import Readable, Unreadable, read_batch
from daemon.ports.mail import ParsedMail, UnparseableMail
from daemon.ports.mailbox import RawMail
from daemon.ports.parser import SenderHint
from daemon.store import Store

EXAMPLE = Path(__file__).parents[2] / "config" / "wijkbode.example.toml"
AT = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
UIDVALIDITY = 7


@pytest.fixture(scope="module")
def settings() -> IntakeSettings:
    return IntakeSettings.from_config(load_config(EXAMPLE))


class RecordingParser:
    """Parses in-process; notes each parse and the most that ran at the same time."""

    def __init__(self, settings: IntakeSettings, refuse: frozenset[bytes] = frozenset()) -> None:
        self._settings = settings
        self._refuse = refuse
        self._running = 0
        self.most_at_once = 0
        self.parses = 0
        self.readied = 0

    async def parse(self, raw: bytes) -> ParsedMail:
        self._running += 1
        self.most_at_once = max(self.most_at_once, self._running)
        self.parses += 1
        try:
            await asyncio.sleep(0)  # let gathered parses overlap, as the worker pool does
            if raw in self._refuse:
                raise UnparseableMail("not_a_mail: test refusal")
            return parse_mail(
                raw, our_address=self._settings.our_address, limits=self._settings.limits
            )
        finally:
            self._running -= 1

    async def ready(self) -> None:
        self.readied += 1

    async def sender_hint(self, raw: bytes) -> SenderHint | None:
        return None

    async def close(self) -> None:
        pass


def mail(uid: int) -> RawMail:
    raw = (
        f"From: ambtenaar{uid}@gemeente.test\r\nTo: wijkalliantie@example.org\r\n"
        f"Subject: [stuk] Stuk {uid}\r\nMessage-ID: <m{uid}@gemeente.test>\r\n"
        f"Date: Mon, 1 Mar 2027 09:00:00 +0000\r\n\r\nZie bijlage.\r\n"
    ).encode()
    return RawMail(UIDVALIDITY, uid, AT, raw, len(raw))


async def attempts(store: Store, settings: IntakeSettings, uid: int) -> int:
    async with store.reading() as tx:
        count, _ = await tx.attempt_state(settings.folder, UIDVALIDITY, uid)
    return count


async def interrupted_batch(store: Store, settings: IntakeSettings, uids: list[int]) -> None:
    """What a daemon killed while parsing a batch leaves behind."""
    async with store.transaction() as tx:
        for uid in uids:
            await tx.mark_batch_try(settings.folder, UIDVALIDITY, uid, at=AT)


async def test_new_mails_are_parsed_side_by_side_and_charged_nothing(
    store: Store, settings: IntakeSettings
) -> None:
    parser = RecordingParser(settings)
    readings = await read_batch(
        [mail(1), mail(2), mail(3)], store=store, parser=parser, settings=settings,
        clock=ManualClock(AT),
    )  # fmt: skip
    assert all(isinstance(r, Readable) for r in readings)
    assert parser.most_at_once == 3
    assert [await attempts(store, settings, uid) for uid in (1, 2, 3)] == [0, 0, 0]


async def test_mails_of_an_interrupted_batch_are_tried_alone_and_counted(
    store: Store, settings: IntakeSettings
) -> None:
    await interrupted_batch(store, settings, [1, 2, 3])
    parser = RecordingParser(settings)
    readings = await read_batch(
        [mail(1), mail(2), mail(3)], store=store, parser=parser, settings=settings,
        clock=ManualClock(AT),
    )  # fmt: skip
    assert all(isinstance(r, Readable) for r in readings)
    assert parser.most_at_once == 1
    assert parser.readied == 3  # a worker waiting before each count
    # Each parse was counted before it started and taken back once it finished; the
    # mails stay marked as tried, so the next pass tries them alone again.
    assert [await attempts(store, settings, uid) for uid in (1, 2, 3)] == [0, 0, 0]
    async with store.reading() as tx:
        assert await tx.tried_before(settings.folder, UIDVALIDITY, 1)


async def test_a_batch_killed_more_often_than_the_attempts_quarantines_nothing(
    store: Store, settings: IntakeSettings
) -> None:
    for _ in range(settings.parse_attempts + 2):
        await interrupted_batch(store, settings, [1, 2])
    readings = await read_batch(
        [mail(1), mail(2)], store=store, parser=RecordingParser(settings), settings=settings,
        clock=ManualClock(AT),
    )  # fmt: skip
    assert [type(r) for r in readings] == [Readable, Readable]


async def test_a_mail_that_keeps_dying_alone_runs_out_of_attempts(
    store: Store, settings: IntakeSettings
) -> None:
    # Each solo try is counted before it starts; a kill leaves that count behind.
    async with store.transaction() as tx:
        for _ in range(settings.parse_attempts):
            await tx.count_attempt(settings.folder, UIDVALIDITY, 5, at=AT)
    parser = RecordingParser(settings)
    [reading] = await read_batch(
        [mail(5)], store=store, parser=parser, settings=settings, clock=ManualClock(AT)
    )
    assert isinstance(reading, Unreadable)
    assert reading.reason.startswith("gave_up")
    assert parser.parses == 0


async def test_a_refused_mail_in_a_batch_gets_its_attempts_and_the_others_go_on(
    store: Store, settings: IntakeSettings
) -> None:
    bad = mail(2)
    parser = RecordingParser(settings, refuse=frozenset({bad.raw}))
    readings = await read_batch(
        [mail(1), bad, mail(3)], store=store, parser=parser, settings=settings,
        clock=ManualClock(AT),
    )  # fmt: skip
    assert [type(r) for r in readings] == [Readable, Unreadable, Readable]
    refused = readings[1]
    assert isinstance(refused, Unreadable)
    assert refused.reason == "not_a_mail: test refusal"
    # 3 parses side by side, then the refused mail alone until its attempts ran out.
    assert parser.parses == 3 + settings.parse_attempts - 1
    assert await attempts(store, settings, 2) == settings.parse_attempts + 1


async def test_a_mail_parsed_but_not_yet_filed_is_not_charged_for_later_kills(
    store: Store, settings: IntakeSettings
) -> None:
    """Found by the fault suite (tests/faults): a mail in hand while the daemon was killed
    again and again after its parse (while filing) was quarantined as "gave_up"."""
    await interrupted_batch(store, settings, [4])
    for _ in range(settings.parse_attempts + 2):  # read, then killed before the filing commit
        [reading] = await read_batch(
            [mail(4)], store=store, parser=RecordingParser(settings), settings=settings,
            clock=ManualClock(AT),
        )  # fmt: skip
        assert isinstance(reading, Readable)
    assert await attempts(store, settings, 4) == 0


class KilledWhileStarting(RecordingParser):
    """A daemon killed while its parse worker was still starting (a second or more after a
    restart on a busy machine): ``ready`` never returns."""

    async def ready(self) -> None:
        raise KilledError


class KilledError(Exception):
    pass


async def test_a_kill_while_the_parse_worker_starts_charges_no_mail(
    store: Store, settings: IntakeSettings
) -> None:
    """Found by the fault suite: the first mail after each restart was charged for the
    worker's start-up, and three kills in a row quarantined it."""
    await interrupted_batch(store, settings, [6])
    for _ in range(settings.parse_attempts + 2):
        with pytest.raises(KilledError):
            await read_batch(
                [mail(6)], store=store, parser=KilledWhileStarting(settings), settings=settings,
                clock=ManualClock(AT),
            )  # fmt: skip
    assert await attempts(store, settings, 6) == 0
    [reading] = await read_batch(
        [mail(6)], store=store, parser=RecordingParser(settings), settings=settings,
        clock=ManualClock(AT),
    )  # fmt: skip
    assert isinstance(reading, Readable)
