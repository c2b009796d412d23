"""The protocol's exceptions.

    ProtocolError                 root of everything this package raises
    ├── TokenError                a permit token that cannot be accepted; ``reason`` is the gate's reason code
    │   ├── MalformedToken        not a PK1 token: prefix, Base45, CBOR, COSE structure or claims are wrong
    │   ├── UnknownKey            signed by a kid that is not in the keyring (or outside the key's validity)
    │   └── BadSignature          the signature does not verify
    └── KeyringError              a JWK or keyring that cannot be read

Third-party errors (binascii, cbor2, cryptography) are converted at the boundary with ``raise … from err``.
"""

from __future__ import annotations

from protocol.reasons import Reason


class ProtocolError(Exception):
    """Root of every error raised by ``protocol``."""


class TokenError(ProtocolError):
    reason: Reason = Reason.MALFORMED


class MalformedToken(TokenError):
    reason = Reason.MALFORMED


class UnknownKey(TokenError):
    reason = Reason.UNKNOWN_KEY


class BadSignature(TokenError):
    reason = Reason.BAD_SIGNATURE


class KeyringError(ProtocolError):
    """A key or key set that cannot be parsed or used."""
