"""Where a key stands in the TOML text, so an error can name its line.

``tomllib`` gives plain dicts without positions. This scanner reads the text
line by line, follows ``[table]`` and ``[[array]]`` headers and records the
line of every ``key =``. It is deliberately simple: good enough to point an
operator at the right line, never used to read values.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

_ARRAY_HEADER = re.compile(r"^\s*\[\[(?P<name>[^\[\]]+)\]\]\s*(?:#.*)?$")
_TABLE_HEADER = re.compile(r"^\s*\[(?P<name>[^\[\]]+)\]\s*(?:#.*)?$")
_KEY_LINE = re.compile(r"""^\s*(?P<key>[A-Za-z0-9_\-"'.\s]+?)\s*=""")
_INDEX = re.compile(r"\[\d+\]$")


def split_dotted(key: str) -> list[str]:
    """``a."b.c".d`` -> ``["a", "b.c", "d"]``: dots inside quotes do not split."""
    parts: list[str] = []
    current: list[str] = []
    quote: str | None = None
    for char in key:
        if quote is not None:
            if char == quote:
                quote = None
            else:
                current.append(char)
        elif char in "\"'":
            quote = char
        elif char == ".":
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return parts


@dataclass
class KeyLines:
    """Line numbers (1-based) of tables and keys, by key path (``partners[2].name``)."""

    by_path: dict[str, int] = field(default_factory=dict)
    _starts: list[int] = field(default_factory=list)
    _paths: list[str] = field(default_factory=list)

    @classmethod
    def scan(cls, text: str) -> KeyLines:
        found = cls()
        found._scan(text)
        return found

    def line_of(self, path: str) -> int | None:
        """The line of ``path``, else of the nearest enclosing key or table that has one."""
        candidate = path
        while candidate:
            if candidate in self.by_path:
                return self.by_path[candidate]
            candidate = _parent(candidate)
        return None

    def path_at(self, line: int) -> str | None:
        """The key or table written on ``line``, if any."""
        index = bisect.bisect_left(self._starts, line)
        if index < len(self._starts) and self._starts[index] == line:
            return self._paths[index]
        return None

    def _record(self, path: str, line: int) -> None:
        self.by_path.setdefault(path, line)
        self._starts.append(line)
        self._paths.append(path)

    def _scan(self, text: str) -> None:
        table = ""
        array_counts: dict[str, int] = {}
        in_multiline_string = False
        for number, line in enumerate(text.splitlines(), start=1):
            if line.count('"""') % 2 == 1 or line.count("'''") % 2 == 1:
                in_multiline_string = not in_multiline_string
                if not in_multiline_string:
                    continue
            elif in_multiline_string:
                continue
            if match := _ARRAY_HEADER.match(line):
                name = ".".join(split_dotted(match["name"]))
                array_counts[name] = array_counts.get(name, 0) + 1
                table = f"{name}[{array_counts[name]}]"
                self._record_header(table, number)
            elif match := _TABLE_HEADER.match(line):
                table = ".".join(split_dotted(match["name"]))
                self._record_header(table, number)
            elif match := _KEY_LINE.match(line):
                key = ".".join(split_dotted(match["key"]))
                self._record(f"{table}.{key}" if table else key, number)

    def _record_header(self, table: str, line: int) -> None:
        # An implicit parent table ([series.x] under [series.x.plan]) points at its first child.
        parent = _parent(table)
        while parent:
            self.by_path.setdefault(parent, line)
            parent = _parent(parent)
        self._record(table, line)


def _parent(path: str) -> str:
    """``a.b[2].c`` -> ``a.b[2]`` -> ``a.b`` -> ``a`` -> ``""``."""
    if _INDEX.search(path):
        return _INDEX.sub("", path)
    head, _, _ = path.rpartition(".")
    return head
