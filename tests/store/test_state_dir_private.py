"""The state directory holds every item, address and document: only its owner may enter it.

Under systemd the unit's StateDirectoryMode=0700 and UMask=0077 see to that; a daemon
started by hand (umask 022) made it 0755 with a 0644 database, readable by every local
user (docs/security.md, "someone logged in as another user").
"""

from __future__ import annotations

import stat
from pathlib import Path

from daemon.store import DATABASE_NAME, Store


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_new_state_dir_is_the_owners_alone(tmp_path: Path) -> None:
    state = tmp_path / "nieuw" / "state"
    store = await Store.open(state)
    await store.close()
    assert mode(state) == 0o700
    assert (state / DATABASE_NAME).exists()


async def test_an_open_state_dir_holding_our_database_is_closed_to_others(tmp_path: Path) -> None:
    state = tmp_path / "state"
    store = await Store.open(state)
    await store.close()
    state.chmod(0o755)  # as an earlier version, or a hand-made directory, left it
    store = await Store.open(state)
    await store.close()
    assert mode(state) == 0o700
