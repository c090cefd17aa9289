"""``wijkbode agenda``: which meeting is meant, and the agenda as a person reads it.

A meeting is named as in chat's ``!agenda``: by its id, by a series (its next
meeting), or by a date (``2027-03-02``, ``dinsdag``). Items are named ``WB-n``,
as receipts and chat name them, and a cancelled meeting says so at the top.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from daemon.chat.dates import parse_day
from daemon.cli.common import translators
from daemon.config import Config
from daemon.errors import ConfigError
from daemon.i18n import Translator, mark
from daemon.model import Item, ItemStatus, Kind, Meeting, MeetingId, SeriesId
from daemon.publish.receipts import item_number
from daemon.rules.assignment import next_meeting
from daemon.rules.names import Names
from daemon.safe_text import WORD_JOINER, untrusted
from daemon.store import Tx

TITLE_CHARS = 200
NAME_CHARS = 120

_STATUS_FLAGS = {
    ItemStatus.AWAITING_ACCEPTANCE: mark("awaiting acceptance"),
    ItemStatus.TER_BESPREKING: mark("for discussion, no decision"),
    ItemStatus.UNPLANNED: mark("not planned yet"),
    ItemStatus.REJECTED: mark("rejected"),
    ItemStatus.WITHDRAWN: mark("withdrawn"),
}


async def find_meeting(tx: Tx, config: Config, ref: str | None, now: datetime) -> Meeting:
    """The meeting ``ref`` names (default: the next one); a clear error when there is none."""
    if ref is None:
        return _or_none_planned(next_meeting(await tx.meetings(config.default_series), now))
    text = " ".join(ref.split())
    by_id = await tx.meeting(MeetingId(text))
    if by_id is not None:
        return by_id
    if text.lower() in config.series:
        return _or_none_planned(next_meeting(await tx.meetings(SeriesId(text.lower())), now))
    day = parse_day(text, now.astimezone(config.timezone))
    if day is None:
        raise ConfigError(
            f"onbekende vergadering {text!r}; geef een id, een reeks of een datum, zie "
            f"`wijkbode meetings` (unknown meeting; give an id, a series or a date, see "
            f"`wijkbode meetings`)"
        )
    on_day = [m for m in await tx.meetings() if m.start.astimezone(config.timezone).date() == day]
    if not on_day:
        raise ConfigError(
            f"geen vergadering op {day.isoformat()}; zie `wijkbode meetings` "
            f"(no meeting on that date; see `wijkbode meetings`)"
        )
    # Two series meeting on one day: the configured series goes first, as in chat.
    return next((m for m in on_day if m.series == config.default_series), on_day[0])


def _or_none_planned(meeting: Meeting | None) -> Meeting:
    if meeting is None:
        raise ConfigError(
            "er is nog geen volgende vergadering gepland (no next meeting planned yet)"
        )
    return meeting


def agenda_text(
    meeting: Meeting, items: Sequence[Item], config: Config, names: Names | None = None
) -> str:
    """A heading per language, then one row per item, each phrase "Dutch / English"."""
    languages = translators(config)
    lines = [
        _("Agenda of {title}, {when} ({id})", title=meeting.title, when=_.when(meeting.start),
          id=meeting.id)
        for _ in languages
    ]  # fmt: skip
    if meeting.cancelled:
        lines.extend(
            _("Cancelled: {title} on {when} does not take place.", title=meeting.title,
              when=_.when(meeting.start))
            for _ in languages
        )  # fmt: skip
    rows = [_row(item, languages, names or Names()) for item in items]
    lines.extend(rows or [_both(languages, "No items yet.")])
    return "\n".join(lines)


def _row(item: Item, languages: Sequence[Translator], names: Names) -> str:
    row = (
        f"{item_number(item.id)} [{item.kind.value}] {_terminal(item.title, TITLE_CHARS)}"
        f" — {_terminal(names.of(item.submitter), NAME_CHARS)}"
    )
    flags = [_both(languages, flag) for flag in _flags(item)]
    return row + (f" ({'; '.join(flags)})" if flags else "")


def _terminal(text: str, limit: int) -> str:
    """Sender text without control or direction characters (no escape sequences reach the
    terminal); addresses stay copyable, as a terminal pings nobody."""
    return untrusted(text, limit).replace(WORD_JOINER, "")


def _flags(item: Item) -> list[str]:
    flags = [_STATUS_FLAGS[item.status]] if item.status in _STATUS_FLAGS else []
    if item.late:
        flags.append(mark("late"))
    if not item.decision_ready and item.kind is not Kind.TER_KENNISGEVING:
        flags.append(mark("not ready for decision"))
    return flags


def _both(languages: Sequence[Translator], msgid: str) -> str:
    return " / ".join(_(msgid) for _ in languages)
