"""The ``wijkbode`` command. Help text is Dutch first, English second.

Every subcommand lives in its own module with a ``register(subparsers)``
function; this module only holds the global options and the error policy:
a ``ConfigError`` or ``StoreError`` is one clear line on stderr and exit 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from daemon.cli import (
    commands_backup,
    commands_config,
    commands_decisions,
    commands_engine,
    commands_folder,
    commands_init,
    commands_items,
    commands_mail,
    commands_plan,
    commands_preview,
    commands_privacy,
    commands_run,
)
from daemon.cli.usage import BilingualParser, describe_subcommands, installed_version
from daemon.errors import ConfigError, StoreError

EXIT_OK = 0
EXIT_USAGE = 2

_COMMAND_MODULES = (
    commands_config,
    commands_init,
    commands_privacy,
    commands_plan,
    commands_items,
    commands_run,
    commands_engine,
    commands_mail,
    commands_backup,
    commands_folder,
    commands_decisions,
    commands_preview,
)


def build_parser() -> argparse.ArgumentParser:
    parser = BilingualParser(
        prog="wijkbode",
        description=(
            "Wijkbode: agenda, stukken, termijnen en aankondigingen voor de wijk. "
            "/ Agenda, documents, deadlines and announcements for the neighbourhood."
        ),
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"wijkbode {installed_version()}",
        help="toon de versie en stop / show the version and exit",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help=(
            "configuratiebestand (anders $WIJKBODE_CONFIG, anders ./wijkbode.toml) "
            "/ configuration file (else $WIJKBODE_CONFIG, else ./wijkbode.toml)"
        ),
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help=(
            "map voor de toestand, overschrijft de configuratie (of $WIJKBODE_STATE_DIR) "
            "/ state directory, overrides the configuration (or $WIJKBODE_STATE_DIR)"
        ),
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _COMMAND_MODULES:
        module.register(subparsers)
    describe_subcommands(parser)
    return parser


def config_path(args: argparse.Namespace) -> Path:
    """``--config``, else ``$WIJKBODE_CONFIG``, else ``./wijkbode.toml``."""
    if args.config is not None:
        return Path(args.config)
    from_env = os.environ.get("WIJKBODE_CONFIG")
    return Path(from_env) if from_env else Path("wijkbode.toml")


def state_dir_override(args: argparse.Namespace) -> Path | None:
    """``--state-dir``, else ``$WIJKBODE_STATE_DIR``, else ``None`` (use the config)."""
    if args.state_dir is not None:
        return Path(args.state_dir)
    from_env = os.environ.get("WIJKBODE_STATE_DIR")
    return Path(from_env) if from_env else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.handler(args)
    except (ConfigError, StoreError) as error:
        print(f"wijkbode: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away; that is not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    return result
