"""What the bench scripts share: a throwaway run folder and how figures are printed.

The scripts run as ``python bench/x.py``, so Python puts ``bench/`` first on
``sys.path`` and they import this module as ``common``.
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def run_folder(*, for_dovecot: bool = False) -> Iterator[Path]:
    """A fresh temporary folder for one run, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="wijkbode-bench-") as tmp:
        run_dir = Path(tmp)
        if for_dovecot:
            run_dir.chmod(0o755)  # Dovecot's unprivileged processes must reach the mail
        yield run_dir


def latency_spread(seconds: Sequence[float]) -> str:
    """``median …, p95 …, min …, max …`` in whole milliseconds."""
    ordered = sorted(seconds)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return (
        f"median {statistics.median(ordered) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms,"
        f" min {ordered[0] * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms"
    )


def median_first_last(seconds: Sequence[float], width: str = "") -> str:
    """``median …, first …, last …`` in ms (one decimal): a cost that grows shows in first/last."""
    ms = [s * 1000 for s in seconds] or [0.0]
    return (
        f"median {statistics.median(ms):{width}.1f} ms,"
        f" first {ms[0]:{width}.1f} ms, last {ms[-1]:{width}.1f} ms"
    )
