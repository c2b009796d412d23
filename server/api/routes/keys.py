"""The permit-verification keys, public so anyone can verify a permit."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from server.api.deps import ConnDep
from server.signing import keyring

router = APIRouter(tags=["keys"])


@router.get("/keys")
def get_keys(conn: ConnDep) -> dict[str, Any]:
    """JWK Set (RFC 7517) of every permit-signing key (Ed25519, ``kty`` OKP)."""
    return keyring(conn).to_jwks()
