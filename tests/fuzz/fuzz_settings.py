"""The fuzzing budget: a bounded ``ci`` run by default, a ``long`` run for maintainers.

``ci`` (the default) runs a fixed number of examples, derandomized so a CI run is
reproducible and never fails by luck; ``long`` draws fresh random examples for as
long as a maintainer lets it run::

    HYPOTHESIS_PROFILE=long .venv/bin/python -m pytest tests/fuzz -q -p no:cacheprovider

A failure prints the smallest example hypothesis found; keep it as an ``@example``
on the test when the bug is fixed, so it stays a regression test.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile(
    "ci", max_examples=200, deadline=None, derandomize=True, suppress_health_check=_QUIET
)
settings.register_profile("long", max_examples=20_000, deadline=None, suppress_health_check=_QUIET)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
# Only our fuzz tests take the profile; the rest of the suite keeps its own settings.
FUZZ = settings(settings.get_profile(PROFILE if PROFILE in ("ci", "long") else "ci"))
