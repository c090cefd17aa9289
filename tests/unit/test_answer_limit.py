"""The per-member answer limit outside the core room (security finding 5), on a held clock."""

from __future__ import annotations

import pytest

from daemon.chat.answer_limit import (
    ANSWERS_PER_WINDOW,
    WINDOW_SECONDS,
    Answer,
    AnswerLimit,
)


class Clock:
    """Seconds that only move when the test moves them."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ask(limit: AnswerLimit, member: str) -> Answer:
    """One request, handled and committed as the intake does: decide, then record."""
    answer = limit.decide(member)
    limit.record(member, answer)
    return answer


def test_the_limit_is_answered_then_one_notice_then_silence() -> None:
    limit = AnswerLimit(clock=Clock())
    got = [ask(limit, "@flood:example.org") for _ in range(ANSWERS_PER_WINDOW + 5)]
    assert got == [Answer.GIVE] * ANSWERS_PER_WINDOW + [Answer.NOTICE] + [Answer.NONE] * 4


def test_another_member_is_still_answered() -> None:
    limit = AnswerLimit(3, clock=Clock())
    for _ in range(5):
        ask(limit, "@flood:example.org")
    assert ask(limit, "@buurvrouw:example.org") is Answer.GIVE


def test_the_window_slides_without_a_notice() -> None:
    clock = Clock()
    limit = AnswerLimit(3, 60.0, clock)
    assert [ask(limit, "@a:x") for _ in range(2)] == [Answer.GIVE] * 2
    clock.now += 30
    assert ask(limit, "@a:x") is Answer.GIVE  # three within the last minute: the limit
    clock.now += 31  # the first two are more than a minute old
    assert [ask(limit, "@a:x") for _ in range(2)] == [Answer.GIVE] * 2
    assert ask(limit, "@a:x") is Answer.NOTICE


def test_after_the_notice_a_whole_window_is_silent_then_answers_start_afresh() -> None:
    clock = Clock()
    limit = AnswerLimit(2, 60.0, clock)
    assert [ask(limit, "@a:x") for _ in range(3)] == [Answer.GIVE, Answer.GIVE, Answer.NOTICE]
    clock.now += 59
    assert ask(limit, "@a:x") is Answer.NONE  # silence does not extend the pause
    clock.now += 1
    assert [ask(limit, "@a:x") for _ in range(3)] == [Answer.GIVE, Answer.GIVE, Answer.NOTICE]


def test_deciding_alone_counts_nothing() -> None:
    """An event whose transaction failed comes again: only what was recorded counts."""
    limit = AnswerLimit(1, clock=Clock())
    assert [limit.decide("@a:x") for _ in range(5)] == [Answer.GIVE] * 5
    limit.record("@a:x", Answer.GIVE)
    assert limit.decide("@a:x") is Answer.NOTICE


def test_a_steady_flood_gets_at_most_the_limit_and_one_notice_in_any_window() -> None:
    clock = Clock()
    limit = AnswerLimit(clock=clock)
    said: list[float] = []
    for _ in range(3000):  # one request every 0.7 s for 35 minutes
        if ask(limit, "@flood:x") is not Answer.NONE:
            said.append(clock.now)
        clock.now += 0.7
    assert len(said) > ANSWERS_PER_WINDOW * 10  # answered again after each pause
    for start in said:
        in_window = [at for at in said if start <= at < start + WINDOW_SECONDS]
        assert len(in_window) <= ANSWERS_PER_WINDOW + 1


def test_members_are_forgotten_once_their_window_has_passed() -> None:
    clock = Clock()
    limit = AnswerLimit(2, 60.0, clock)
    for n in range(500):
        ask(limit, f"@m{n}:x")
    ask(limit, "@paused:x")
    ask(limit, "@paused:x")
    ask(limit, "@paused:x")
    assert limit.members == 501
    clock.now += 61
    ask(limit, "@late:x")
    assert limit.members == 1


@pytest.mark.parametrize(("answers", "window"), [(0, 60.0), (5, 0.0)])
def test_a_limit_that_could_never_answer_is_refused(answers: int, window: float) -> None:
    with pytest.raises(ValueError, match="answer limit"):
        AnswerLimit(answers, window)
