"""Permit token v1 (DESIGN.md): ``PK1:`` + Base45(COSE_Sign1 over a CBOR claims map), Ed25519, kid protected.

Encoding and verifying live here; policy (validity windows, revocation, capacity) is the gate's ``decide()``.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field

import cbor2

from protocol.base45 import b45decode, b45encode
from protocol.errors import BadSignature, MalformedToken, UnknownKey
from protocol.keyring import Keyring, SigningKey

PREFIX = "PK1:"
VERSION = 1
COSE_SIGN1_TAG = 18
ALG_EDDSA = -8
HDR_ALG, HDR_KID = 1, 4
PERMIT_ID_BYTES = 10
MAX_PARTY = 1000  # people on one permit; events count at most this many through a gate at once
MAX_TOKEN_CHARS = 1024  # a v1 token is ~250 characters; anything far longer is not one of ours

# claim keys
C_VERSION, C_ID, C_PARK, C_FROM, C_UNTIL, C_PARTY, C_PLATE, C_ENTRIES, C_CATEGORY, C_ISSUED = range(1, 11)


def new_permit_id() -> bytes:
    return secrets.token_bytes(PERMIT_ID_BYTES)


def permit_id_text(permit_id: bytes) -> str:
    """The permit id as people and URLs see it: 16 characters of lowercase base32."""
    return base64.b32encode(permit_id).decode("ascii").lower()


def permit_id_bytes(text: str) -> bytes:
    """Inverse of ``permit_id_text``; raises ValueError on anything that is not a permit id."""
    if len(text) != 16:
        raise ValueError("a permit id has 16 characters")
    try:
        return base64.b32decode(text.upper())
    except ValueError as err:
        raise ValueError("a permit id is base32") from err


@dataclass(frozen=True)
class Permit:
    """The claims of a permit token."""

    id: bytes
    park: str
    valid_from: int
    valid_until: int
    party: tuple[int, int, int]  # adults, children, exempt
    issued_at: int
    plate: str | None = None
    entries_per_day: int = 0  # 0 = unlimited
    category: str = "standard"

    @property
    def id_text(self) -> str:
        return permit_id_text(self.id)

    @property
    def people(self) -> int:
        return sum(self.party)

    def claims(self) -> dict[int, object]:
        claims: dict[int, object] = {
            C_VERSION: VERSION,
            C_ID: self.id,
            C_PARK: self.park,
            C_FROM: self.valid_from,
            C_UNTIL: self.valid_until,
            C_PARTY: list(self.party),
            C_ENTRIES: self.entries_per_day,
            C_CATEGORY: self.category,
            C_ISSUED: self.issued_at,
        }
        if self.plate is not None:
            claims[C_PLATE] = self.plate
        return claims

    @classmethod
    def from_claims(cls, claims: object) -> Permit:
        """Validate a decoded claims map; raises MalformedToken naming the first bad claim."""
        if not isinstance(claims, dict):
            raise MalformedToken("payload is not a CBOR map")

        def get(key: int, kind: type, name: str, required: bool = True) -> object:
            value = claims.get(key)
            if value is None and not required:
                return None
            # bool is an int in Python; a CBOR true is never a valid number here
            if not isinstance(value, kind) or isinstance(value, bool):
                raise MalformedToken(f"claim {key} ({name}) must be {kind.__name__}")
            return value

        if get(C_VERSION, int, "version") != VERSION:
            raise MalformedToken(f"unsupported token version {claims.get(C_VERSION)!r}")
        permit_id = get(C_ID, bytes, "permit id")
        assert isinstance(permit_id, bytes)
        if len(permit_id) != PERMIT_ID_BYTES:
            raise MalformedToken(f"permit id must be {PERMIT_ID_BYTES} bytes")
        party = get(C_PARTY, list, "party")
        assert isinstance(party, list)
        if len(party) != 3 or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in party):
            raise MalformedToken("party must be [adults, children, exempt] of non-negative ints")
        if sum(party) > MAX_PARTY:
            raise MalformedToken(f"a party has at most {MAX_PARTY} people")
        entries = get(C_ENTRIES, int, "entries per day")
        assert isinstance(entries, int)
        if entries < 0:
            raise MalformedToken("entries per day must not be negative")
        park, category, plate = (
            get(C_PARK, str, "park"),
            get(C_CATEGORY, str, "category"),
            get(C_PLATE, str, "plate", required=False),
        )
        valid_from, valid_until, issued = (
            get(C_FROM, int, "valid from"),
            get(C_UNTIL, int, "valid until"),
            get(C_ISSUED, int, "issued at"),
        )
        assert isinstance(park, str) and isinstance(category, str)
        assert isinstance(valid_from, int) and isinstance(valid_until, int) and isinstance(issued, int)
        assert plate is None or isinstance(plate, str)
        if valid_until < valid_from:
            raise MalformedToken("valid until is before valid from")
        return cls(
            id=permit_id,
            park=park,
            valid_from=valid_from,
            valid_until=valid_until,
            party=(party[0], party[1], party[2]),
            issued_at=issued,
            plate=plate,
            entries_per_day=entries,
            category=category,
        )


@dataclass(frozen=True)
class VerifiedPermit:
    permit: Permit
    kid: str
    token: str = field(repr=False)


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    return cbor2.dumps(["Signature1", protected, b"", payload])


def encode_token(permit: Permit, key: SigningKey) -> str:
    """Sign ``permit`` and return the QR text."""
    protected = cbor2.dumps({HDR_ALG: ALG_EDDSA, HDR_KID: key.kid.encode("utf-8")})
    payload = cbor2.dumps(permit.claims())
    signature = key.sign(_sig_structure(protected, payload))
    cose = cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))
    return PREFIX + b45encode(cose)


def verify_token(token: str, keyring: Keyring) -> VerifiedPermit:
    """Decode and verify a QR text; raises a TokenError whose ``reason`` is the gate's reason code.

    Order matters: structure first (malformed), then the key (unknown_key), then the signature
    (bad_signature), and only a verified payload is interpreted as claims.
    """
    if not isinstance(token, str) or not token.startswith(PREFIX):
        raise MalformedToken("not a Qaqpa permit (no PK1: prefix)")
    if len(token) > MAX_TOKEN_CHARS:
        raise MalformedToken("token too long")
    try:
        raw = b45decode(token[len(PREFIX) :])
        cose = cbor2.loads(raw)
    except (ValueError, cbor2.CBORDecodeError) as err:
        raise MalformedToken(f"cannot decode token: {err}") from err
    if not isinstance(cose, cbor2.CBORTag) or cose.tag != COSE_SIGN1_TAG:
        raise MalformedToken("not a COSE_Sign1 structure")
    parts = cose.value
    # cbor2 hands a tagged array back as a tuple, a plain one as a list
    if not (isinstance(parts, list | tuple) and len(parts) == 4):
        raise MalformedToken("COSE_Sign1 must have four parts")
    protected, _unprotected, payload, signature = parts
    if not all(isinstance(p, bytes) for p in (protected, payload, signature)):
        raise MalformedToken("COSE_Sign1 parts have wrong types")
    # The unprotected header is not signed: without this check one genuine permit could travel under many
    # texts (other header content, other CBOR length encodings). Only the server's exact encoding is a permit.
    if raw != cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature])):
        raise MalformedToken("token is not in canonical form (altered unsigned parts)")
    try:
        header = cbor2.loads(protected)
    except (ValueError, cbor2.CBORDecodeError) as err:
        raise MalformedToken("protected header is not CBOR") from err
    if not isinstance(header, dict) or header.get(HDR_ALG) != ALG_EDDSA:
        raise MalformedToken("algorithm must be EdDSA (-8)")
    kid_raw = header.get(HDR_KID)
    if not isinstance(kid_raw, bytes):
        raise MalformedToken("kid missing from the protected header")
    kid = kid_raw.decode("utf-8", errors="replace")
    key = keyring.get(kid)
    if key is None:
        raise UnknownKey(f"key {kid!r} is not trusted")
    if len(signature) != 64 or not key.verify(signature, _sig_structure(protected, payload)):
        raise BadSignature("signature does not verify")
    try:
        claims = cbor2.loads(payload)
    except (ValueError, cbor2.CBORDecodeError) as err:
        raise MalformedToken("payload is not CBOR") from err
    permit = Permit.from_claims(claims)
    if not key.trusts_at(permit.issued_at):
        raise UnknownKey(f"key {kid!r} was not valid when this permit was issued")
    return VerifiedPermit(permit, kid, token)
