"""Hostile mail through the real path: SMTP to the harness relay, LMTP into Dovecot, IMAP
into the running daemon. Each case has its expected outcome (``hostile_mail.case_list``):
filed safely (an item; refused files listed, never stored), quarantined with a reason, or
ignored; and whether the sender gets a receipt. Every case is sent first, then the daemon
reads them all; cases are matched to what the daemon recorded by their IMAP UID (delivery
order).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiosmtplib
import pytest
import pytest_asyncio
from hostile_mail import FILED, IGNORED, QUARANTINED, MailCase, case_list, relay_safe
from hostile_world import Hostile

from daemon.model import Item
from daemon.ports.outbox import ChannelName, MailOut
from daemon.store import Store
from daemon.store.mail import HandledMail, MailOutcome, QuarantinedMail

CASES = case_list()
# A safety bound, not a measurement: 50 hostile mails (a 50 MB zip bomb, 900 kB headers,
# 200-deep MIME) may not leave the daemon and its parse workers 300 MB bigger.
RSS_BOUND_KIB = 300 * 1024
# Characters that turn text around: "\u202egpj.exe" shows as "exe.jpg".
BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@dataclass
class Result:
    case: MailCase
    sender: str
    handled: HandledMail | None
    quarantine: QuarantinedMail | None
    item: Item | None
    receipts: int
    refused_by_relay: str | None = None


@dataclass
class Batch:
    results: dict[str, Result]
    rss_before: int
    rss_after: int
    outside_before: set[str]
    outside_after: set[str]


async def read_store(hostile: Hostile) -> tuple[list[HandledMail], list[QuarantinedMail],
                                                dict[int, Item], list[MailOut]]:  # fmt: skip
    store = await Store.open(hostile.runner.state_dir)
    try:
        async with store.reading() as tx:
            handled = await tx.handled_mails()
            quarantined = await tx.quarantined()
            items = {h.item_id: await tx.item(h.item_id) for h in handled if h.item_id}
            mails = [e.payload for e in await tx.effects(ChannelName.MAIL)]
    finally:
        await store.close()
    return (handled, quarantined, {k: v for k, v in items.items() if v is not None},
            [m for m in mails if isinstance(m, MailOut)])  # fmt: skip


@pytest_asyncio.fixture(scope="module")
async def batch(hostile: Hostile) -> Batch:
    rss_before, outside_before = hostile.rss_kib(), hostile.outside_state()
    start = len((await read_store(hostile))[0])
    senders: dict[str, str] = {}
    refused: dict[str, str] = {}
    for number, case in enumerate(CASES):
        sender = f"h{number}x{int(time.time())}@elders.test"
        senders[case.name] = sender
        try:
            await hostile.mail.relay.deliver(
                relay_safe(case.build(hostile.mail.mailbox.address, sender)), sender,
                [hostile.mail.mailbox.address],
            )  # fmt: skip
        except aiosmtplib.SMTPException as error:
            refused[case.name] = str(error)
    expected = start + len(CASES) - len(refused)

    async def all_read() -> bool:
        return len((await read_store(hostile))[0]) >= expected

    await hostile.runner.wait_until(all_read, "every hostile mail read", within=240)
    await asyncio.sleep(1)  # receipts are enqueued in the filing's own transaction
    handled, quarantined, items, mails = await read_store(hostile)
    fresh = sorted(handled, key=lambda h: h.uid)[start:]
    delivered = [case for case in CASES if case.name not in refused]
    results: dict[str, Result] = {}
    for case, row in zip(delivered, fresh, strict=True):
        sender = senders[case.name]
        results[case.name] = Result(
            case, sender, row,
            next((q for q in quarantined if (q.uid, q.uidvalidity) == (row.uid, row.uidvalidity)),
                 None),
            items.get(row.item_id) if row.item_id else None,
            sum(1 for m in mails if sender in m.to),
        )  # fmt: skip
    for name, error in refused.items():
        case = next(c for c in CASES if c.name == name)
        results[name] = Result(case, senders[name], None, None, None, 0, error)
    return Batch(results, rss_before, hostile.rss_kib(), outside_before, hostile.outside_state())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_mail(batch: Batch, case: MailCase) -> None:
    result = batch.results[case.name]
    assert result.refused_by_relay is None, result.refused_by_relay
    assert result.handled is not None
    outcome = {MailOutcome.FILED: FILED, MailOutcome.QUARANTINED: QUARANTINED,
               MailOutcome.IGNORED: IGNORED}.get(result.handled.outcome)  # fmt: skip
    reason = result.quarantine.reason if result.quarantine else ""
    assert outcome == case.outcome, (result.handled, reason)
    if case.outcome == QUARANTINED:
        assert result.quarantine is not None
        assert result.quarantine.reason
        assert "Traceback" not in result.quarantine.reason
        assert not result.quarantine.reason.startswith("parser_error"), reason
    if case.outcome == FILED:
        item = result.item
        assert item is not None
        assert item.title
        assert len(item.title) <= 200
        assert "\x00" not in item.title
        assert "\r" not in item.title
        assert "\x00" not in item.text
        assert all("/" not in d.filename and "\x00" not in d.filename for d in item.documents)
        assert all(len(d.filename) <= 255 for d in item.documents)
        assert not any(BIDI & set(d.filename) for d in item.documents)
        if case.check is not None:
            assert case.check(item), item
    if case.receipt is not None:
        assert (result.receipts > 0) == case.receipt, result.receipts


def test_files_are_kept_as_sent_and_never_unpacked(batch: Batch) -> None:
    """The zip bomb and the gzip bomb are stored as the bytes sent (never expanded); the
    ten PDFs keep five (max_attachments) and the rest are only listed."""
    for name in ("zip_bomb", "nested_zip_bomb", "gzip_bomb"):
        item = batch.results[name].item
        assert item is not None
        [document] = item.documents
        assert document.size < 2_000_000, (name, document.size)
    many = batch.results["too_many_files"].item
    assert many is not None
    assert len(many.documents) == 5


def test_memory_stays_bounded_and_nothing_is_written_outside_the_state_dir(batch: Batch) -> None:
    """RSS of the daemon with its parse workers grows by less than ``RSS_BOUND_KIB`` (300 MB,
    a generous safety bound) over the whole batch; the run directory outside ``state/``
    (config, secrets, the daemon's TMPDIR) holds exactly what it held before."""
    assert batch.rss_after - batch.rss_before < RSS_BOUND_KIB, (batch.rss_before, batch.rss_after)
    assert batch.outside_after == batch.outside_before


async def receipts_to(hostile: Hostile, address: str) -> list[MailOut]:
    return [m for m in (await read_store(hostile))[3] if address in m.to]


async def handled_from(hostile: Hostile, address: str) -> int:
    return sum(1 for h in (await read_store(hostile))[0] if h.sender == address)


RESPONDERS = [
    # (name, marks its answers as auto-replied, quotes our subject, receipts we send)
    ("rfc3834_responder", True, True, 0),  # an auto-reply gets no receipt at all
    ("quoting_responder", False, True, 1),  # "[WB-n]" in our subject threads its answer
    ("rude_responder", False, False, 5),  # a new thread each time: the hourly limit per sender
]


@pytest.mark.parametrize(
    ("marks_itself", "quotes", "expected"),
    [r[1:] for r in RESPONDERS],
    ids=[r[0] for r in RESPONDERS],
)
async def test_a_loop_with_another_auto_responder_ends(
    hostile: Hostile, marks_itself: bool, quotes: bool, expected: int
) -> None:
    """Their auto-responder answers every mail we send, ours answers every mail they send:
    the loop ends after ``expected`` receipts, and each of their mails is read once."""
    responder = f"vakantie{int(time.time() * 1000)}@elders.test"
    address = hostile.mail.mailbox.address
    extra = "Auto-Submitted: auto-replied\r\n" if marks_itself else ""
    subject = "Ik ben afwezig"
    sent = 0
    for _ in range(10):
        raw = (
            f"From: {responder}\r\nTo: {address}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{sent}.{responder}>\r\n{extra}Content-Type: text/plain\r\n\r\n"
            "Ik ben tot maandag afwezig.\r\n"
        ).encode()
        await hostile.mail.relay.deliver(raw, responder, [address])
        sent += 1

        async def read(count: int = sent) -> bool:
            return await handled_from(hostile, responder) >= count

        await hostile.runner.wait_until(read, "the responder's mail read")
        receipts = await receipts_to(hostile, responder)
        if len(receipts) < sent:
            break  # we did not answer: the loop is over
        subject = f"Automatisch antwoord: {receipts[-1].subject if quotes else 'afwezig'}"
    receipts = await receipts_to(hostile, responder)
    assert len(receipts) == expected
    assert sent == expected + 1
    assert await handled_from(hostile, responder) == sent
