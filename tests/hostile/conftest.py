"""One real daemon for the whole hostile suite: mail, Matrix and HTTP at once.

The harness servers (Dovecot, the SMTP relay, Synapse) are the integration suite's
session fixtures, imported here so a run of ``tests/hostile`` alone starts them too;
the helpers (``daemon_runner``, ``feed_helpers``) are the integration suite's as well.
The daemon runs as an operator runs it (``python -m daemon run``, a subprocess), its
temporary directory (``TMPDIR``) inside its run directory, so what it leaves anywhere
but its state directory shows in :meth:`Hostile.outside_state`.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path

import pytest
import pytest_asyncio
from hostile_mail import AUTHSERV_ID
from hostile_world import INTEGRATION, Hostile, series_text  # first: puts INTEGRATION on the path

from daemon_runner import TZ, DaemonRunner, make_world  # isort: skip
from feed_helpers import free_port  # isort: skip

from harness.dovecot import DovecotServer
from harness.servers import make_run_dir
from harness.smtp import SmtpRelay
from harness.synapse import SynapseServer


def _integration_fixtures() -> dict[str, object]:
    spec = importlib.util.spec_from_file_location("hostile_servers", INTEGRATION / "conftest.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    names = ("servers_dir", "tls_cert", "dovecot", "smtp_relay", "synapse")
    return {name: getattr(module, name) for name in names}


globals().update(_integration_fixtures())

HOSTILE_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every hostile test talks to the real servers, as the integration tests do."""
    for item in items:
        if item.path.is_relative_to(HOSTILE_DIR):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def hostile_dir() -> Iterator[Path]:
    path = make_run_dir("wijkbode-hostile-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest_asyncio.fixture(scope="session")
async def hostile(
    hostile_dir: Path, dovecot: DovecotServer, smtp_relay: SmtpRelay, synapse: SynapseServer
) -> AsyncIterator[Hostile]:
    """The daemon with mail (small limits), Matrix and HTTP (with the subscribe form)."""
    world = await make_world(
        ["mail", "matrix"], hostile_dir / "secrets", dovecot=dovecot, relay=smtp_relay,
        synapse=synapse,
    )  # fmt: skip
    port = free_port()
    text = world.config(series_text(), default_series="wijkalliantie")
    text = text.replace("[mail]\n", f"[mail]\nauthserv_id = {AUTHSERV_ID!r}\n", 1)
    # The hostile batch sends each of its ~60 mails from its own stranger address and
    # checks each one's receipt (or its absence): no overall limit on receipts outside
    # the partners here (that limit has its own test, test_mail_intake_receipt_limit.py).
    config = text + (
        "\n[mail.limits]\nmax_attachment_bytes = 2000000\nmax_mail_bytes = 4000000\n"
        "max_attachments = 5\nparse_timeout_seconds = 10\n"
        "receipts_per_hour_outside_partners = 0\n\n"
        f'[http]\nlisten = "127.0.0.1:{port}"\npublic_url = "https://wijk.example.org"\n'
        "subscriptions = true\n"
    )
    runner = DaemonRunner(hostile_dir, config, start=datetime.now(TZ), speed=1)
    (hostile_dir / "tmp").mkdir()
    before = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(hostile_dir / "tmp")
    try:
        runner.start()
    finally:
        if before is None:
            del os.environ["TMPDIR"]
        else:
            os.environ["TMPDIR"] = before
    try:
        await runner.wait_running()
        yield Hostile(runner, world, port)
    finally:
        runner.ensure_stopped()
