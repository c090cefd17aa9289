"""Cross-signing keys, pure: key objects, canonical JSON, signatures, the recovery key.

matrix-nio cannot cross-sign, so Wijkbode does it itself with Ed25519 from
PyNaCl, following the client-server spec ("Cross-signing", "Signing JSON").
Nothing here does I/O; ``identity.py`` talks to the homeserver.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

SEED_BYTES = 32
RECOVERY_KEY_PREFIX = bytes([0x8B, 0x01])
_BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def canonical_json(value: Any) -> bytes:
    """The spec's canonical JSON: sorted keys, no whitespace, UTF-8 (not ASCII-escaped)."""
    return json.dumps(
        value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
    ).encode("utf-8")


def unpadded_b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def unpadded_b64decode(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def signable_bytes(obj: dict[str, Any]) -> bytes:
    """What is signed: the object without ``signatures`` and ``unsigned``."""
    return canonical_json({k: v for k, v in obj.items() if k not in ("signatures", "unsigned")})


def public_key_b64(seed: bytes) -> str:
    return unpadded_b64encode(bytes(SigningKey(seed).verify_key))


def sign_json(obj: dict[str, Any], user_id: str, key_id: str, seed: bytes) -> dict[str, Any]:
    """A copy of ``obj`` with our signature under ``signatures[user_id]["ed25519:"+key_id]``."""
    signature = SigningKey(seed).sign(signable_bytes(obj)).signature
    signed = dict(obj)
    signed.pop("unsigned", None)
    signatures = {uid: dict(sigs) for uid, sigs in obj.get("signatures", {}).items()}
    signatures.setdefault(user_id, {})[f"ed25519:{key_id}"] = unpadded_b64encode(signature)
    signed["signatures"] = signatures
    return signed


def verify_json(obj: dict[str, Any], user_id: str, public_key: str) -> bool:
    """True when ``obj`` carries a valid signature by ``public_key`` (unpadded base64)."""
    signature = obj.get("signatures", {}).get(user_id, {}).get(f"ed25519:{public_key}")
    if signature is None:
        return False
    try:
        VerifyKey(unpadded_b64decode(public_key)).verify(
            signable_bytes(obj), unpadded_b64decode(signature)
        )
    except (BadSignatureError, ValueError):
        return False
    return True


@dataclass(frozen=True, slots=True)
class CrossSigningSeeds:
    """The three private Ed25519 seeds of one cross-signing identity."""

    master: bytes
    self_signing: bytes
    user_signing: bytes

    @classmethod
    def generate(cls) -> CrossSigningSeeds:
        return cls(*(secrets.token_bytes(SEED_BYTES) for _ in range(3)))

    def to_json(self) -> dict[str, str]:
        return {
            "master": unpadded_b64encode(self.master),
            "self_signing": unpadded_b64encode(self.self_signing),
            "user_signing": unpadded_b64encode(self.user_signing),
        }

    @classmethod
    def from_json(cls, data: dict[str, str]) -> CrossSigningSeeds:
        seeds = [
            unpadded_b64decode(data[name]) for name in ("master", "self_signing", "user_signing")
        ]
        if any(len(seed) != SEED_BYTES for seed in seeds):
            raise ValueError("a cross-signing seed is not 32 bytes")
        return cls(*seeds)

    @property
    def master_public(self) -> str:
        return public_key_b64(self.master)

    @property
    def self_signing_public(self) -> str:
        return public_key_b64(self.self_signing)

    @property
    def user_signing_public(self) -> str:
        return public_key_b64(self.user_signing)


def _key_object(user_id: str, usage: str, public: str) -> dict[str, Any]:
    return {"user_id": user_id, "usage": [usage], "keys": {f"ed25519:{public}": public}}


def device_signing_upload_body(seeds: CrossSigningSeeds, user_id: str) -> dict[str, Any]:
    """The body of ``POST /keys/device_signing/upload``: master, self- and user-signing keys."""
    master = _key_object(user_id, "master", seeds.master_public)
    self_signing = sign_json(
        _key_object(user_id, "self_signing", seeds.self_signing_public),
        user_id,
        seeds.master_public,
        seeds.master,
    )
    user_signing = sign_json(
        _key_object(user_id, "user_signing", seeds.user_signing_public),
        user_id,
        seeds.master_public,
        seeds.master,
    )
    return {
        "master_key": master,
        "self_signing_key": self_signing,
        "user_signing_key": user_signing,
    }


def base58_encode(data: bytes) -> str:
    """Bitcoin-alphabet base58, leading zero bytes kept as ``1``."""
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, remainder = divmod(number, 58)
        digits.append(_BASE58_ALPHABET[remainder])
    zeros = len(data) - len(data.lstrip(b"\x00"))
    return "1" * zeros + "".join(reversed(digits))


def base58_decode(text: str) -> bytes:
    number = 0
    for char in text:
        number = number * 58 + _BASE58_ALPHABET.index(char)
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\x00" * zeros + body


def encode_recovery_key(key: bytes) -> str:
    """Matrix recovery-key format: 0x8B 0x01, the key, an XOR parity byte; base58 in groups of 4."""
    raw = RECOVERY_KEY_PREFIX + key
    parity = 0
    for byte in raw:
        parity ^= byte
    encoded = base58_encode(raw + bytes([parity]))
    return " ".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def decode_recovery_key(text: str) -> bytes:
    """The key inside a recovery key; ValueError when the prefix or parity is wrong."""
    raw = base58_decode("".join(text.split()))
    parity = 0
    for byte in raw:
        parity ^= byte
    if not raw.startswith(RECOVERY_KEY_PREFIX) or parity != 0 or len(raw) != 3 + SEED_BYTES:
        raise ValueError("not a valid recovery key")
    return raw[len(RECOVERY_KEY_PREFIX) : -1]
