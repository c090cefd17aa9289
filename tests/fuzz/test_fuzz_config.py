"""The config loader on arbitrary TOML: a ``Config`` or one ``ConfigError`` whose message
names the file and says, Dutch and English, what is wrong; never another exception.

The documents are built from the shipped example (so every section and key is reached)
with values swapped for other types and shapes, keys dropped and unknown keys added, and
from free-form tables; a small writer turns them into TOML text.
"""

from __future__ import annotations

import json
import math
import tomllib
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from fuzz_settings import FUZZ
from hypothesis import example, given
from hypothesis import strategies as st

from daemon.config import parse_config
from daemon.config.schema import Config
from daemon.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "wijkbode.example.toml"
BASE: dict[str, Any] = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
PATH = Path("/nonexistent-wijkbode-fuzz/wijkbode.toml")  # names the file; nothing is read

SCALARS = (
    st.text(max_size=30)
    | st.sampled_from(["", "14d", "48h", "-1d", "99999999d", "2h30m", "false", "credential:",
                       "credential:../x", "Mars/Olympus", "FREQ=DAILY;COUNT=99999999",
                       "FREQ=SECONDLY", "mailto:x", "https://", "\x00", "[", "nl", "xx"])
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.booleans()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.dates()
    | st.datetimes()
    | st.times()
)  # fmt: skip
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(min_size=1, max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def toml_text(document: dict[str, Any]) -> str:
    """Top-level scalars first, then each table as an inline table under its name."""
    lines = [f"{json.dumps(k)} = {toml_value(v)}" for k, v in document.items()]
    return "\n".join(lines) + "\n"


def paths(table: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for key, value in table.items():
        found.append((*prefix, key))
        if isinstance(value, dict):
            found.extend(paths(value, (*prefix, key)))
    return found


ALL_PATHS = paths(BASE)


def mutated(mutations: list[tuple[tuple[str, ...], str, Any]]) -> dict[str, Any]:
    document = tomllib.loads(toml_text(BASE))  # a deep copy
    for path, op, value in mutations:
        parent: Any = document
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if not isinstance(parent, dict):
            continue
        if op == "drop":
            parent.pop(path[-1], None)
        elif op == "set":
            parent[path[-1]] = value
        else:
            parent[f"{path[-1]}_{op}"] = value  # an unknown or misspelt key beside it
    return document


def check(text: str) -> None:
    try:
        config = parse_config(text, PATH)
    except ConfigError as error:
        message = str(error)
        assert str(PATH) in message, message
        assert "(" in message, message  # "Dutch (English)"
        assert "Traceback" not in message
        return
    assert isinstance(config, Config)


MUTATIONS = st.lists(
    st.tuples(st.sampled_from(ALL_PATHS), st.sampled_from(["drop", "set", "x"]), VALUES),
    min_size=1,
    max_size=6,
)


def test_the_example_itself_loads() -> None:
    """The writer is faithful: the example written back loads as a Config."""
    assert isinstance(parse_config(toml_text(BASE), PATH), Config)


@FUZZ
@given(MUTATIONS)
def test_mutated_example(mutations: list[tuple[tuple[str, ...], str, Any]]) -> None:
    check(toml_text(mutated(mutations)))


@FUZZ
@given(st.dictionaries(st.text(max_size=15), VALUES, max_size=8))
@example({"timezone": "../../etc/passwd"})
@example({"series": {"x": {"plan": {"rrule": "FREQ=SECONDLY"}}}})
def test_free_form_tables(document: dict[str, Any]) -> None:
    check(toml_text(document))


@FUZZ
@given(st.text(max_size=400))
@example('a = "\\uD800"')
@example("[a]\n" * 2)
@example("x = " + "[" * 5000)
def test_any_text(text: str) -> None:
    check(text)
