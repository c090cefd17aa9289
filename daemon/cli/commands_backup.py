"""``wijkbode backup``, ``restore`` and ``export``: the state directory kept safe and readable.

The state directory is ``--state-dir`` (or ``$WIJKBODE_STATE_DIR``, which the systemd
unit sets) when given, else the configuration's, so a restore on a fresh machine needs
no more than the directory it goes into.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from daemon.cli.common import config_from, print_json
from daemon.runtime.state_lock import hold_state_lock
from daemon.store.backup import backup_state, restore_state
from daemon.store.export import export_state


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    backup = subparsers.add_parser(
        "backup",
        help="Maak een reservekopie, ook in bedrijf / Back up, also while running",
        description=(
            "Kopieert de database (een consistente momentopname) en de documenten naar de "
            "nieuwe map PAD; veilig terwijl de daemon schrijft. / Copies the database (one "
            "consistent snapshot) and the documents into the new directory PATH; safe while "
            "the daemon writes."
        ),
    )
    backup.add_argument("path", type=Path, metavar="PATH")
    backup.set_defaults(handler=backup_command)

    restore = subparsers.add_parser(
        "restore",
        help="Zet een reservekopie terug in een lege map / Restore into an empty directory",
        description=(
            "Controleert de hele reservekopie (integriteit, schema, de hash van elk document) "
            "en zet haar pas dan terug, alleen in een lege toestandsmap, terwijl geen daemon "
            "draait. / Checks the whole backup (integrity, schema, each document's hash) "
            "before anything is placed, only into an empty state directory, with no daemon "
            "running."
        ),
    )
    restore.add_argument("path", type=Path, metavar="PATH")
    restore.set_defaults(handler=restore_command)

    export = subparsers.add_parser(
        "export",
        help="Schrijf agenda, stukken en afspraken als JSON / Export the record as JSON",
        description=(
            "Vergaderingen, agendapunten met documenten en geschiedenis, afspraken en "
            "besluiten; geen adressen van abonnees. / Meetings, items with their documents "
            "and history, agreements and decisions; no subscribers' addresses."
        ),
    )
    export.add_argument("--format", choices=("json",), default="json")
    export.add_argument(
        "--output",
        type=Path,
        default=None,
        metavar="FILE",
        help="schrijf naar dit bestand (mode 0600) in plaats van stdout / write to this file",
    )
    export.set_defaults(handler=export_command)


def state_dir_of(args: argparse.Namespace) -> Path:
    from daemon.cli import state_dir_override

    override = state_dir_override(args)
    return override if override is not None else config_from(args).state_dir


def backup_command(args: argparse.Namespace) -> int:
    summary = backup_state(state_dir_of(args), args.path)
    print(
        f"Reservekopie gemaakt in {summary.path}: schema {summary.schema_version}, "
        f"{summary.documents} documenten, {summary.files} bestanden / Backup written to "
        f"{summary.path}: schema {summary.schema_version}, {summary.documents} documents, "
        f"{summary.files} files"
    )
    return 0


def restore_command(args: argparse.Namespace) -> int:
    state_dir = state_dir_of(args)
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Held meanwhile, so no daemon starts on a half-placed state.
    with hold_state_lock(state_dir):
        summary = restore_state(args.path, state_dir)
    print(
        f"Teruggezet in {summary.path}: schema {summary.schema_version}, "
        f"{summary.documents} documenten, {summary.files} bestanden / Restored into "
        f"{summary.path}: schema {summary.schema_version}, {summary.documents} documents, "
        f"{summary.files} files"
    )
    return 0


def export_command(args: argparse.Namespace) -> int:
    exported = export_state(state_dir_of(args))
    if args.output is None:
        print_json(exported)
        return 0
    # Names of submitters are in it: owner-only, like the state directory.
    fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(json.dumps(exported, ensure_ascii=False, indent=2) + "\n")
    return 0
