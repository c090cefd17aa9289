"""Typed, strict reading of one TOML table, with errors that name the key and line.

A ``Table`` wraps the dict ``tomllib`` gave for one table and its key path.
Each getter checks one option's type; ``finish()`` refuses the keys nobody
asked for, with a "did you mean" hint. Every problem is one ``ConfigError``
phrased ``file:line: key.path: Dutch (English)``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, TypeVar

from daemon.config.lines import KeyLines
from daemon.errors import ConfigError

T = TypeVar("T")

# The Dutch and English name of each TOML value type, for "expected X, got Y".
_TYPE_NAMES: dict[type, tuple[str, str]] = {
    bool: ("waar/onwaar (true/false)", "a boolean"),
    int: ("een geheel getal", "an integer"),
    float: ("een kommagetal", "a float"),
    str: ("tekst tussen aanhalingstekens", "a quoted string"),
    datetime: ("een datum met tijd", "a date-time"),
    date: ("een datum", "a date"),
    time: ("een tijd", "a time"),
    list: ("een lijst [...]", "a list"),
    dict: ("een tabel", "a table"),
}


def bilingual(dutch: str, english: str) -> str:
    """One message, Dutch first and English second."""
    return f"{dutch} ({english})"


def type_name(value: object) -> tuple[str, str]:
    for kind in (bool, datetime, date, time, int, float, str, list, dict):
        if isinstance(value, kind):
            return _TYPE_NAMES[kind]
    return (type(value).__name__, type(value).__name__)


@dataclass(frozen=True)
class Source:
    """The file being read, for naming it and its lines in messages."""

    path: Path
    lines: KeyLines

    def where(self, key_path: str) -> str:
        """``file:line: key.path`` (without the line when it is not known)."""
        line = self.lines.line_of(key_path)
        place = f"{self.path}:{line}" if line is not None else f"{self.path}"
        return f"{place}: {key_path}" if key_path else place

    def error(self, key_path: str, message: str) -> ConfigError:
        return ConfigError(f"{self.where(key_path)}: {message}")

    def resolve(self, path: str) -> Path:
        """A path from the file, relative to the file's own directory."""
        given = Path(path).expanduser()
        return given if given.is_absolute() else (self.path.parent / given).absolute()


@dataclass
class Table:
    """One TOML table under ``path`` (``""`` for the top level)."""

    data: dict[str, Any]
    path: str
    source: Source
    _used: set[str] = field(default_factory=set)

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def error(self, name: str, message: str) -> ConfigError:
        return self.source.error(self.key(name), message)

    def has(self, name: str) -> bool:
        return name in self.data

    def raw(self, name: str) -> Any:
        """The value as TOML gave it (marks the key as known), ``None`` if absent."""
        self._used.add(name)
        return self.data.get(name)

    def typed(self, name: str, kind: type[T], default: T) -> T:
        value = self.raw(name)
        if value is None:
            return default
        return self.check_type(name, value, kind)

    def required(self, name: str, kind: type[T]) -> T:
        value = self.raw(name)
        if value is None:
            raise self.error(
                name,
                bilingual("deze sleutel is verplicht", "this key is required"),
            )
        return self.check_type(name, value, kind)

    def check_type(self, name: str, value: object, kind: type[T]) -> T:
        wrong_bool = isinstance(value, bool) and kind is not bool
        wrong_date = isinstance(value, datetime) and kind is date
        if isinstance(value, kind) and not wrong_bool and not wrong_date:
            return value
        wanted, got = _TYPE_NAMES[kind], type_name(value)
        raise self.error(
            name,
            bilingual(
                f"verwacht {wanted[0]}, maar dit is {got[0]}",
                f"expected {wanted[1]}, got {got[1]}",
            ),
        )

    def text(self, name: str, default: str) -> str:
        return self.typed(name, str, default)

    def optional_text(self, name: str) -> str | None:
        value = self.raw(name)
        return None if value is None else self.check_type(name, value, str)

    def boolean(self, name: str, default: bool) -> bool:
        return self.typed(name, bool, default)

    def integer(self, name: str, default: int, *, minimum: int | None = None) -> int:
        value = self.typed(name, int, default)
        if minimum is not None and value < minimum:
            raise self.error(
                name,
                bilingual(
                    f"{value} is te klein; het minimum is {minimum}",
                    f"too small; the minimum is {minimum}",
                ),
            )
        return value

    def list_of(self, name: str, kind: type[T]) -> list[tuple[str, T]]:
        """Each element with its own key path (``dates[2]``, counted from 1)."""
        values = self.typed(name, list, [])
        checked: list[tuple[str, T]] = []
        for index, value in enumerate(values, start=1):
            element = f"{name}[{index}]"
            checked.append((element, self.check_type(element, value, kind)))
        return checked

    def strings(self, name: str) -> tuple[str, ...]:
        return tuple(value for _, value in self.list_of(name, str))

    def convert(self, name: str, value: T, parse: Callable[[T], Any]) -> Any:
        """Apply ``parse``; its ``ValueError`` becomes this key's error."""
        try:
            return parse(value)
        except ValueError as error:
            raise self.error(name, str(error)) from None

    def table(self, name: str) -> Table | None:
        value = self.raw(name)
        if value is None:
            return None
        return Table(self.check_type(name, value, dict), self.key(name), self.source)

    def tables(self, name: str) -> list[Table]:
        """An array of tables (``[[name]]``), each with path ``name[n]``."""
        found: list[Table] = []
        for element, value in self.list_of(name, dict):
            found.append(Table(value, self.key(element), self.source))
        return found

    def finish(self) -> None:
        """Refuse the first key that no getter asked for."""
        for name in self.data:
            if name not in self._used:
                raise self.error(name, _unknown_key_message(name, self._used))


def _unknown_key_message(name: str, known: set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    if close:
        return bilingual(
            f"onbekende sleutel {name!r}; bedoelt u {close[0]!r}?",
            f"unknown key; did you mean {close[0]!r}?",
        )
    allowed = ", ".join(sorted(known))
    return bilingual(
        f"onbekende sleutel {name!r}; hier mag: {allowed}",
        f"unknown key; allowed here: {allowed}",
    )
