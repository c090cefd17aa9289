"""The core room is told when the planning calendar and the configuration disagree.

A conflict is never settled silently: the configuration holds until a person
changes the one or the other, and the core group's room hears of it once per
distinct conflict (the outbox key is the conflict's own key, so a second sync
or a restart that finds the same conflict adds nothing).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from daemon.i18n import Translator, bilingual
from daemon.ports.outbox import ChannelName, ChatPost, NewEffect
from daemon.ports.planning import PlanState
from daemon.rules.planning import Conflict
from daemon.safe_text import untrusted, untrusted_html
from daemon.store import Tx

__all__ = ["conflict_key", "conflict_lines", "conflict_post", "enqueue_conflicts"]


def conflict_key(conflict: Conflict) -> str:
    """The outbox key of the report of ``conflict``."""
    return f"plan/conflict/{conflict.key}"


def _state(state: PlanState | None, _: Translator) -> str:
    if state is None:
        return _("another meeting of the series that day")
    when = _.when(state.start)
    return _("cancelled ({when})", when=when) if state.cancelled else when


def conflict_lines(conflict: Conflict, _: Translator) -> list[str]:
    """The conflict in a few lines of ``_``'s language."""
    return [
        _(
            "The planning calendar and the configuration disagree about meeting {meeting}.",
            meeting=conflict.meeting,
        ),
        _("Configuration: {state}", state=_state(conflict.configured, _)),
        _("Calendar: {state}", state=_state(conflict.proposed, _)),
        _(
            "The configuration holds until one of them is changed to match the other"
            " (calendar event {uid}).",
            uid=untrusted(conflict.external_id, 200),
        ),
    ]


def conflict_post(conflict: Conflict, tz: ZoneInfo) -> ChatPost:
    """The core room's message about ``conflict``, Dutch first, then English."""
    body = bilingual(lambda _: "\n".join(conflict_lines(conflict, _)), tz)

    def render_html(_: Translator) -> str:
        lines = conflict_lines(conflict, _)
        return "".join(f"<p>{untrusted_html(line, 1000)}</p>" for line in lines)

    html = render_html(Translator("nl", tz)) + "<hr>" + render_html(Translator("en", tz))
    return ChatPost(body=body, html=html)


async def enqueue_conflicts(
    tx: Tx, conflicts: list[Conflict], core_room: str | None, tz: ZoneInfo, now: datetime
) -> int:
    """Queue a report of each conflict for the core room; return how many were new."""
    if core_room is None:
        return 0
    added = 0
    for conflict in conflicts:
        effect = NewEffect(
            ChannelName.MATRIX, core_room, conflict_key(conflict), conflict_post(conflict, tz)
        )
        added += await tx.enqueue(effect, now=now)
    return added
