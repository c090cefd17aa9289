"""A bewonersbijeenkomst reaches the feed exactly at T-28d: absent 1 s before, present at it.

The real daemon on a replayed clock that runs at 1/1000 of real time, so one
simulated second lasts long past the test's checks. An earlier meeting already
in the feed shows that the scheduler has run and the feed is served, so the
absence is the rule at work, not a daemon still starting.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from pathlib import Path

from daemon_runner import DaemonRunner, local
from feed_helpers import feed_config, feed_events, free_port

SERIES = """[series.bewonersbijeenkomst]
title = "Bewonersbijeenkomst"
public = true
location = "Buurthuis De Meeuw"

[series.bewonersbijeenkomst.plan]
dates = [2027-06-10T19:00:00, 2027-06-24T19:30:00]
"""
EARLIER = "bewonersbijeenkomst-2027-06-10@wijkbode.invalid"
LATER = "bewonersbijeenkomst-2027-06-24@wijkbode.invalid"
# T-28d of the later meeting: the same local wall-clock time 28 days before.
PUBLICATION = local("2027-05-27T19:30:00")


async def test_absent_one_second_before_t_minus_28d_and_present_at_it(tmp_path: Path) -> None:
    port = free_port()
    config = feed_config(SERIES, port, default_series="bewonersbijeenkomst")
    runner = DaemonRunner(tmp_path, config, start=PUBLICATION - timedelta(seconds=1), speed=0.001)
    try:
        runner.start()
        await runner.wait_running()

        async def earlier_published() -> bool:
            return EARLIER in await feed_events(runner, port)

        await runner.wait_until(earlier_published, "the earlier meeting in the feed")
        assert runner.sim_now() < PUBLICATION
        assert LATER not in await feed_events(runner, port)
        await runner.stop()

        runner.jump_to(PUBLICATION)
        runner.start()
        await runner.wait_running()

        async def later_published() -> bool:
            return LATER in await feed_events(runner, port)

        await runner.wait_until(later_published, "the meeting in the feed at T-28d")
        event = (await feed_events(runner, port))[LATER]
        # Published at T-28d to the second (DTSTAMP is when the feed's row was written).
        assert event["DTSTAMP"].dt == PUBLICATION.astimezone(UTC)
        assert event["SEQUENCE"] == 0
        await runner.stop()
    finally:
        runner.ensure_stopped()
