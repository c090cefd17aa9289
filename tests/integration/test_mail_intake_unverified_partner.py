"""A partner's mail our server did not verify is not the partner's (docs/security.md).

Where a partner's domain has no DMARC and its SPF ends in ``~all``, a forgery of its
address gets ``spf=softfail, dkim=none, dmarc=none`` at our server: nothing failed. With
``authserv_id`` that is not enough: through the real path (SMTP into Dovecot, the intake
over IMAP) such a mail waits for acceptance, its room post says our server could not
confirm the partner, its receipt is an outsider's (it waits on the overall limit), and
it adds no version to the partner's item. The partner's verified mail is unaffected.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from mailintake import (
    AUTHSERV_ID,
    PARTNER,
    PDF,
    PROCESSED,
    STRANGER,
    MailWorld,
    meetings_from_now,
    message,
    open_world,
)

from daemon.model import ItemStatus
from daemon.ports.outbox import ChannelName, MailOut
from daemon.store.mail import MailOutcome
from harness.dovecot import DovecotServer, MailAccount
from harness.smtp import CaptureView, SmtpRelay

# Our server's verdict on a forgery of the partner's domain (no DMARC, SPF ~all).
SOFTFAIL = (
    f"{AUTHSERV_ID}; spf=softfail smtp.mailfrom=gemeente.test; dkim=none;"
    " dmarc=none header.from=gemeente.test"
)
LIMIT = 2


@pytest_asyncio.fixture
async def world(
    tmp_path: Path, dovecot: DovecotServer, smtp_relay: SmtpRelay, mailbox_user: MailAccount
) -> AsyncIterator[MailWorld]:
    # One receipt an hour to all outsiders together: the stranger's uses it up.
    opened = await open_world(
        tmp_path, dovecot, smtp_relay, mailbox_user, meetings_from_now(20),
        limits="receipts_per_hour_outside_partners = 1",
    )  # fmt: skip
    yield opened
    await opened.close()


async def test_a_partner_mail_our_server_did_not_verify_waits_says_so_and_adds_no_version(
    world: MailWorld,
) -> None:
    to = world.account.address
    await world.deliver(message(sender=STRANGER, to=to, subject="Bankjes"), STRANGER)
    # The partner's own mail: our server's verdict on top, DMARC pass (mailintake.message).
    await world.deliver(message(to=to, subject="[stuk] Begroting", attachments=[("b.pdf", PDF)]))
    await world.run_once()
    _, begroting = await world.items()
    assert begroting.status is ItemStatus.FILED

    softfail = [("Authentication-Results", SOFTFAIL)]
    forged = message(to=to, subject="[stuk] Notitie", headers=softfail)
    version = message(
        to=to, subject=f"Re: [WB-{begroting.id}] Begroting", headers=softfail,
        attachments=[("b-v2.pdf", PDF + b"% vervalst\n")],
    )  # fmt: skip
    await world.deliver(forged)
    await world.deliver(version)
    await world.run_once()

    _, _, *waiting = await world.items()
    assert [item.title for item in waiting] == ["Notitie", "Begroting"]  # its [WB-n] cut
    for item in waiting:
        assert (item.status, item.auth_failure) == (ItemStatus.AWAITING_ACCEPTANCE, None)
    # The partner's item kept its one document: no version by an unverified From.
    async with world.store.reading() as tx:
        assert await tx.documents_of(begroting.id, 2) == []
        posts = {e.item_id: e.post.body for e in await tx.waiting_feed_entries()}
    for item in waiting:
        assert "onze mailserver kon niet bevestigen dat dit van Gemeente komt" in posts[item.id]
        assert "could not confirm that this comes from Gemeente (not verified)" in posts[item.id]
        assert "geen bekende partner" not in posts[item.id]
    looks_like = f"Lijkt een nieuwe versie van WB-{begroting.id}"
    assert [looks_like in posts[i.id] for i in waiting] == [False, True]

    # Receipts: the stranger's (the hour's one for outsiders) and the verified partner's.
    # The unverified ones are outsiders' and wait on that limit; a partner's never would.
    effects = await world.effects(ChannelName.MAIL)
    receivers = [to for e in effects if isinstance(e.payload, MailOut) for to in e.payload.to]
    assert sorted(receivers) == sorted([STRANGER, PARTNER])


@pytest_asyncio.fixture
async def world_of_two(
    tmp_path: Path, dovecot: DovecotServer, smtp_relay: SmtpRelay, mailbox_user: MailAccount
) -> AsyncIterator[MailWorld]:
    opened = await open_world(
        tmp_path, dovecot, smtp_relay, mailbox_user, meetings_from_now(20),
        limits=f"receipts_per_hour_outside_partners = {LIMIT}",
    )  # fmt: skip
    yield opened
    await opened.close()


async def test_unverified_partner_mails_from_varied_local_parts_share_the_outsiders_limit(
    world_of_two: MailWorld, captured_mail: CaptureView
) -> None:
    """A forger varying the local part at a partner configured by domain: each address
    once, so only the overall limit can stop the backscatter into the partner's domain."""
    world = world_of_two
    forged = [f"afdeling{n}@gemeente.test" for n in range(5)]
    softfail = [("Authentication-Results", SOFTFAIL)]
    for n, address in enumerate(forged):
        raw = message(sender=address, to=world.account.address, subject=f"Notitie {n}",
                      headers=softfail)  # fmt: skip
        await world.deliver(raw, address)
    # The verified partner's mail comes last, after the limit is used up.
    await world.deliver(message(to=world.account.address, subject="Jaarverslag"))
    await world.run_once()
    await world.send_receipts()

    # Nothing lost: every forged mail is an item awaiting acceptance, the partner's filed.
    *waiting, jaarverslag = await world.items()
    assert [item.title for item in waiting] == [f"Notitie {n}" for n in range(5)]
    assert {item.status for item in waiting} == {ItemStatus.AWAITING_ACCEPTANCE}
    assert (jaarverslag.title, jaarverslag.status) == ("Jaarverslag", ItemStatus.FILED)
    async with world.store.reading() as tx:
        handled = await tx.handled_mails()
    assert [h.outcome for h in handled] == [MailOutcome.FILED] * 6
    assert world.folder_counts()[PROCESSED] == 6

    # Two receipts into the partner's domain for the forgeries, then none; the verified
    # partner's receipt neither counted nor waited.
    effects = await world.effects(ChannelName.MAIL)
    receivers = sorted(to for e in effects if isinstance(e.payload, MailOut) for to in e.payload.to)
    assert receivers == sorted([*forged[:LIMIT], PARTNER])
    await captured_mail.wait_for(lambda m: PARTNER in str(m["To"]))
    for address in forged[:LIMIT]:
        await captured_mail.wait_for(lambda m, a=address: a in str(m["To"]))
    sent_to = {str(m["To"]) for m in captured_mail.messages()}
    assert not any(address in to for address in forged[LIMIT:] for to in sent_to)
