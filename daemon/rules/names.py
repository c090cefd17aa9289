"""Members by the name people know them by, never by an id that is a phone number.

Pure. A member of the core room is a Matrix user id; behind a WhatsApp bridge
(mautrix-whatsapp) that id is ``@whatsapp_31612345678:server``, a phone
number. Everything Wijkbode writes (answers, posts, listings, reminders, mail)
names a member through :class:`Names`: the room display name ("Bob (WA)"),
numbered when two members share one, so nobody needs the id to tell them
apart. A user id whose name is not known yet is shown without its digits.

A typed ``@Bob`` (not a pill picked from the suggestions) is matched against
the same display names by :meth:`Names.match`, with or without the bridge's
" (WA)" suffix; two members fitting equally well is for the caller to ask
about, never to guess. So is a name that fits nobody, in any room: someone
outside the room is named by a mail address instead.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

# What mautrix-whatsapp appends to a puppet's name by default ("{{.PushName}} (WA)").
BRIDGE_SUFFIXES = (" (WA)", " (WhatsApp)")
_MXID = re.compile(r"@(?P<local>[^:\s]+):[^\s]+")
# Six digits in a row in an id are taken for a phone number (or part of one); in a
# display name also when spaced or dashed ("+31 6 1234 5678", "06-12345678").
_DIGITS = re.compile(r"\d{6,}")
_PHONEISH = re.compile(r"\+?\d(?:[\s\-.()/]*\d){5,}")
_NAME_CHARS = 80


def has_phone_number(text: str) -> bool:
    """Whether ``text`` holds a run of digits long enough to be (part of) a phone number,
    spaces, dashes, dots and brackets between them or not."""
    return _PHONEISH.search(text) is not None


def base_name(name: str) -> str:
    """A display name without the bridge's " (WA)" suffix."""
    for suffix in BRIDGE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)].strip()
    return name.strip()


def _clean(name: str) -> str:
    return " ".join(name.split())[:_NAME_CHARS]


def anonymous(user_id: str) -> str:
    """A member whose display name is unknown: the id's local part with any phone
    number replaced by a short, stable tag (it tells two such members apart, and the
    number cannot be read back from it)."""
    match = _MXID.fullmatch(user_id)
    if match is None:
        return user_id
    local = match["local"]
    if not has_phone_number(local):
        return user_id
    tag = hashlib.sha256(user_id.encode()).hexdigest()[:4]
    kept = _DIGITS.sub("", local).strip("_-.=") or "lid"
    return f"{kept}-{tag}"


@dataclass(frozen=True, slots=True)
class Match:
    """A typed name matched one member; ``length`` is how much of the text it took."""

    user_id: str
    length: int


@dataclass(frozen=True, slots=True)
class Ambiguous:
    """A typed name fits several members equally well; ``names`` are how they are shown."""

    typed: str
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Unknown:
    """A typed ``@name`` that is no member's display name."""

    typed: str


class Names:
    """The core room's members by user id; ``of`` is what every message shows."""

    def __init__(self, display_names: Mapping[str, str] | None = None) -> None:
        raw = {uid: _clean(name) for uid, name in (display_names or {}).items()}
        self._raw = {uid: name for uid, name in raw.items() if name}
        self._shown = _disambiguated(self._raw)

    def __bool__(self) -> bool:
        return bool(self._raw)

    def of(self, who: str) -> str:
        """How ``who`` (a user id, an address, or a name typed earlier) is shown."""
        shown = self._shown.get(who)
        if shown is not None:
            return shown
        return anonymous(who)

    def match(self, text: str) -> Match | Ambiguous | Unknown | None:
        """The member whose display name (or base name, without " (WA)") ``text`` starts
        with, the longest name winning; ``None`` when ``text`` starts with no name
        at all (not even one word)."""
        folded = text.casefold()
        best: dict[str, int] = {}
        for uid, name in self._raw.items():
            for candidate in {name, base_name(name)}:
                size = len(candidate)
                if size and folded.startswith(candidate.casefold()) and _ends_word(text, size):
                    best[uid] = max(best.get(uid, 0), size)
        if not best:
            word = re.match(r"[^\W\d_][\w.\-]*", text)
            return Unknown(word[0].rstrip(".-")) if word else None
        longest = max(best.values())
        winners = sorted(uid for uid, size in best.items() if size == longest)
        if len(winners) == 1:
            return Match(winners[0], longest)
        return Ambiguous(text[:longest], tuple(self._shown[uid] for uid in winners))


def _ends_word(text: str, at: int) -> bool:
    """A name ends where a word ends: "@Bobby" is not "@Bob"."""
    return at >= len(text) or not (text[at].isalnum() or text[at] == "_")


def _disambiguated(raw: Mapping[str, str]) -> dict[str, str]:
    """Display names, numbered "(2)", "(3)" in user id order where several are equal
    (case and spaces ignored); the first keeps its name. Never the id: it may be a
    phone number."""
    groups: dict[str, list[str]] = {}
    for uid in sorted(raw):
        groups.setdefault(raw[uid].casefold(), []).append(uid)
    shown: dict[str, str] = {}
    for uids in groups.values():
        for number, uid in enumerate(uids, start=1):
            name = raw[uid]
            if has_phone_number(name):
                # A puppet without a push name is named by its number: hide it.
                name = anonymous(uid) if has_phone_number(uid) else _PHONEISH.sub("…", name)
            shown[uid] = name if number == 1 else f"{name} ({number})"
    return shown
