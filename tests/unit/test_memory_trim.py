"""The idle daemon gives freed heap back: malloc_trim is found and answers here (glibc)."""

from __future__ import annotations

from daemon.runtime.memory import heap_trimmer


def test_the_c_librarys_heap_can_be_trimmed_on_this_system() -> None:
    trim = heap_trimmer()
    assert trim is not None
    trim()  # callable through ctypes without an error; bench/memory.py measures the effect
