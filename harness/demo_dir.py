"""The demo directory: emptied at every start, but only when it is the demo's own.

A marker file says a directory is the demo's. Dovecot's files may live in a
temp directory that ``servers/dovecot`` links to (see ``harness/dovecot.py``);
that is removed along with the link.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

MARKER = ".wijkbode-demo"
_DOVECOT_TEMP_PREFIX = "wijkbode-dovecot-"


class DemoDirError(Exception):
    """The directory cannot be used for the demo."""


def prepare_demo_dir(path: Path) -> Path:
    """Empty (or create) ``path`` for a new run and return it as an absolute path."""
    directory = path.absolute()
    if directory.exists():
        if not directory.is_dir():
            raise DemoDirError(f"{directory} is geen map / is not a directory")
        entries = list(directory.iterdir())
        if entries and not (directory / MARKER).exists():
            raise DemoDirError(
                f"{directory} is niet leeg en geen demo-map; kies een andere --dir "
                "/ is not empty and not a demo directory; choose another --dir"
            )
        for entry in entries:
            _remove(entry)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text(
        "Wijkbode-demo: deze map wordt bij elke start geleegd.\n"
        "Wijkbode demo: this directory is emptied at every start.\n",
        encoding="utf-8",
    )
    return directory


def _remove(entry: Path) -> None:
    for link in _links_to_dovecot_temp(entry):
        shutil.rmtree(link.resolve(), ignore_errors=True)
    if entry.is_symlink() or not entry.is_dir():
        entry.unlink()
    else:
        shutil.rmtree(entry)


def _links_to_dovecot_temp(entry: Path) -> list[Path]:
    """Symlinks under ``entry`` that point at a Dovecot temp directory of the harness."""
    temp = Path(tempfile.gettempdir()).resolve()
    candidates = [entry] if entry.is_symlink() else []
    if entry.is_dir() and not entry.is_symlink():
        for root, dirs, files in os.walk(entry):
            candidates += [Path(root, name) for name in [*dirs, *files]]
    return [
        link
        for link in candidates
        if link.is_symlink()
        and link.resolve().parent == temp
        and link.resolve().name.startswith(_DOVECOT_TEMP_PREFIX)
    ]
