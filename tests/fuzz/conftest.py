"""Fuzzing with hypothesis: the profiles ``ci`` (default) and ``long`` (see fuzz_settings)."""

from __future__ import annotations

import fuzz_settings  # registers the profiles

PROFILE = fuzz_settings.PROFILE
