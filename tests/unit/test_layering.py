"""The layering of docs/architecture.md holds: checked by import-linter's contracts.

The contracts live in pyproject.toml (``[tool.importlinter]``). This test runs
them, and checks that every package and module directly under ``daemon/`` is
placed in a layer, so a new package cannot slip past the layering unnoticed.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _contracts() -> list[dict[str, object]]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        config = tomllib.load(handle)
    contracts: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def test_every_import_contract_is_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(_contracts())} kept, 0 broken." in result.stdout


def test_every_part_of_daemon_has_a_layer() -> None:
    layers = next(c for c in _contracts() if c["type"] == "layers")["layers"]
    assert isinstance(layers, list)
    placed = {name.strip() for layer in layers for name in str(layer).split("|")}
    parts = {
        f"daemon.{path.stem}" if path.is_file() else f"daemon.{path.name}"
        for path in (ROOT / "daemon").iterdir()
        if (path.suffix == ".py" and path.stem != "__init__")
        or (path.is_dir() and (path / "__init__.py").exists())
    }
    assert parts - placed == set(), "add these to a layer in pyproject.toml"
    assert placed - parts == set(), "these layers name nothing that exists"
