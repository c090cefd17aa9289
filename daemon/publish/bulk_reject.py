"""Many items named at once: runs of numbers ("WB-20 t/m WB-80") and the ``!weiger`` that
rejects a burst of items awaiting acceptance in one message.

Pure. The room feed's digest of a burst ends with these commands, and ``!weiger``
reads them back (``daemon/chat/selection.py``), so the core group clears a flood of
mail from outside the partners with one message instead of one per item. A range
is written the Dutch way, ``t/m`` ("tot en met", inclusive); the English text uses
``to``; the parser reads both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from daemon.publish.receipts import item_number

__all__ = ["MAX_ITEMS_PER_COMMAND", "Run", "reject_commands", "runs", "runs_text", "through"]

# One command rejects at most this many items: a burst the feed holds back for 20 s is
# far smaller, and one store transaction of this many rejections stays short.
MAX_ITEMS_PER_COMMAND = 500

Run = tuple[int, int]  # first and last number, inclusive
_THROUGH = {"nl": "t/m", "en": "to"}
_WORD = {"nl": "weiger", "en": "reject"}


def through(language: str) -> str:
    """How a range is joined in ``language``: ``t/m`` in Dutch, ``to`` in English."""
    return _THROUGH.get(language, "t/m")


def runs(numbers: Iterable[int]) -> list[Run]:
    """The numbers, sorted and without repeats, as runs of consecutive numbers."""
    found: list[Run] = []
    for number in sorted(set(numbers)):
        if found and found[-1][1] + 1 == number:
            found[-1] = (found[-1][0], number)
        else:
            found.append((number, number))
    return found


def runs_text(found: Sequence[Run], *, joiner: str = "t/m", limit: int | None = None) -> str:
    """``WB-12, WB-20 t/m WB-80``; after ``limit`` runs, ``…`` and how many numbers more."""
    shown = found if limit is None else found[:limit]
    parts = [part for run in shown for part in _run_parts(run, joiner)]
    rest = sum(last - first + 1 for first, last in found[len(shown) :])
    if rest:
        parts.append(f"… (+{rest})")
    return ", ".join(parts)


def _run_parts(run: Run, joiner: str) -> list[str]:
    first, last = run
    if last - first < 2:  # one or two numbers read better on their own than as a range
        return [item_number(n) for n in range(first, last + 1)]
    return [f"{item_number(first)} {joiner} {item_number(last)}"]


def reject_commands(numbers: Iterable[int], language: str = "nl") -> list[str]:
    """The ``!weiger`` (``!reject``) commands that reject exactly ``numbers``, each naming at
    most ``MAX_ITEMS_PER_COMMAND`` items (one command for any burst up to that size)."""
    joined = through(language)
    commands: list[list[str]] = []
    count = MAX_ITEMS_PER_COMMAND  # so the first run opens a command
    for first, last in runs(numbers):
        while first <= last:
            if count == MAX_ITEMS_PER_COMMAND:
                commands.append([])
                count = 0
            end = min(last, first + MAX_ITEMS_PER_COMMAND - count - 1)
            commands[-1].extend(_run_parts((first, end), joined))
            count += end - first + 1
            first = end + 1
    word = _WORD.get(language, "weiger")
    return [f"!{word} {' '.join(parts)}" for parts in commands]
