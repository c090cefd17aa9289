"""The fault suite's setup: the integration helpers on the path, the integration marker,
and its own servers (``fault_servers.py``), which its tests stop and start again.

The helpers (``daemon_runner``, ``feed_helpers``, ``mailintake``) are the
integration suite's, reached through ``sys.path``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

INTEGRATION = Path(__file__).resolve().parents[1] / "integration"
sys.path.insert(0, str(INTEGRATION))

from fault_servers import fault_servers  # noqa: E402 -- after the path above

FAULTS_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every fault test talks to the real servers, as the integration tests do."""
    for item in items:
        if item.path.is_relative_to(FAULTS_DIR):
            item.add_marker(pytest.mark.integration)


__all__ = ["fault_servers"]
