"""Fixtures and hooks for the whole test suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
INTEGRATION_DIR = Path(__file__).resolve().parent / "integration"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under ``tests/integration`` as ``integration``."""
    for item in items:
        if item.path.is_relative_to(INTEGRATION_DIR):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared briefing folder (corpus, seed data) next to the clone: ``../shared``.

    Outside CI a missing folder skips the test with the reason; in CI (``CI``
    set) it fails, because a CI run must not pass by running less.
    """
    path = (REPO_ROOT / ".." / "shared").resolve()
    if not path.is_dir():
        reason = f"shared folder not found at {path} (expected next to the clone)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path
