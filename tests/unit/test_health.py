"""The last-success registry behind /healthz and the counters behind /metrics (daemon/health.py)."""

from __future__ import annotations

from daemon.health import Health


class Ticks:
    def __init__(self) -> None:
        self.at = 1000.0

    def __call__(self) -> float:
        return self.at


def test_a_steady_part_is_healthy_while_it_succeeds_within_its_window() -> None:
    clock = Ticks()
    health = Health(now=clock)
    health.watch("matrix", within=60)
    clock.at += 59
    assert health.report().failing == ()  # a fresh start has the window to connect
    clock.at += 2
    assert health.report().failing == ("matrix",)
    health.succeeded("matrix")
    clock.at += 30
    (part,) = health.report().parts
    assert part.ok
    assert part.seconds_since_success == 30


def test_a_steady_part_fails_when_its_successes_stop() -> None:
    clock = Ticks()
    health = Health(now=clock)
    health.watch("imap", within=600)
    health.succeeded("imap")
    health.failed("imap")
    assert health.report().failing == ()  # one failure within the window is a reconnect
    clock.at += 601
    assert health.report().failing == ("imap",)


def test_an_on_demand_part_fails_only_while_its_last_attempt_failed() -> None:
    clock = Ticks()
    health = Health(now=clock)
    health.watch("mail", within=None)
    clock.at += 10_000
    assert health.report().failing == ()  # nothing to send is not a failure
    health.failed("mail")
    assert health.report().failing == ("mail",)
    clock.at += 1
    health.succeeded("mail")
    assert health.report().failing == ()


def test_counters_add_up_per_label() -> None:
    health = Health()
    health.reconnected("imap")
    health.reconnected("imap")
    health.count("feed_requests", path="/agenda.ics")
    health.count("feed_requests", 2, path="/agenda/x.ics")
    assert health.counters() == {
        ("connector_reconnects", (("connector", "imap"),)): 2,
        ("feed_requests", (("path", "/agenda.ics"),)): 1,
        ("feed_requests", (("path", "/agenda/x.ics"),)): 2,
    }
