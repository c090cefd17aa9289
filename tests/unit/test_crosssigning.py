"""Cross-signing's pure parts: canonical JSON, signatures, key objects, the recovery key."""

from __future__ import annotations

from connectors.matrix.crosssigning import (
    CrossSigningSeeds,
    base58_decode,
    base58_encode,
    canonical_json,
    decode_recovery_key,
    device_signing_upload_body,
    encode_recovery_key,
    sign_json,
    unpadded_b64decode,
    unpadded_b64encode,
    verify_json,
)

# The signing key of the spec's appendix "Signing JSON" examples.
SPEC_SEED = unpadded_b64decode("YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1")


def test_canonical_json_sorts_keys_drops_spaces_and_keeps_utf8() -> None:
    value = {"b": 2, "a": {"d": [1, "ü"], "c": None}, "日本": "語"}
    expected = '{"a":{"c":null,"d":[1,"ü"]},"b":2,"日本":"語"}'.encode()
    assert expected == canonical_json(value)


def test_unpadded_base64_round_trips_without_padding() -> None:
    assert unpadded_b64encode(b"ab") == "YWI"
    assert unpadded_b64decode("YWI") == b"ab"


def test_signature_of_empty_object_matches_spec_example() -> None:
    signed = sign_json({}, "domain", "1", SPEC_SEED)
    expected = (
        "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ"
    )
    assert {"domain": {"ed25519:1": expected}} == signed["signatures"]


def test_signature_of_object_matches_spec_example() -> None:
    signed = sign_json({"one": 1, "two": "Two"}, "domain", "1", SPEC_SEED)
    expected = (
        "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw"
    )
    assert expected == signed["signatures"]["domain"]["ed25519:1"]


def test_signing_ignores_existing_signatures_and_unsigned() -> None:
    seeds = CrossSigningSeeds.generate()
    obj = {"x": 1, "unsigned": {"age": 5}, "signatures": {"@o:hs": {"ed25519:K": "sig"}}}
    signed = sign_json(obj, "@u:hs", seeds.master_public, seeds.master)
    assert "unsigned" not in signed
    assert signed["signatures"]["@o:hs"] == {"ed25519:K": "sig"}
    assert verify_json(signed, "@u:hs", seeds.master_public)


def test_verify_rejects_a_changed_object() -> None:
    seeds = CrossSigningSeeds.generate()
    signed = sign_json({"x": 1}, "@u:hs", seeds.master_public, seeds.master)
    assert not verify_json({**signed, "x": 2}, "@u:hs", seeds.master_public)


def test_upload_body_self_and_user_signing_keys_are_signed_by_master() -> None:
    seeds = CrossSigningSeeds.generate()
    body = device_signing_upload_body(seeds, "@bot:hs")
    master = body["master_key"]
    assert {f"ed25519:{seeds.master_public}": seeds.master_public} == master["keys"]
    assert master["usage"] == ["master"]
    assert body["self_signing_key"]["usage"] == ["self_signing"]
    assert body["user_signing_key"]["usage"] == ["user_signing"]
    assert verify_json(body["self_signing_key"], "@bot:hs", seeds.master_public)
    assert verify_json(body["user_signing_key"], "@bot:hs", seeds.master_public)


def test_seeds_round_trip_through_json() -> None:
    seeds = CrossSigningSeeds.generate()
    assert seeds == CrossSigningSeeds.from_json(seeds.to_json())


def test_base58_keeps_leading_zero_bytes() -> None:
    data = b"\x00\x00\x01\xff"
    assert data == base58_decode(base58_encode(data))
    assert base58_encode(data).startswith("11")


def test_recovery_key_has_matrix_shape_and_round_trips() -> None:
    key = bytes(range(32))
    text = encode_recovery_key(key)
    groups = text.split(" ")
    assert all(len(group) == 4 for group in groups[:-1])
    assert text.startswith("E")  # every 0x8B 0x01-prefixed key starts with "E"
    assert key == decode_recovery_key(text)


def test_recovery_key_with_a_typo_is_refused() -> None:
    text = encode_recovery_key(bytes(32))
    broken = text[:-1] + ("2" if text[-1] != "2" else "3")
    try:
        decode_recovery_key(broken)
    except ValueError:
        refused = True
    else:
        refused = False
    assert refused
