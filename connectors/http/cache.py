"""A value rendered once per change: ``invalidate()`` marks it stale, the next ``get()`` renders.

Requests never render: they take the current value without awaiting when it
is fresh. After an invalidation the first request starts one render and every
request meanwhile waits for that same render (one render per change, however
many clients ask at once). A render that fails keeps the last good value (the
failure is logged), so a busy store is a stale answer, not an error page; with
no value yet the failure reaches the caller.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger("wijkbode.http")


class RenderCache(Generic[T]):
    def __init__(self, render: Callable[[], Awaitable[T]], what: str) -> None:
        self._render = render
        self._what = what
        self._generation = 0
        self._value: T | None = None
        self._value_generation = -1
        self._rendering: asyncio.Task[T] | None = None
        self.renders = 0

    def invalidate(self) -> None:
        """The data changed: the next ``get()`` renders again."""
        self._generation += 1

    @property
    def fresh(self) -> T | None:
        """The value when it is current, else ``None`` (no await: the fast path)."""
        return self._value if self._value_generation == self._generation else None

    async def get(self) -> T:
        value = self.fresh
        if value is not None:
            return value
        if self._rendering is None:
            self._rendering = asyncio.create_task(
                self._render_once(self._generation), name=f"render {self._what}"
            )
        # Shielded: a client that hangs up must not cancel the render the others wait for.
        return await asyncio.shield(self._rendering)

    async def _render_once(self, generation: int) -> T:
        try:
            value = await self._render()
        except Exception:
            if self._value is None:
                raise
            log.exception("%s could not be rendered; the last version is served", self._what)
            return self._value
        finally:
            self._rendering = None
        self.renders += 1
        self._value, self._value_generation = value, generation
        return value
