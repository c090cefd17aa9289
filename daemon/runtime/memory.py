"""Give freed heap memory back to the system while the daemon idles.

A backlog of mail leaves glibc's heap full of freed pieces of parsed mail and
rendered receipts; CPython frees the objects, but glibc keeps the pages until
``malloc_trim`` hands them back. Trimming once a minute costs microseconds on an
idle heap and keeps an idle daemon at its working size (bench/memory.py).
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
from collections.abc import Callable

log = logging.getLogger("wijkbode.memory")

TRIM_EVERY_SECONDS = 60.0


def heap_trimmer() -> Callable[[], bool] | None:
    """``malloc_trim(0)`` of the C library, or ``None`` where there is none (not glibc)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: bool(trim(0))


async def trim_memory_periodically(every: float = TRIM_EVERY_SECONDS) -> None:
    """Runs until cancelled; does nothing where the C library cannot trim."""
    trim = heap_trimmer()
    if trim is None:
        log.info("no malloc_trim here: freed memory stays with the process")
        return
    while True:
        await asyncio.sleep(every)
        trim()
