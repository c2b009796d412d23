"""Password hashing (argon2) and opaque bearer tokens, stored only as sha256 hashes."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

USER_TOKEN_PREFIX = "qu_"
DEVICE_TOKEN_PREFIX = "qd_"

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches; a corrupt hash counts as a mismatch, never as an error to the caller."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token(prefix: str) -> str:
    """A random bearer token; the prefix tells user tokens (``qu_``) from device tokens (``qd_``)."""
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: nobody can brute-force the preimage.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
