from __future__ import annotations

import pytest

from protocol import Keyring, KeyringError, PublicKey, SigningKey


def test_jwks_round_trip_keeps_validity() -> None:
    key = SigningKey.generate("k1", not_before=100)
    public = PublicKey(key.kid, key.public.raw, 100, 200)
    ring = Keyring.from_jwks(Keyring([public]).to_jwks())
    assert ring.get("k1") == public
    assert public.trusts_at(150) and not public.trusts_at(99) and not public.trusts_at(201)


def test_private_key_round_trip() -> None:
    key = SigningKey.generate()
    again = SigningKey.from_private_bytes(key.kid, key.private_bytes())
    assert again.public == key.public


@pytest.mark.parametrize(
    "jwks",
    [
        {},
        {"keys": "no"},
        {"keys": [{"kty": "RSA", "kid": "a"}]},
        {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "a", "x": "AAAA"}]},
        {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "A" * 43}]},
        {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "a", "x": "A" * 43, "exp": "soon"}]},
    ],
)
def test_bad_jwks_are_refused(jwks: dict[str, object]) -> None:
    with pytest.raises(KeyringError):
        Keyring.from_jwks(jwks)
