"""Room version 12 creators outrank everyone; older rooms keep the power levels' map."""

from __future__ import annotations

import pytest

from connectors.matrix.client import is_creator_with_infinite_power


def _create(
    version: str, sender: str = "@alice:x", extra: tuple[str, ...] = ()
) -> dict[str, object]:
    content: dict[str, object] = {"room_version": version}
    if extra:
        content["additional_creators"] = list(extra)
    return {"type": "m.room.create", "sender": sender, "content": content}


@pytest.mark.parametrize(
    ("event", "user", "infinite"),
    [
        (_create("12"), "@alice:x", True),
        (_create("12", extra=("@bob:x",)), "@bob:x", True),
        (_create("12"), "@bob:x", False),
        (_create("11"), "@alice:x", False),
        (_create("org.example.custom"), "@alice:x", False),
        ({}, "@alice:x", False),
    ],
)
def test_creators_of_v12_rooms(event: dict[str, object], user: str, infinite: bool) -> None:
    assert infinite is is_creator_with_infinite_power(event, user)
