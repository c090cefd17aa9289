"""Forgetting a person in stored text: their address and their names become one
pseudonym, the text around them stays.

Pure functions on strings; the store finds the rows, ``privacy forget`` writes them.
An address is matched without regard to case (mail addresses are compared that way
everywhere in Wijkbode); a name only as a whole word, and only in rows that also
name the address, so another person with the same first name keeps theirs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

PSEUDONYM_PREFIX = "verwijderd-"
_PSEUDONYM = re.compile(rf"{PSEUDONYM_PREFIX}(\d+)")
MIN_NAME_LENGTH = 3  # shorter "names" (initials) would clobber ordinary words


def pseudonym(number: int) -> str:
    return f"{PSEUDONYM_PREFIX}{number}"


def next_pseudonym(texts: Iterable[str]) -> str:
    """One more than the highest pseudonym already given out in ``texts``."""
    highest = max((int(m) for t in texts for m in _PSEUDONYM.findall(t)), default=0)
    return pseudonym(highest + 1)


# What Wijkbode writes into an address it shows (daemon/safe_text.py puts a word joiner
# after "@" so chat clients do not ping or link it), raw or JSON-escaped.
_INVISIBLE = (
    r"(?:[\u200b\u200c\u200d\u2060\ufeff\u00ad]"
    r"|\\u(?:200[bBcCdD]|2060|[fF][eE][fF][fF]|00[aA][dD]))*"
)
_ELLIPSIS = r"(?:…|\\u2026)"


def search_key(address: str) -> str:
    """A piece of ``address`` that every way of writing it contains unbroken (the part
    before the @, or a Matrix id's part after it): what the database is searched for."""
    head, at, tail = address.rpartition("@")
    return head.rpartition("@")[2] if at and len(head.rpartition("@")[2]) >= 3 else tail


def address_pattern(address: str) -> re.Pattern[str]:
    """``address`` as Wijkbode may have stored it: any case, invisible characters after
    an @, or cut short with an ellipsis inside its domain (a shortened line)."""
    head, at, tail = address.rpartition("@")
    if not at:
        return re.compile(re.escape(address), re.IGNORECASE)
    head_pattern = ("@" + _INVISIBLE).join(re.escape(part) for part in head.split("@"))
    cut = [re.escape(tail[:k]) + _ELLIPSIS for k in range(len(tail) - 1, 0, -1)]
    # Whole addresses only: not "ajan@x.nl" for "jan@x.nl", nor "jan@x.nl.example".
    whole = re.escape(tail) + r"(?![\w-]|\.[\w-])"
    tail_pattern = "(?:" + "|".join([whole, *cut]) + ")"
    before = r"(?<![\w.+-])" if head else ""
    return re.compile(before + head_pattern + "@" + _INVISIBLE + tail_pattern, re.IGNORECASE)


def names_address(text: str, address: str) -> bool:
    return address_pattern(address).search(text) is not None


def names_beside(address: str, text: str) -> set[str]:
    """Display names written with ``address``: ``Jan Jansen <jan@x>``, ``"Jan" <jan@x>``."""
    found = re.finditer(
        r'(?:"((?:[^"\\]|\\.){1,100})"|([^\s"<>,;:{}\[\]][^"<>,;:{}\[\]\n]{0,99}?))\s*<'
        + address_pattern(address).pattern
        + ">",
        text,
        re.IGNORECASE,
    )
    names = {(m.group(1) or m.group(2) or "").strip() for m in found}
    return {n for n in names if len(n) >= MIN_NAME_LENGTH}


def forget_in(text: str, address: str, names: Iterable[str], replacement: str) -> str:
    """``text`` with ``address`` and each of ``names`` replaced by ``replacement``.

    ``Name <address>`` becomes the pseudonym alone; a name written as JSON escapes
    it (``Jos\\u00e9``) is found too, as payloads are stored as JSON."""
    result = text
    for name in sorted(set(names), key=len, reverse=True):
        for form in dict.fromkeys([name, json.dumps(name)[1:-1]]):
            result = re.sub(
                rf"(?<!\w){re.escape(form)}(?!\w)", replacement, result, flags=re.IGNORECASE
            )
    result = address_pattern(address).sub(replacement, result)
    # "Jan <jan@x>" -> "verwijderd-1 <verwijderd-1>" -> "verwijderd-1"
    doubled = rf'"?{re.escape(replacement)}"?\s*<{re.escape(replacement)}>'
    return re.sub(doubled, replacement, result)
