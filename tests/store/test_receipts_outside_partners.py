"""Every receipt sent as an outsider's counts toward the overall hourly limit.

``[mail.limits] receipts_per_hour_outside_partners`` bounds the receipts to senders
outside the partners, all together (docs/security.md, Fixed 9). With ``authserv_id`` a
mail from a partner's address that our server did not verify is an outsider's: its
receipt waits on that limit, and it must count in it too, although its address is a
partner's. Else a forger varying the local part at a partner configured by domain gets
backscatter sent into that domain, bounded only by the per-address limit. A verified
partner's receipt neither counts nor waits. Counted from the outbox, so across restarts.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from daemon.config import parse_config
from daemon.mail.effects import Correspondent, enqueue_receipt
from daemon.mail.quarantine import quarantine_mail
from daemon.mail.settings import IntakeSettings
from daemon.ports.mailbox import RawMail
from daemon.ports.outbox import ChannelName, MailOut, NewEffect
from daemon.ports.parser import SenderHint
from daemon.publish.receipts import ReceiptTo, receipt_key
from daemon.store import Store

AT = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
LIMIT = 2

CONFIG = """\
[series.wijkalliantie]
[series.wijkalliantie.plan]
dates = [2027-04-06T19:30:00]

[[partners]]
name = "Gemeente"
domains = ["gemeente.test"]

[mail]
address = "wijkbode@wijk.test"
authserv_id = "mx.wijk.test"
[mail.imap]
host = "imap.wijk.test"
username = "wijkbode"
password_env = "WIJKBODE_TEST_IMAP"
[mail.smtp]
host = "smtp.wijk.test"
username = "wijkbode"
password_env = "WIJKBODE_TEST_SMTP"
"""


def settings(limit: int = LIMIT) -> IntakeSettings:
    config = parse_config(CONFIG, Path("wijkbode.toml"))
    return replace(IntakeSettings.from_config(config), receipts_per_hour_outside_partners=limit)


def sender(address: str, *, partner: bool | None) -> Correspondent:
    """A mail from ``address``; ``partner``: what the intake made of it (False for a
    partner's address our server did not verify, None: judge by the address)."""
    return Correspondent(address, None, (), False, False, False, partner=partner)


def compose(to: ReceiptTo) -> MailOut:
    return MailOut(to=(to.address,), subject="Ontvangen", text="t", message_id=f"<{to.key}@x>")


async def receipt(store: Store, uid: int, correspondent: Correspondent, *, now: datetime) -> bool:
    """Whether the intake queues this mail's receipt (in its own transaction)."""
    async with store.transaction() as tx:
        return await enqueue_receipt(
            tx, settings(), correspondent, key=receipt_key(1, uid), now=now, compose=compose
        )


async def test_unverified_partner_mails_from_varied_local_parts_count_toward_the_limit(
    store: Store,
) -> None:
    forged = [f"afdeling{n}@gemeente.test" for n in range(5)]  # one each: no per-address limit
    sent = [
        await receipt(store, n, sender(address, partner=False), now=AT + timedelta(minutes=n))
        for n, address in enumerate(forged)
    ]
    assert sent == [True, True, False, False, False]
    # A stranger's receipt waits on the same, used-up limit.
    assert not await receipt(store, 9, sender("iemand@elders.test", partner=None), now=AT)


async def test_a_verified_partners_receipt_neither_counts_nor_waits(store: Store) -> None:
    for n in range(3):  # the verified partner first: none of these uses the limit
        assert await receipt(store, n, sender("ambtenaar@gemeente.test", partner=True), now=AT)
    outsiders = [sender("iemand@elders.test", partner=None)] + [
        sender(f"afdeling{n}@gemeente.test", partner=False) for n in range(2)
    ]
    assert [await receipt(store, 10 + n, s, now=AT) for n, s in enumerate(outsiders)] == [
        True,
        True,
        False,
    ]
    # The limit is used up; the verified partner's receipt still goes.
    assert await receipt(store, 20, sender("wethouder@gemeente.test", partner=True), now=AT)
    # An hour later the window is empty again.
    later = AT + timedelta(hours=1, minutes=1)
    assert await receipt(store, 21, sender("afdeling9@gemeente.test", partner=False), now=later)


async def test_the_count_holds_across_a_restart(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "state")
    try:
        for n in range(LIMIT):
            unverified = sender(f"afdeling{n}@gemeente.test", partner=False)
            assert await receipt(store, n, unverified, now=AT)
    finally:
        await store.close()
    reopened = await Store.open(tmp_path / "state")
    try:
        unverified = sender("afdeling7@gemeente.test", partner=False)
        assert not await receipt(reopened, 7, unverified, now=AT + timedelta(minutes=5))
    finally:
        await reopened.close()


async def test_receipts_queued_before_the_marking_are_judged_by_their_address(
    store: Store,
) -> None:
    """A receipt row without the mark (queued before migration 0017) counts as before:
    an outsider's when its address is not a partner's."""
    async with store.transaction() as tx:
        for n, to in enumerate(["iemand@elders.test", "ambtenaar@gemeente.test"]):
            mail = MailOut(to=(to,), subject="s", text="t", message_id=f"<old{n}@x>")
            await tx.enqueue(NewEffect(ChannelName.MAIL, to, f"receipt/mail/0/{n}", mail), now=AT)
    # One of the two of this hour is used by the stranger's old receipt, not the partner's.
    first, second = (sender(f"afdeling{n}@gemeente.test", partner=False) for n in range(2))
    assert await receipt(store, 1, first, now=AT)
    assert not await receipt(store, 2, second, now=AT)


async def unreadable(store: Store, uid: int, address: str, config: IntakeSettings) -> bool:
    """Whether the intake queues the receipt of an unreadable mail from ``address``."""
    hint = SenderHint(address, f"<q{uid}@x>", (), "Notitie", False, False, False)
    content = b"From: " + address.encode() + b"\r\n"
    raw = RawMail(1, uid, AT, content, len(content))
    async with store.transaction() as tx:
        await quarantine_mail(tx, config, raw, "b" * 64, "too_deep: test", hint, AT)
        return await tx.effect_by_key(receipt_key(1, uid)) is not None


async def test_an_unreadable_mail_from_a_partners_address_is_an_outsiders_with_authserv_id(
    store: Store,
) -> None:
    """Its verdict could not be read, so nothing verified it: a forger could otherwise
    vary the local part with deeply nested MIME and reach the partner's domain."""
    got = [
        await unreadable(store, n, f"afdeling{n}@gemeente.test", settings()) for n in range(1, 5)
    ]
    assert got == [True, True, False, False]


async def test_without_authserv_id_an_unreadable_partner_mail_is_the_partners(
    store: Store,
) -> None:
    """Nothing can be verified then: the From decides, as for a readable mail."""
    trusting = replace(settings(), authserv_id=None)
    got = [await unreadable(store, n, f"afdeling{n}@gemeente.test", trusting) for n in range(1, 5)]
    assert got == [True] * 4
