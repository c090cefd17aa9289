"""``wijkbode folder MEETING-ID --out FILE.pdf``: the paper folder, rendered now.

The same A5 PDF the core group gets at T-14d (daemon/publish/folder.py), from the
plan and agenda stored now, so it can be printed again or early. Nothing is sent
and nothing is recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from daemon.cli.common import config_from, synced_store
from daemon.config import Config
from daemon.model import MeetingId
from daemon.publish.folder import FolderError, folder_pdf

EXIT_USAGE = 2


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    folder = subparsers.add_parser(
        "folder",
        help="Maak de papieren folder (A5-pdf) / Render the paper folder",
        description=(
            "Maakt de folder om te printen: datum, tijd, plaats, de agenda tot nu toe, het "
            "adres van de pagina en een QR-code ernaartoe. / Renders the printable folder: "
            "date, time, place, the agenda so far, the page's address and a QR code to it."
        ),
    )
    folder.add_argument("meeting", metavar="MEETING-ID", help="zie / see `wijkbode meetings`")
    folder.add_argument(
        "--out", required=True, metavar="FILE.pdf", help="waar de pdf komt / where the PDF goes"
    )
    folder.set_defaults(handler=render_folder)


def render_folder(args: argparse.Namespace) -> int:
    config = config_from(args)
    out = Path(args.out)
    try:
        pdf = asyncio.run(_render(config, MeetingId(args.meeting), datetime.now(UTC)))
    except FolderError as error:
        print(f"wijkbode: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        out.write_bytes(pdf)
    except OSError as error:
        reason = error.strerror or str(error)
        print(
            f"wijkbode: {out} kan niet geschreven worden: {reason} (cannot write {out})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    print(f"folder geschreven naar {out} (folder written to {out}): {len(pdf)} bytes")
    return 0


async def _render(config: Config, meeting: MeetingId, now: datetime) -> bytes:
    async with synced_store(config, now) as store, store.reading() as tx:
        return await folder_pdf(tx, config, meeting, now)
