"""JSON output leaves the CLI in one write, not token by token."""

from __future__ import annotations

import io
import json

import pytest

from daemon.cli.common import print_json


class CountingStdout(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def test_a_large_listing_is_written_in_one_go(monkeypatch: pytest.MonkeyPatch) -> None:
    stdout = CountingStdout()
    monkeypatch.setattr("sys.stdout", stdout)
    items = [{"id": f"WB-{n}", "title": f"Agendapunt {n}", "late": False} for n in range(500)]

    print_json({"meeting": "wijkalliantie-2027-03-02", "items": items})

    assert stdout.writes == 1
    assert json.loads(stdout.getvalue())["items"][499]["id"] == "WB-499"
    assert stdout.getvalue().endswith("}\n")
