"""Matrix connector: one device for life, and a cross-signing identity that never changes."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest_asyncio
from matrix_helpers import Account, bot_settings, register, start_bot

from connectors.matrix.crosssigning import (
    CrossSigningSeeds,
    decode_recovery_key,
    verify_json,
)
from harness.synapse import SynapseServer


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def _device_ids(synapse: SynapseServer, user_id: str) -> set[str]:
    """The account's devices, asked as an admin (registration itself leaves one device)."""
    token = await synapse.admin_token()
    answer = await synapse.client_api("GET", f"/_synapse/admin/v2/users/{user_id}/devices", token)
    return {device["device_id"] for device in answer["devices"]}


async def _keys_as_seen_by_someone_else(
    synapse: SynapseServer, observer: Account, user_id: str
) -> dict[str, Any]:
    token = await synapse.login(observer.user_id, observer.password)
    return await synapse.client_api(
        "POST", "/_matrix/client/v3/keys/query", token, {"device_keys": {user_id: []}}
    )


async def test_restart_restores_the_same_device_without_a_new_login(
    synapse: SynapseServer, bot_account: Account, tmp_path: Path
) -> None:
    """A second start is the same device with the same token; the account has one device."""
    settings = bot_settings(synapse, bot_account.user_id, bot_account.password, tmp_path)
    before = await _device_ids(synapse, bot_account.user_id)
    bot = await start_bot(settings)
    first_device = bot.chat.device_id
    identity_key = bot.chat.nio_client.olm.account.identity_keys["curve25519"]
    await bot.stop()

    bot = await start_bot(settings)
    try:
        assert bot.chat.device_id == first_device
        assert bot.chat.nio_client.olm.account.identity_keys["curve25519"] == identity_key
        assert await _device_ids(synapse, bot_account.user_id) == before | {first_device}
    finally:
        await bot.stop()


async def test_secrets_are_private_and_the_pickle_key_is_not_the_default(
    synapse: SynapseServer, bot_account: Account, tmp_path: Path
) -> None:
    """Credentials, pickle key and cross-signing seeds are 0600; the pickle key is random."""
    bot = await start_bot(
        bot_settings(synapse, bot_account.user_id, bot_account.password, tmp_path)
    )
    await bot.stop()
    matrix_dir = tmp_path / "matrix"
    for name in ("credentials.json", "pickle_key", "cross_signing.json", "recovery-key.txt"):
        assert _mode(matrix_dir / name) == 0o600, name
    assert _mode(matrix_dir) == 0o700
    pickle_key = (matrix_dir / "pickle_key").read_text().strip()
    assert pickle_key != "DEFAULT_KEY"
    assert len(pickle_key) >= 40
    credentials = json.loads((matrix_dir / "credentials.json").read_text())
    assert credentials["user_id"] == bot_account.user_id


async def test_device_is_cross_signed_signature_by_signature(
    synapse: SynapseServer,
    bot_account: Account,
    tmp_path: Path,
    observer: Account,
) -> None:
    """/keys/query: self-signing key signed by master, device by self-signing, master by device."""
    bot = await start_bot(
        bot_settings(synapse, bot_account.user_id, bot_account.password, tmp_path)
    )
    device_id = bot.chat.device_id
    own_view = await synapse.client_api(
        "POST",
        "/_matrix/client/v3/keys/query",
        bot.chat.nio_client.access_token,
        {"device_keys": {bot_account.user_id: []}},
    )
    await bot.stop()
    seeds = CrossSigningSeeds.from_json(
        json.loads((tmp_path / "matrix" / "cross_signing.json").read_text())
    )
    keys = await _keys_as_seen_by_someone_else(synapse, observer, bot_account.user_id)
    user = bot_account.user_id

    master = keys["master_keys"][user]
    assert master["usage"] == ["master"]
    assert master["keys"] == {f"ed25519:{seeds.master_public}": seeds.master_public}

    self_signing = keys["self_signing_keys"][user]
    assert self_signing["keys"] == {
        f"ed25519:{seeds.self_signing_public}": seeds.self_signing_public
    }
    assert verify_json(self_signing, user, seeds.master_public)

    device = keys["device_keys"][user][device_id]
    assert verify_json(device, user, seeds.self_signing_public)
    device_ed25519 = device["keys"][f"ed25519:{device_id}"]
    # The device signs its own keys too (with key id = device id).
    device_sig = device["signatures"][user][f"ed25519:{device_id}"]
    relabelled = {**device, "signatures": {user: {f"ed25519:{device_ed25519}": device_sig}}}
    assert verify_json(relabelled, user, device_ed25519)

    # Synapse shows a device's signature on the master key only to the key's owner.
    master_sig = own_view["master_keys"][user]["signatures"][user][f"ed25519:{device_id}"]
    relabelled_master = {**master, "signatures": {user: {f"ed25519:{device_ed25519}": master_sig}}}
    assert verify_json(relabelled_master, user, device_ed25519)


async def test_identity_and_signatures_survive_a_restart(
    synapse: SynapseServer,
    bot_account: Account,
    tmp_path: Path,
    observer: Account,
) -> None:
    """The master key is the same after a restart, still signs the same still-signed device."""
    settings = bot_settings(synapse, bot_account.user_id, bot_account.password, tmp_path)
    bot = await start_bot(settings)
    await bot.stop()
    before = await _keys_as_seen_by_someone_else(synapse, observer, bot_account.user_id)
    seeds_text = (tmp_path / "matrix" / "cross_signing.json").read_text()

    bot = await start_bot(settings)
    device_id = bot.chat.device_id
    await bot.stop()
    after = await _keys_as_seen_by_someone_else(synapse, observer, bot_account.user_id)

    user = bot_account.user_id
    assert (tmp_path / "matrix" / "cross_signing.json").read_text() == seeds_text
    assert after["master_keys"][user]["keys"] == before["master_keys"][user]["keys"]
    assert after["self_signing_keys"][user]["keys"] == before["self_signing_keys"][user]["keys"]
    seeds = CrossSigningSeeds.from_json(json.loads(seeds_text))
    assert verify_json(after["device_keys"][user][device_id], user, seeds.self_signing_public)


async def test_recovery_key_file_holds_the_master_seed(
    synapse: SynapseServer, bot_account: Account, tmp_path: Path
) -> None:
    """The recovery key the operator stores decodes to the master key's seed."""
    bot = await start_bot(
        bot_settings(synapse, bot_account.user_id, bot_account.password, tmp_path)
    )
    await bot.stop()
    matrix_dir = tmp_path / "matrix"
    seeds = CrossSigningSeeds.from_json(json.loads((matrix_dir / "cross_signing.json").read_text()))
    lines = (matrix_dir / "recovery-key.txt").read_text().splitlines()
    key_line = next(line for line in lines if line.startswith("E") and " " in line)
    assert decode_recovery_key(key_line) == seeds.master


@pytest_asyncio.fixture
async def bot_account(synapse: SynapseServer) -> Account:
    return await register(synapse, "bot")


@pytest_asyncio.fixture
async def observer(synapse: SynapseServer) -> Account:
    return await register(synapse, "observer")
