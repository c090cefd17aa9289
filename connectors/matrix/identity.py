"""Bootstrap and keep Wijkbode's cross-signing identity on the homeserver.

Element hides devices their owner has not cross-signed ("exclude insecure
devices", MSC4153), so Wijkbode makes a master, self-signing and user-signing
key once (seeds in ``state_dir/matrix/cross_signing.json``, 0600), uploads them,
and signs its own device with the self-signing key. On every later start it
reuses the stored seeds and only repairs what the server lacks: its identity
never changes, so members who verified it stay verified.

Uploading the keys needs User-Interactive Auth when the server asks for it;
Wijkbode answers with the account password. With only an access token the
operator must give the password once (``matrix.password``) for this step.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import nio

from connectors.matrix.crosssigning import (
    CrossSigningSeeds,
    device_signing_upload_body,
    encode_recovery_key,
    sign_json,
    signable_bytes,
    verify_json,
)
from connectors.matrix.rawapi import call_json
from connectors.matrix.session import write_private
from daemon.errors import PermanentError, TransientError

log = logging.getLogger(__name__)

KEYS_QUERY = "/_matrix/client/v3/keys/query"
DEVICE_SIGNING_UPLOAD = "/_matrix/client/v3/keys/device_signing/upload"
SIGNATURES_UPLOAD = "/_matrix/client/v3/keys/signatures/upload"

RECOVERY_TEXT = """\
Herstelsleutel van Wijkbode (Matrix cross-signing, hoofdsleutel)
Recovery key of Wijkbode (Matrix cross-signing, master key)

{key}

Bewaar deze sleutel op een veilige plek (wachtwoordkluis) en verwijder dit
bestand daarna. Hiermee kan de identiteit van Wijkbode worden hersteld als de
statusmap verloren gaat. / Store this key somewhere safe (a password manager),
then delete this file. It restores Wijkbode's identity if the state directory
is lost. It encodes the master key's private seed.
"""


async def ensure_cross_signing(
    client: nio.AsyncClient, matrix_dir: Path, password: str | None
) -> CrossSigningSeeds | None:
    """Make sure the server holds our identity and our device is signed by it.

    Returns the seeds in use, or None when the account has an identity we do
    not hold (someone set one up elsewhere): that is logged, never overwritten.
    """
    user_id: str = client.user_id
    seeds_path = matrix_dir / "cross_signing.json"
    seeds = _load_seeds(seeds_path)
    server = await query_own_keys(client)
    server_master = _master_public(server, user_id)
    if seeds is None:
        if server_master is not None:
            _log_foreign_identity(user_id, server_master)
            return None
        seeds = CrossSigningSeeds.generate()
        # Saved before the upload, so a crash in between cannot lose the identity.
        write_private(seeds_path, json.dumps(seeds.to_json(), indent=2))
        write_private(matrix_dir / "recovery-key.txt", _recovery_text(seeds))
        log.warning(
            "Matrix: nieuwe cross-signing-identiteit; herstelsleutel staat in %s "
            "(new cross-signing identity; the recovery key is in that file)",
            matrix_dir / "recovery-key.txt",
        )
    if server_master is None:
        await _upload_identity(client, seeds, password)
        server = await query_own_keys(client)
    elif server_master != seeds.master_public:
        _log_foreign_identity(user_id, server_master)
        return None
    await _sign_own_device(client, seeds, server)
    return seeds


async def query_own_keys(client: nio.AsyncClient) -> dict[str, Any]:
    status, answer = await call_json(
        client, "POST", KEYS_QUERY, {"device_keys": {client.user_id: []}}
    )
    if status != 200:
        raise TransientError(f"keys/query: HTTP {status} {answer.get('errcode', '')}")
    return answer


def _master_public(server: dict[str, Any], user_id: str) -> str | None:
    master = server.get("master_keys", {}).get(user_id)
    if not master:
        return None
    keys = list(master.get("keys", {}).values())
    return str(keys[0]) if keys else None


def _load_seeds(path: Path) -> CrossSigningSeeds | None:
    if not path.exists():
        return None
    return CrossSigningSeeds.from_json(json.loads(path.read_text("utf-8")))


def _recovery_text(seeds: CrossSigningSeeds) -> str:
    return RECOVERY_TEXT.format(key=encode_recovery_key(seeds.master))


def _log_foreign_identity(user_id: str, server_master: str) -> None:
    log.error(
        "Matrix: %s heeft al een cross-signing-identiteit (%s) waarvan Wijkbode de sleutel "
        "niet heeft; niet vervangen (the account already has a cross-signing identity "
        "Wijkbode holds no key for; not replacing it)",
        user_id,
        server_master,
    )


async def _upload_identity(
    client: nio.AsyncClient, seeds: CrossSigningSeeds, password: str | None
) -> None:
    body = device_signing_upload_body(seeds, client.user_id)
    status, answer = await call_json(client, "POST", DEVICE_SIGNING_UPLOAD, body)
    if status == 401 and "flows" in answer:
        if not password:
            raise PermanentError(
                "cross-signing: de server vraagt het wachtwoord; geef matrix.password één keer "
                "(the server asks for the password; give matrix.password once)"
            )
        body["auth"] = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": client.user_id},
            "password": password,
            "session": answer.get("session"),
        }
        status, answer = await call_json(client, "POST", DEVICE_SIGNING_UPLOAD, body)
    if status != 200:
        raise PermanentError(f"cross-signing upload: HTTP {status} {answer.get('errcode', '')}")
    log.info("Matrix: cross-signing keys uploaded for %s", client.user_id)


async def _sign_own_device(
    client: nio.AsyncClient, seeds: CrossSigningSeeds, server: dict[str, Any]
) -> None:
    """Sign our device with the self-signing key (and the master key with our device)."""
    user_id: str = client.user_id
    device_id: str = client.device_id
    device = server.get("device_keys", {}).get(user_id, {}).get(device_id)
    if device is None:
        raise TransientError("cross-signing: our device keys are not on the server yet")
    uploads: dict[str, Any] = {}
    if not verify_json(device, user_id, seeds.self_signing_public):
        uploads[device_id] = sign_json(
            device, user_id, seeds.self_signing_public, seeds.self_signing
        )
    master = server.get("master_keys", {}).get(user_id, {})
    device_ed25519 = device["keys"][f"ed25519:{device_id}"]
    if not _signed_by_device(master, user_id, device_id, device_ed25519):
        master_signed = dict(master)
        signature = client.olm.account.sign(_canonical_for_device(master))
        sigs = {uid: dict(s) for uid, s in master.get("signatures", {}).items()}
        sigs.setdefault(user_id, {})[f"ed25519:{device_id}"] = signature
        master_signed["signatures"] = sigs
        uploads[seeds.master_public] = master_signed
    if not uploads:
        return
    status, answer = await call_json(client, "POST", SIGNATURES_UPLOAD, {user_id: uploads})
    failures = answer.get("failures") or {}
    if status != 200 or failures:
        raise TransientError(f"cross-signing signatures: HTTP {status} {failures}")
    log.info("Matrix: device %s signed with the cross-signing identity", device_id)


def _canonical_for_device(obj: dict[str, Any]) -> str:
    return signable_bytes(obj).decode("utf-8")


def _signed_by_device(
    master: dict[str, Any], user_id: str, device_id: str, device_ed25519: str
) -> bool:
    """Whether ``master`` carries a valid signature by our device key."""
    signature = master.get("signatures", {}).get(user_id, {}).get(f"ed25519:{device_id}")
    if signature is None:
        return False
    renamed = {
        **master,
        "signatures": {user_id: {f"ed25519:{device_ed25519}": signature}},
    }
    return verify_json(renamed, user_id, device_ed25519)
