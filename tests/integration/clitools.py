"""Running the real ``wijkbode`` entry point, as an operator does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "config" / "wijkbode.example.toml"


def wijkbode(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run the installed console script (or ``python -m daemon`` where it is not on PATH)."""
    script = shutil.which("wijkbode", path=str(Path(sys.executable).parent)) or shutil.which(
        "wijkbode"
    )
    command = [script] if script else [sys.executable, "-m", "daemon"]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WIJKBODE_")}
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        cwd=cwd,
        input=stdin,  # what a person would type; empty: an immediate end of input
        timeout=120,
        check=False,
    )


def wijkbode_json(*args: str, state_dir: Path, config: Path = EXAMPLE) -> Any:
    """Run a ``--json`` command on ``config`` with its own state dir; fail loudly on errors."""
    result = wijkbode("--config", str(config), "--state-dir", str(state_dir), *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
