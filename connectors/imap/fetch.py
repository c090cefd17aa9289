"""Reading imaplib's FETCH answers: UID, INTERNALDATE, RFC822.SIZE and the raw bytes."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta, timezone

from daemon.ports.mailbox import RawMail

# BODY.PEEK[] never sets \Seen (BODY[] would); RFC822.SIZE lets the intake see
# the size before parsing; INTERNALDATE is when our server received the mail.
FETCH_ITEMS = "(UID INTERNALDATE RFC822.SIZE BODY.PEEK[])"

_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_INTERNALDATE = re.compile(
    rb'\bINTERNALDATE "\s?(\d{1,2})-([A-Za-z]{3})-(\d{4}) '
    rb'(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})"'
)
# IMAP month names are fixed English abbreviations, whatever the locale says.
_MONTHS = {
    name: number
    for number, name in enumerate(b"jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)
}


def parse_internaldate(text: bytes) -> datetime | None:
    """The first ``INTERNALDATE "dd-Mon-yyyy hh:mm:ss +zzzz"`` in ``text``, in UTC."""
    found = _INTERNALDATE.search(text)
    if found is None:
        return None
    day, month, year, hour, minute, second, sign, off_h, off_m = found.groups()
    month_number = _MONTHS.get(month.lower())
    if month_number is None:
        return None
    offset = timedelta(hours=int(off_h), minutes=int(off_m))
    zone = timezone(-offset if sign == b"-" else offset)
    local = datetime(
        int(year), month_number, int(day), int(hour), int(minute), int(second), tzinfo=zone
    )
    return local.astimezone(UTC)


def uid_set(uids: Iterable[int]) -> str:
    """An IMAP sequence set of UIDs, runs collapsed: ``1:3,7,9:10``."""
    ordered = sorted(set(uids))
    runs: list[str] = []
    start = previous = None
    for uid in ordered:
        if previous is not None and uid == previous + 1:
            previous = uid
            continue
        if start is not None:
            runs.append(str(start) if start == previous else f"{start}:{previous}")
        start = previous = uid
    if start is not None:
        runs.append(str(start) if start == previous else f"{start}:{previous}")
    return ",".join(runs)


def parse_sizes(data: Sequence[object]) -> dict[int, int]:
    """UID -> RFC822.SIZE from a ``UID FETCH set (UID RFC822.SIZE)`` answer."""
    sizes: dict[int, int] = {}
    for item in data:
        text = item if isinstance(item, bytes) else None
        if text is None:
            continue
        uid, size = _UID.search(text), _SIZE.search(text)
        if uid is not None and size is not None:
            sizes[int(uid.group(1))] = int(size.group(1))
    return sizes


def parse_fetch(data: Sequence[object], uidvalidity: int) -> list[RawMail]:
    """Every complete mail in imaplib's FETCH data.

    imaplib gives ``(b'3 (UID 5 INTERNALDATE "..." RFC822.SIZE n BODY[] {n}', raw)``
    followed by the rest of the line (``b')'``, where some servers put the UID);
    a bare ``bytes`` item without a literal is an unsolicited flag update: skipped.
    """
    mails: list[RawMail] = []
    for index, item in enumerate(data):
        if not (isinstance(item, tuple) and len(item) == 2):
            continue
        head, raw = item
        if not (isinstance(head, bytes) and isinstance(raw, bytes)):
            continue
        following = data[index + 1] if index + 1 < len(data) else b""
        text = head + b" " + (following if isinstance(following, bytes) else b"")
        mail = _raw_mail(text, raw, uidvalidity)
        if mail is not None:
            mails.append(mail)
    return mails


def _raw_mail(text: bytes, raw: bytes, uidvalidity: int) -> RawMail | None:
    uid = _UID.search(text)
    internaldate = parse_internaldate(text)
    if uid is None or internaldate is None:
        return None
    size = _SIZE.search(text)
    return RawMail(
        uidvalidity=uidvalidity,
        uid=int(uid.group(1)),
        internaldate=internaldate,
        raw=raw,
        size=int(size.group(1)) if size else len(raw),
    )
