"""A partner's reply to a non-binding advice's request: filed as its motivation (issue 12).

The request went out with a Message-ID made from its outbox key
(:func:`daemon.publish.decisions.advice_request_key`), so a reply naming it in
``In-Reply-To``/``References`` is recognised without anything else stored. Only a
reply from the partner (its address, or the verified partner of that name) that is
no automatic mail (an out-of-office is no motivation) counts; it is filed in the
mail's own transaction: the motivation, the afspraak that tracked it closed, and a
post to the core room.
"""

from __future__ import annotations

import re
from datetime import datetime

from daemon.mail.effects import enqueue_post
from daemon.mail.settings import IntakeSettings
from daemon.mail.understand import Understood
from daemon.model import AgreementStatus, ItemId
from daemon.ports.mail import ParsedMail
from daemon.ports.outbox import message_id_for
from daemon.publish.decisions import advice_answered_key, advice_answered_post, advice_request_key
from daemon.store import Tx
from daemon.store.decisions import StoredAdvice

__all__ = ["answered_advice", "file_motivation", "from_the_advised", "motivation_text"]

MAX_MOTIVATION_CHARS = 4000
# Where the quoted original starts: "Op ... schreef ...:" / "On ... wrote:" / "-----Original".
_QUOTE_HEADER = re.compile(
    r"^(?:op .{0,200}schreef.{0,100}:|on .{0,200}wrote:|-{2,} ?(?:original|oorspronkelijk).*)$",
    re.I,
)


async def answered_advice(
    tx: Tx, settings: IntakeSettings, understood: Understood, parsed: ParsedMail
) -> StoredAdvice | None:
    """The open advice this mail answers, when it is the partner's own reply."""
    if understood.automatic or not understood.thread_ids:
        return None
    thread = set(understood.thread_ids)
    for advice in await tx.all_advice(open_only=True):
        if message_id_for(advice_request_key(advice.id), settings.domain) not in thread:
            continue
        if from_the_advised(advice, understood, parsed.from_address):
            return advice
    return None


def from_the_advised(advice: StoredAdvice, understood: Understood, from_address: str) -> bool:
    """Whether the mail is the advised partner's own: from that partner, verified, or from
    the address the request went to.

    The request's Message-ID is made from its key, so anyone can guess it: the sender
    must be real. Never a mail our server found forged; by address alone (the partner
    renamed in the config since) only a From our server verified, as for a version.
    """
    if understood.auth_failure is not None:
        return False
    if understood.partner is not None and understood.partner.name == advice.partner:
        return True
    by_address = advice.address is not None and from_address == advice.address
    return by_address and understood.verified is not False


def motivation_text(text: str) -> str:
    """The reply without the quoted request below it (``>`` lines, "On ... wrote:")."""
    kept: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        stripped = line.strip()
        if stripped.startswith(">") or _QUOTE_HEADER.match(stripped):
            break
        kept.append(line)
    motivation = "\n".join(kept).strip() or text.strip()
    return motivation[:MAX_MOTIVATION_CHARS]


async def file_motivation(
    tx: Tx, settings: IntakeSettings, advice: StoredAdvice, parsed: ParsedMail, now_at: datetime
) -> ItemId | None:
    """File the reply as the advice's motivation; the item it belongs to."""
    motivation = motivation_text(parsed.text)
    if not await tx.answer_advice(advice.id, motivation, now_at):
        return None
    if advice.agreement is not None:
        agreement = await tx.agreement(advice.agreement)
        if agreement is not None and agreement.status is AgreementStatus.OPEN:
            await tx.close_agreement(agreement.id, AgreementStatus.DONE, None, now_at)
    decision = await tx.decision(advice.decision)
    item = None if decision is None else await tx.item(decision.item)
    if item is None:
        return None
    post = advice_answered_post(item, advice, motivation, settings.timezone)
    await enqueue_post(tx, settings, advice_answered_key(advice.id), post, now=now_at)
    return item.id
