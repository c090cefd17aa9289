"""Turn ``tomllib``'s syntax errors into one kind message with the file, line and key."""

from __future__ import annotations

import re
import tomllib

from daemon.config.lines import KeyLines
from daemon.config.reader import bilingual
from daemon.errors import ConfigError

_POSITION = re.compile(r"\s*\(at line (?P<line>\d+), column (?P<column>\d+)\)$")

# tomllib's messages (English) that deserve a Dutch explanation, by their start.
_DUTCH_HINTS = (
    ("Invalid date or datetime", "deze datum of tijd bestaat niet of is verkeerd geschreven"),
    ("Cannot overwrite a value", "deze sleutel staat er twee keer"),
    ("Cannot declare", "deze tabel staat er twee keer"),
    ("Invalid value", "deze waarde is geen geldige TOML; staat tekst tussen aanhalingstekens?"),
    ("Expected '=' after a key", "na de sleutel hoort '='"),
    ("Unclosed array", "de lijst wordt niet gesloten met ']'"),
    ("Unterminated string", "de tekst wordt niet afgesloten met een aanhalingsteken"),
    ("Illegal character", "ongeldig teken; ontbreekt er een aanhalingsteken?"),
)


def syntax_error(path: str, error: tomllib.TOMLDecodeError, lines: KeyLines) -> ConfigError:
    """``file:line: key: Dutch (English)``; key and line only where the parser told them."""
    text = str(error)
    position = _POSITION.search(text)
    reason = _POSITION.sub("", text) if position else text
    dutch = next(
        (hint for start, hint in _DUTCH_HINTS if reason.startswith(start)),
        "dit is geen geldige TOML",
    )
    message = bilingual(dutch, f"invalid TOML: {reason}")
    if position is None:
        return ConfigError(f"{path}: {message}")
    line = int(position["line"])
    key = lines.path_at(line)
    place = f"{path}:{line}: {key}" if key else f"{path}:{line}"
    return ConfigError(f"{place}: {message} [kolom/column {position['column']}]")
