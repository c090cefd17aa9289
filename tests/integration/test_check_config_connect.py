"""``wijkbode check-config --connect`` against the real loopback servers: every
connection tested, each failure produced for real and worded plainly, exit 0 / 1 / 2."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from harness.dovecot import DovecotServer, MailAccount
from harness.ports import free_port
from harness.radicale import CaldavAccount
from harness.smtp import SmtpRelay
from harness.synapse import SynapseServer
from harness.tls import SelfSignedCert
from tests.integration.clitools import wijkbode
from tests.integration.conftest import MakeRelay, MatrixAccount
from tests.integration.connect_helpers import Setup, create_room, join, write_config

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def setup(
    synapse: SynapseServer,
    dovecot: DovecotServer,
    smtp_relay: SmtpRelay,
    radicale: object,
    tls_cert: SelfSignedCert,
    matrix_user: MatrixAccount,
    mailbox_user: MailAccount,
    caldav_user: CaldavAccount,
) -> Setup:
    """Everything in order: the bot made both rooms (joined, power 100)."""
    token = await synapse.login(matrix_user.user_id, matrix_user.password)
    rooms = [await create_room(synapse, token), await create_room(synapse, token)]
    return Setup(
        homeserver=synapse.base_url,
        bot=matrix_user.user_id,
        bot_password=matrix_user.password,
        rooms=rooms,
        mail_address=mailbox_user.address,
        imap_host=dovecot.host,
        imap_port=dovecot.imaps_port,
        imap_user=mailbox_user.name,
        imap_password=mailbox_user.password,
        imap_ca=str(tls_cert.cert_file),
        smtp_host=smtp_relay.host,
        smtp_port=smtp_relay.port,
        smtp_password=smtp_relay.users["wijkbode"],
        smtp_ca=str(tls_cert.cert_file),
        caldav_url=caldav_user.url,
        caldav_user=caldav_user.name,
        caldav_password=caldav_user.password,
        listen=f"127.0.0.1:{free_port()}",
    )


Check = Callable[[Setup], "tuple[int, str]"]


def check(tmp_path: Path, setup: Setup) -> tuple[int, str]:
    config = write_config(tmp_path / "etc", setup)
    result = wijkbode("check-config", "--connect", "--config", str(config))
    assert "Traceback" not in result.stderr + result.stdout, result.stderr[-3000:]
    return result.returncode, result.stdout + result.stderr


def problem_lines(output: str, connector: str) -> list[str]:
    return [line for line in output.splitlines() if line.split()[:2] == [connector, "FOUT/ERROR"]]


async def test_all_connections_ok(tmp_path: Path, setup: Setup) -> None:
    code, output = check(tmp_path, setup)
    assert code == 0, output
    assert "Alle verbindingen in orde (all connections OK)" in output
    for connector in ("matrix", "imap", "smtp", "caldav", "http"):
        assert f"  {connector} " in output
    assert f"kamer {setup.rooms[0]}: lid, mag berichten plaatsen" in output
    assert "map INBOX is er (folder INBOX is there)" in output
    assert "kalender Wijkagenda bestaat nog niet; Wijkbode maakt hem" in output
    assert f"adres {setup.listen} is vrij" in output
    # Synapse and Radicale send a Date header: the clock was compared, and agrees.
    assert f"de klok van deze computer loopt gelijk met {setup.homeserver}" in output
    assert f"de klok van deze computer loopt gelijk met {setup.caldav_url.rstrip('/')}" in output


async def test_wrong_passwords_for_imap_and_matrix(tmp_path: Path, setup: Setup) -> None:
    wrong = replace(setup, imap_password="verkeerd", bot_password="verkeerd")
    code, output = check(tmp_path, wrong)
    assert code == 1, output
    [imap] = problem_lines(output, "imap")
    assert f"inloggen geweigerd voor {setup.imap_user}" in imap
    assert "(login refused for" in imap
    [matrix] = problem_lines(output, "matrix")
    assert f"inloggen geweigerd voor {setup.bot}" in matrix


async def test_a_stopped_server_is_unreachable(
    tmp_path: Path, setup: Setup, make_smtp_relay: MakeRelay
) -> None:
    relay = await make_smtp_relay("starttls")
    port = relay.port
    await relay.stop()
    code, output = check(tmp_path, replace(setup, smtp_port=port))
    assert code == 1, output
    [smtp] = problem_lines(output, "smtp")
    assert f"127.0.0.1:{port} is niet bereikbaar: draait de server" in smtp
    assert "cannot reach" in smtp


async def test_bot_not_in_the_room_or_without_power_to_post(
    tmp_path: Path, setup: Setup, synapse: SynapseServer
) -> None:
    other, password = await synapse.register_user(f"ander{free_port()}", "wachtwoord-ander")
    token = await synapse.login(other, password)
    not_joined = await create_room(synapse, token)
    muted = await create_room(synapse, token, invite=[setup.bot], events_default=50)
    await join(synapse, await synapse.login(setup.bot, setup.bot_password), muted)
    code, output = check(tmp_path, replace(setup, rooms=[not_joined, muted]))
    assert code == 1, output
    matrix = "\n".join(problem_lines(output, "matrix"))
    assert f"de bot zit niet in kamer {not_joined}: nodig hem uit" in matrix
    assert f"de bot mag niets plaatsen in kamer {muted}: verhoog zijn machtsniveau" in matrix


async def test_missing_folder_and_calendar(tmp_path: Path, setup: Setup) -> None:
    broken = replace(setup, imap_folder="Bestaat/Niet", planning_calendar="Jaarplanning")
    code, output = check(tmp_path, broken)
    assert code == 1, output
    [imap] = problem_lines(output, "imap")
    assert "map Bestaat/Niet bestaat niet in de mailbox" in imap
    [caldav] = problem_lines(output, "caldav")
    assert "kalender Jaarplanning niet gevonden (calendar Jaarplanning not found)" in caldav


async def test_an_untrusted_certificate(tmp_path: Path, setup: Setup) -> None:
    # Dovecot's certificate is self-signed; without ca_file the system CAs do not trust it.
    code, output = check(tmp_path, replace(setup, imap_ca=None))
    assert code == 1, output
    [imap] = problem_lines(output, "imap")
    assert f"het certificaat van 127.0.0.1:{setup.imap_port} wordt niet vertrouwd" in imap
    assert "CERTIFICATE_VERIFY_FAILED" in output or "certificate verify failed" in output


async def test_an_http_port_already_taken(tmp_path: Path, setup: Setup) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        listen = f"127.0.0.1:{taken.getsockname()[1]}"
        code, output = check(tmp_path, replace(setup, listen=listen))
    assert code == 1, output
    [http] = problem_lines(output, "http")
    assert f"adres {listen} is al in gebruik" in http


async def test_an_unreadable_secret_is_a_config_problem(tmp_path: Path, setup: Setup) -> None:
    config = write_config(tmp_path / "etc", setup)
    (config.parent / "secrets" / "imap").unlink()
    result = wijkbode("check-config", "--connect", "--config", str(config))
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output
    [imap] = problem_lines(output, "imap")
    assert "het wachtwoord of token voor" in imap


async def test_an_encrypted_room_and_the_bots_device(
    tmp_path: Path, setup: Setup, synapse: SynapseServer
) -> None:
    token = await synapse.login(setup.bot, setup.bot_password)
    encrypted = await create_room(synapse, token, encrypted=True)
    broken = replace(setup, rooms=[encrypted])
    # No device of the daemon yet: said, not a failure.
    code, output = check(tmp_path, broken)
    assert code == 0, output
    assert f"kamer {encrypted} is versleuteld; het apparaat van de bot ontstaat" in output
    # The daemon's device exists (its credentials in the state directory) but nobody
    # cross-signed it: a warning that names the device.
    who = await synapse.client_api("GET", "/_matrix/client/v3/account/whoami", token)
    matrix_dir = tmp_path / "etc" / "state" / "matrix"
    matrix_dir.mkdir(parents=True)
    (matrix_dir / "credentials.json").write_text(
        json.dumps(
            {
                "homeserver": setup.homeserver,
                "user_id": setup.bot,
                "device_id": who["device_id"],
                "access_token": token,
            }
        ),
        encoding="utf-8",
    )
    code, output = check(tmp_path, broken)
    assert code == 0, output
    [note] = [line for line in output.splitlines() if "LET OP/NOTE" in line]
    assert f"kamer {encrypted} is versleuteld en het apparaat van de bot is niet" in note
    assert who["device_id"] in output


async def test_a_homeserver_url_that_is_no_homeserver(tmp_path: Path, setup: Setup) -> None:
    # Radicale answers on that address, but it is no Matrix server.
    not_matrix = setup.caldav_url.rstrip("/")
    code, output = check(tmp_path, replace(setup, homeserver=not_matrix))
    assert code == 1, output
    [matrix] = problem_lines(output, "matrix")
    assert f"{not_matrix} antwoordt, maar niet als Matrix-homeserver" in matrix
