"""The connection every query mixin shares."""

from __future__ import annotations

import aiosqlite


class QueriesBase:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
