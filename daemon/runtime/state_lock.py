"""One daemon per state directory: an exclusive ``flock`` held for the daemon's lifetime.

Two daemons on one state directory would both fetch the same mail and fire the
same jobs; the store's keys keep effects from doubling, but two dispatchers
racing for one row and two IMAP sessions moving one mail is nothing to run on.
The lock lives on an open file descriptor, so the kernel releases it when the
process ends in any way (even ``kill -9``): no stale lock to clean up. The file
holds the pid of the holder, only to name it in the refusal.

CLI commands (``file``, ``outbox retry``) do not take this lock: they write in
short SQLite transactions (WAL, ``BEGIN IMMEDIATE``, a busy timeout), which is
safe beside a running daemon.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from daemon.errors import StoreError

LOCK_NAME = "wijkbode.lock"


@contextmanager
def hold_state_lock(state_dir: Path) -> Iterator[None]:
    """Hold the state directory's lock until the block ends; refuse if a daemon holds it."""
    path = state_dir / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        raise StoreError(
            f"slot {path} kan niet geopend worden: {error.strerror or error} "
            f"(cannot open the lock file {path})"
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            raise StoreError(
                f"er draait al een Wijkbode op {state_dir} (pid {holder}); "
                f"stop die eerst (another Wijkbode is already running on {state_dir}, "
                f"pid {holder}; stop it first)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        # Closing the descriptor releases the lock; the file stays (removing it
        # would let a third daemon lock a new file while a second waits on the old).
        os.close(fd)


def _read_pid(fd: int) -> str:
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return text if text.isdigit() else "?"
