"""Ed25519 permit-signing keys and the keyring gates verify with, as JWK Sets (RFC 7517, RFC 8037).

A key is trusted for permits issued inside its [not_before, not_after] window. ``nbf`` and ``exp`` are
carried as extra JWK members (unix seconds), which plain JWK consumers ignore.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from protocol.errors import KeyringError


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class PublicKey:
    kid: str
    raw: bytes  # 32-byte Ed25519 public key
    not_before: int | None = None
    not_after: int | None = None

    def trusts_at(self, issued_at: int) -> bool:
        """Whether a permit issued at ``issued_at`` may carry this key's signature."""
        if self.not_before is not None and issued_at < self.not_before:
            return False
        return self.not_after is None or issued_at <= self.not_after

    def verify(self, signature: bytes, message: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def to_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = {
            "kty": "OKP",
            "crv": "Ed25519",
            "alg": "EdDSA",
            "use": "sig",
            "kid": self.kid,
            "x": _b64url(self.raw),
        }
        if self.not_before is not None:
            jwk["nbf"] = self.not_before
        if self.not_after is not None:
            jwk["exp"] = self.not_after
        return jwk

    @classmethod
    def from_jwk(cls, jwk: dict[str, Any]) -> PublicKey:
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            raise KeyringError(f"not an Ed25519 OKP key: kty={jwk.get('kty')!r} crv={jwk.get('crv')!r}")
        kid, x = jwk.get("kid"), jwk.get("x")
        if not isinstance(kid, str) or not kid or not isinstance(x, str):
            raise KeyringError("JWK needs a string 'kid' and 'x'")
        try:
            raw = _b64url_decode(x)
        except ValueError as err:
            raise KeyringError(f"JWK {kid}: 'x' is not base64url") from err
        if len(raw) != 32:
            raise KeyringError(f"JWK {kid}: an Ed25519 key has 32 bytes, not {len(raw)}")
        nbf, exp = jwk.get("nbf"), jwk.get("exp")
        for name, value in (("nbf", nbf), ("exp", exp)):
            if value is not None and not isinstance(value, int):
                raise KeyringError(f"JWK {kid}: '{name}' must be unix seconds")
        return cls(kid=kid, raw=raw, not_before=nbf, not_after=exp)


@dataclass(frozen=True)
class SigningKey:
    """A private permit-signing key with its kid and validity window."""

    kid: str
    private: Ed25519PrivateKey
    not_before: int | None = None
    not_after: int | None = None

    @classmethod
    def generate(cls, kid: str | None = None, not_before: int | None = None) -> SigningKey:
        return cls(kid or f"k{secrets.token_hex(4)}", Ed25519PrivateKey.generate(), not_before)

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)

    @property
    def public(self) -> PublicKey:
        raw = self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return PublicKey(self.kid, raw, self.not_before, self.not_after)

    def private_bytes(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )

    @classmethod
    def from_private_bytes(
        cls, kid: str, raw: bytes, not_before: int | None = None, not_after: int | None = None
    ) -> SigningKey:
        if len(raw) != 32:
            raise KeyringError(f"an Ed25519 private key has 32 bytes, not {len(raw)}")
        return cls(kid, Ed25519PrivateKey.from_private_bytes(raw), not_before, not_after)


class Keyring:
    """The public keys a verifier trusts, by kid."""

    def __init__(self, keys: list[PublicKey] | None = None) -> None:
        self._keys = {key.kid: key for key in keys or []}

    def __contains__(self, kid: object) -> bool:
        return kid in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def get(self, kid: str) -> PublicKey | None:
        return self._keys.get(kid)

    def keys(self) -> list[PublicKey]:
        return list(self._keys.values())

    def to_jwks(self) -> dict[str, Any]:
        return {"keys": [key.to_jwk() for key in self._keys.values()]}

    @classmethod
    def from_jwks(cls, jwks: dict[str, Any]) -> Keyring:
        keys = jwks.get("keys")
        if not isinstance(keys, list):
            raise KeyringError("a JWK Set is an object with a 'keys' array")
        return cls([PublicKey.from_jwk(jwk) for jwk in keys])
