"""What most commands share: load the config, open the store with the plan synced into it."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from daemon.config import Config, load_config
from daemon.engine.plan_sync import sync_plan
from daemon.errors import ConfigError
from daemon.i18n import Translator
from daemon.store import Store

Handler = Callable[[argparse.Namespace], int]
ENGLISH_RULE = "— English —"  # as in bilingual mail and chat messages


def config_from(args: argparse.Namespace) -> Config:
    from daemon.cli import config_path, state_dir_override

    return load_config(config_path(args), state_dir_override=state_dir_override(args))


@asynccontextmanager
async def synced_store(
    config: Config, now: datetime, *, create: bool = False
) -> AsyncIterator[Store]:
    """The state store with the configured plan brought in (as the daemon does at start).

    Only a command that records something (``file``) passes ``create``; the others
    refuse a state directory without a database instead of making an empty one.
    """
    store = await Store.open(config.state_dir, create=create)
    try:
        await sync_plan(store, config, now)
        yield store
    finally:
        await store.close()


def parse_instant(text: str, tz: ZoneInfo, option: str) -> datetime:
    """An ISO 8601 instant; without an offset it is local time in the configured zone."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"{option}: {text!r} is geen ISO 8601-tijdstip, bijvoorbeeld 2027-03-22T19:30 "
            f"(not an ISO 8601 time, e.g. 2027-03-22T19:30)"
        ) from None
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


def local_iso(moment: datetime, tz: ZoneInfo) -> str:
    """ISO 8601 with the local UTC offset and whole seconds, as the JSON output promises.

    The store keeps microseconds; a reader of the JSON has no use for them.
    """
    return moment.astimezone(tz).isoformat(timespec="seconds")


def translators(config: Config) -> list[Translator]:
    """The languages a person reads: ``nl`` is Dutch with English alongside, as the
    configuration promises; ``en`` is English only."""
    if config.language == "nl":
        return [Translator("nl", config.timezone), Translator("en", config.timezone)]
    return [Translator(config.language, config.timezone)]


def for_people(config: Config, render: Callable[[Translator], str]) -> str:
    """A message in the configured language(s): Dutch, then English under a rule."""
    return f"\n\n{ENGLISH_RULE}\n".join(render(t) for t in translators(config))


def print_json(value: Any) -> None:
    # One write: json.dump to a stream writes every token on its own (about 18 000
    # writes for an agenda of 500 items).
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def add_list_with_retry(
    subparsers: argparse._SubParsersAction[Any],
    name: str,
    *,
    summary: str,
    show: Handler,
    retry_summary: str,
    id_help: str,
    retry: Handler,
) -> None:
    """``NAME [--json]`` lists rows; ``NAME retry ID`` puts one back in line."""
    parser = subparsers.add_parser(name, help=summary)
    parser.add_argument("--json", action="store_true", help="uitvoer als JSON / JSON output")
    parser.set_defaults(handler=show)
    actions = parser.add_subparsers(dest=f"{name}_action", metavar="ACTION")
    retry_parser = actions.add_parser("retry", help=retry_summary)
    retry_parser.add_argument("id", type=int, metavar="ID", help=id_help)
    retry_parser.set_defaults(handler=retry)
