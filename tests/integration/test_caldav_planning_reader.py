"""The planning calendar's reader against a real Radicale: it asks only what changed.

RFC 6578 sync-collection with the kept token, an expired token read once in
full (ETags only), and the ctag/ETag way for servers without sync-collection:
an unchanged calendar gives an empty delta, a changed one only the events
whose ETag changed, a removed event its href.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from test_caldav_planning import PLANNING, SharedCalendar

from connectors.calendar.planning import CaldavPlanningCalendar
from daemon.config.schema import CaldavConfig
from daemon.config.secret import Secret
from daemon.errors import PermanentError
from daemon.ports.planning import CalendarDelta, SyncState
from harness.radicale import CaldavAccount

TZ = ZoneInfo("Europe/Amsterdam")


def kept(before: SyncState, delta: CalendarDelta) -> SyncState:
    """The state the engine keeps after ``delta``: its token and ctag, and every ETag."""
    etags = dict(before.etags)
    for href in delta.removed:
        etags.pop(href, None)
    etags.update({event.href: event.etag for event in delta.changed})
    return SyncState(delta.state.token, delta.state.ctag, etags)


@pytest.mark.parametrize("use_sync_token", [True, False], ids=["sync-token", "ctag-etag"])
async def test_each_read_brings_only_what_changed(
    caldav_user: CaldavAccount, tmp_path_factory: pytest.TempPathFactory, use_sync_token: bool
) -> None:
    secret = tmp_path_factory.mktemp("secret") / "caldav"
    secret.write_text(caldav_user.password + "\n", encoding="utf-8")
    shared = SharedCalendar(caldav_user.url, caldav_user.name, caldav_user.password)
    await shared.put("a", "2027-04-15T19:00")
    await shared.put("b", "2027-05-20T19:00", summary="Kerngroep", categories="")
    config = CaldavConfig(
        url=caldav_user.url,
        calendar="Wijkagenda",
        username=caldav_user.name,
        password=Secret("test", file=secret),
        planning_calendar=PLANNING,
    )
    reader = CaldavPlanningCalendar(config, TZ, use_sync_token=use_sync_token)
    try:
        first = await reader.changes(SyncState())
        assert first.full
        assert sorted(e.uid for e in first.changed) == ["a", "b"]
        a = next(e for e in first.changed if e.uid == "a")
        assert (a.summary, a.categories, a.cancelled) == (
            "Bewonersbijeenkomst",
            ("Bewoners",),
            False,
        )
        assert a.start is not None
        assert a.start.astimezone(TZ).hour == 19
        state = kept(SyncState(), first)
        assert (state.token is not None) == use_sync_token

        unchanged = await reader.changes(state)
        assert unchanged.empty

        await shared.put("a", "2027-04-22T19:30", cancelled=True)
        await shared.delete("b")
        await shared.put("c", "2027-06-03T19:00")
        changed = await reader.changes(state)
        assert sorted(e.uid for e in changed.changed) == ["a", "c"]  # b's body is not read
        [b_href] = [href for href, _ in state.etags.items() if href.endswith("/b.ics")]
        assert changed.removed == (b_href,)
        moved = next(e for e in changed.changed if e.uid == "a")
        assert moved.cancelled
        state = kept(state, changed)
        assert (await reader.changes(state)).empty

        if use_sync_token:  # a token the server does not know: one full read of the ETags
            expired = SyncState("http://radicale.org/ns/sync/0000", state.ctag, state.etags)
            again = await reader.changes(expired)
            assert again.full
            assert again.changed == ()  # every ETag known: no body read again
            assert again.removed == ()
    finally:
        await reader.close()


async def test_a_planning_calendar_that_does_not_exist_is_an_error_not_a_new_calendar(
    caldav_user: CaldavAccount, tmp_path_factory: pytest.TempPathFactory
) -> None:
    secret = tmp_path_factory.mktemp("secret") / "caldav"
    secret.write_text(caldav_user.password + "\n", encoding="utf-8")
    config = CaldavConfig(
        url=caldav_user.url,
        calendar="Wijkagenda",
        username=caldav_user.name,
        password=Secret("test", file=secret),
        planning_calendar="Jaarplaning",  # misspelt
    )
    reader = CaldavPlanningCalendar(config, TZ)
    try:
        with pytest.raises(PermanentError, match="Jaarplaning"):
            await reader.changes(SyncState())
        with pytest.raises(PermanentError):
            await reader.changes(SyncState())  # still none: it was not made
    finally:
        await reader.close()
