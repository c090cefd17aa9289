"""Several items named in one command: ``WB-12 WB-15, WB-20 t/m WB-80 <reden>``.

Pure. A selection is a list of item numbers and ranges at the start of a
command's arguments, separated by spaces, commas or semicolons; the rest is
free text (a reason). A range is written as a Dutch member would type it,
``WB-20 t/m WB-80`` (also ``tm``, ``tot en met``), or ``WB-20..WB-80``,
``WB-20-WB-80``, ``20-80``, ``WB-20 to WB-80`` (``through``); both ends count.
The numbers are never expanded here: ``WB-1 t/m WB-999999999`` costs nothing
before it is refused as too many.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from daemon.i18n import mark
from daemon.model import ItemId
from daemon.publish.bulk_reject import MAX_ITEMS_PER_COMMAND, Run

_PREFIX = r"(?:\#|wb-?)?"
_THROUGH = r"\.\.|-|–|—|t/m|tm|tot\s+en\s+met|to|through|thru"
_SELECTOR = re.compile(
    rf"{_PREFIX}(?P<first>\d{{1,9}})(?:\s*(?:{_THROUGH})\s*{_PREFIX}(?P<last>\d{{1,9}}))?"
    r"(?=[\s,;]|\Z)",
    re.I,
)
_BETWEEN = re.compile(r"[\s,;]*")
# What is left after the numbers must not be a range cut short ("WB-20 t/m", "WB-20 t/m
# spam", "tot WB-80"): read as a reason, it would reject only the first item. A reason
# may start with "to" or "-", not with one of them followed by a number. "tot" before a
# number is refused too: in Dutch it may or may not include the last one.
_BROKEN_RANGE = re.compile(
    rf"^(?:\.\.|(?:t/m|tm|tot\s+en\s+met)(?=\s|\Z)|(?:{_THROUGH}|tot)\s*(?:{_PREFIX}\d|\Z))",
    re.I,
)

RANGE_BACKWARDS = mark("A range runs from the lower number to the higher: WB-20 t/m WB-80.")
RANGE_UNCLEAR = mark(
    "Write a range with t/m (both ends included), like WB-20 t/m WB-80, or list the numbers."
)
# The number is MAX_ITEMS_PER_COMMAND (tests/unit/test_chat_selection.py checks it).
TOO_MANY = mark(
    "One command names at most 500 items; split it into several, like WB-1 t/m WB-500 and "
    "WB-501 t/m WB-1000."
)


@dataclass(frozen=True, slots=True)
class Selection:
    """The items named, as they were written (``ranges`` inclusive), and the rest of the text."""

    ranges: tuple[tuple[ItemId, ItemId], ...]
    rest: str
    single: bool  # exactly one number, no range: the one-item form of a command

    @property
    def runs(self) -> list[Run]:
        """The ranges sorted and merged where they touch or overlap."""
        merged: list[Run] = []
        for first, last in sorted(self.ranges):
            if merged and first <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], last))
            else:
                merged.append((first, last))
        return merged

    def count(self) -> int:
        """How many different items are named."""
        return sum(last - first + 1 for first, last in self.runs)

    def ids(self) -> list[ItemId]:
        """Every item named, in order, each once (only call within the limit)."""
        return [ItemId(n) for first, last in self.runs for n in range(first, last + 1)]


def parse_selection(args: str) -> Selection | str | None:
    """The items named at the start of ``args``; a problem (a msgid) when the numbers
    cannot be read as meant; ``None`` when ``args`` does not start with an item."""
    ranges: list[tuple[ItemId, ItemId]] = []
    position = 0
    singles = 0
    while True:
        gap = _BETWEEN.match(args, position)
        found = _SELECTOR.match(args, gap.end() if gap else position)
        if found is None:
            break
        first = ItemId(int(found["first"]))
        last = first if found["last"] is None else ItemId(int(found["last"]))
        if last < first:
            return RANGE_BACKWARDS
        singles += found["last"] is None
        ranges.append((first, last))
        position = found.end()
    if not ranges:
        return None
    rest = args[position:].strip(" \t\r\n,;")
    if _BROKEN_RANGE.match(rest):
        return RANGE_UNCLEAR
    selection = Selection(tuple(ranges), rest, single=len(ranges) == 1 and singles == 1)
    return TOO_MANY if selection.count() > MAX_ITEMS_PER_COMMAND else selection
