"""How many answers one member gets outside the core room (security finding 5). Pure.

An announcement room is open to anyone, and ``!help`` and refusals are answered in
any room the bot is in: without a limit, one member sending ``!agenda`` over and
over would have the bot post an answer each time. Each member gets at most
``ANSWERS_PER_WINDOW`` answers in any ``WINDOW_SECONDS`` (a sliding window); the
next request gets one short notice, and then nothing is answered to them until a
whole window has passed since that notice. So a member is answered at most
``ANSWERS_PER_WINDOW`` + 1 times per window, however much they send.

The core room is never limited (the caller decides): its members are the core
group, who file in bursts and may already cause any effect. The time comes from an
injected monotonic clock (seconds), so a test can hold it still and a demo clock
that jumps does not lift or extend a pause.

Asking is two steps, ``decide`` then ``record``, so that an event whose transaction
fails and comes again is not counted twice: the caller records only what committed.
"""

from __future__ import annotations

import enum
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

# Ten answers a minute is more than a person reading the agenda needs, and bounds
# what one member can make the bot say in a public room to eleven posts a minute.
ANSWERS_PER_WINDOW = 10
WINDOW_SECONDS = 60.0


class Answer(enum.Enum):
    """What the bot does with a member's next request that it would answer."""

    GIVE = "give"  # answer as usual
    NOTICE = "notice"  # the one notice that answers pause for a while
    NONE = "none"  # handled in silence


@dataclass(slots=True)
class _Member:
    answered: deque[float] = field(default_factory=deque)  # when, oldest first
    quiet_until: float | None = None  # after the notice: silent until then


class AnswerLimit:
    """Answers per member in a sliding window; one notice, then silence for a window."""

    def __init__(
        self,
        limit: int = ANSWERS_PER_WINDOW,
        window_seconds: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window_seconds <= 0:
            raise ValueError("an answer limit needs at least one answer in a positive window")
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._members: dict[str, _Member] = {}

    def decide(self, member: str) -> Answer:
        """What to do with ``member``'s request now; changes nothing (see ``record``)."""
        state = self._members.get(member)
        if state is None:
            return Answer.GIVE
        now = self._clock()
        if state.quiet_until is not None and now < state.quiet_until:
            return Answer.NONE
        recent = sum(1 for at in state.answered if at > now - self.window_seconds)
        return Answer.GIVE if recent < self.limit else Answer.NOTICE

    def record(self, member: str, answer: Answer) -> None:
        """Count what was done with ``member``'s request, once it is committed."""
        now = self._clock()
        self._forget(now)
        if answer is Answer.NONE:
            return
        state = self._members.setdefault(member, _Member())
        if answer is Answer.NOTICE:
            state.answered.clear()
            state.quiet_until = now + self.window_seconds
            return
        state.answered.append(now)
        while len(state.answered) > self.limit:
            state.answered.popleft()

    @property
    def members(self) -> int:
        """How many members are remembered (those answered or paused within a window)."""
        return len(self._members)

    def _forget(self, now: float) -> None:
        """Drop what no longer matters, so memory follows the members of the last window."""
        since = now - self.window_seconds
        for member, state in list(self._members.items()):
            while state.answered and state.answered[0] <= since:
                state.answered.popleft()
            if state.quiet_until is not None and state.quiet_until <= now:
                state.quiet_until = None
            if not state.answered and state.quiet_until is None:
                del self._members[member]
