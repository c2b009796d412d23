from __future__ import annotations

import base64
import contextlib

import base45 as pypi_base45  # independent implementation of RFC 9285
import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given
from hypothesis import strategies as st

from protocol import (
    BadSignature,
    Keyring,
    MalformedToken,
    Permit,
    Reason,
    SigningKey,
    UnknownKey,
    encode_token,
    new_permit_id,
    permit_id_bytes,
    permit_id_text,
    verify_token,
)
from protocol.base45 import b45decode, b45encode


def make_permit(**changes: object) -> Permit:
    fields: dict[str, object] = {
        "id": bytes(range(10)),
        "park": "altyn-emel",
        "valid_from": 1_790_000_000,
        "valid_until": 1_790_086_400,
        "party": (2, 1, 0),
        "issued_at": 1_789_990_000,
        "plate": "123ABC02",
        "entries_per_day": 1,
        "category": "standard",
    }
    fields.update(changes)
    return Permit(**fields)  # type: ignore[arg-type]


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.generate("k2026a")


def test_round_trip(key: SigningKey) -> None:
    permit = make_permit()
    token = encode_token(permit, key)
    assert token.startswith("PK1:")
    verified = verify_token(token, Keyring([key.public]))
    assert verified.permit == permit
    assert verified.kid == "k2026a"


def test_token_is_qr_alphanumeric_and_short(key: SigningKey) -> None:
    token = encode_token(make_permit(), key)
    assert set(token) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    assert len(token) < 300


def test_independent_decoder_verifies_the_contract(key: SigningKey) -> None:
    """Decode with plain base45 (PyPI), cbor2 and cryptography, following DESIGN.md and RFC 9052 only."""
    token = encode_token(make_permit(), key)
    cose = cbor2.loads(pypi_base45.b45decode(token.removeprefix("PK1:")))
    assert isinstance(cose, cbor2.CBORTag) and cose.tag == 18
    protected, unprotected, payload, signature = cose.value
    header = cbor2.loads(protected)
    assert header == {1: -8, 4: b"k2026a"}
    assert unprotected == {}
    jwk = Keyring([key.public]).to_jwks()["keys"][0]
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and jwk["kid"] == "k2026a"
    public = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(jwk["x"] + "=="))
    public.verify(signature, cbor2.dumps(["Signature1", protected, b"", payload]))  # raises if wrong
    claims = cbor2.loads(payload)
    assert claims == {
        1: 1,
        2: bytes(range(10)),
        3: "altyn-emel",
        4: 1_790_000_000,
        5: 1_790_086_400,
        6: [2, 1, 0],
        7: "123ABC02",
        8: 1,
        9: "standard",
        10: 1_789_990_000,
    }


def test_unknown_key_and_bad_signature(key: SigningKey) -> None:
    token = encode_token(make_permit(), key)
    with pytest.raises(UnknownKey) as unknown:
        verify_token(token, Keyring([]))
    assert unknown.value.reason is Reason.UNKNOWN_KEY
    impostor = SigningKey.generate("k2026a")  # same kid, other key
    with pytest.raises(BadSignature) as bad:
        verify_token(encode_token(make_permit(), impostor), Keyring([key.public]))
    assert bad.value.reason is Reason.BAD_SIGNATURE


def test_key_outside_its_validity_is_not_trusted() -> None:
    key = SigningKey.generate("old")
    retired = SigningKey(key.kid, key.private, not_before=0, not_after=1_700_000_000)
    token = encode_token(make_permit(issued_at=1_789_990_000), retired)
    with pytest.raises(UnknownKey):
        verify_token(token, Keyring([retired.public]))


def test_altered_payload_is_refused(key: SigningKey) -> None:
    token = encode_token(make_permit(), key)
    cose = cbor2.loads(b45decode(token[4:]))
    protected, unprotected, payload, signature = cose.value
    claims = cbor2.loads(payload)
    claims[6] = [20, 0, 0]
    forged = cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, cbor2.dumps(claims), signature]))
    with pytest.raises(BadSignature):
        verify_token("PK1:" + b45encode(forged), Keyring([key.public]))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "PK1:",
        "HC1:ABC",
        "PK1:abc",
        "PK1:" + b45encode(b"\xff\xff"),
        "PK1:" + "A" * 2000,
        "PK1:" + b45encode(cbor2.dumps([1, 2, 3, 4])),
    ],
)
def test_malformed(text: str, key: SigningKey) -> None:
    with pytest.raises(MalformedToken) as err:
        verify_token(text, Keyring([key.public]))
    assert err.value.reason is Reason.MALFORMED


def test_signed_but_invalid_claims_are_malformed(key: SigningKey) -> None:
    """A trusted key signing nonsense (a server bug) still never yields a permit."""
    protected = cbor2.dumps({1: -8, 4: key.kid.encode()})
    payload = cbor2.dumps({1: 1, 2: b"short"})
    signature = key.sign(cbor2.dumps(["Signature1", protected, b"", payload]))
    token = "PK1:" + b45encode(cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature])))
    with pytest.raises(MalformedToken):
        verify_token(token, Keyring([key.public]))


@given(st.binary(max_size=300))
def test_base45_matches_independent_implementation(data: bytes) -> None:
    assert b45encode(data) == pypi_base45.b45encode(data).decode()
    assert b45decode(b45encode(data)) == data


@given(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", max_size=60))
def test_base45_decode_never_crashes(text: str) -> None:
    with contextlib.suppress(ValueError):  # refusing is the right answer for most random text
        b45decode(text)


def test_permit_id_text_round_trip() -> None:
    pid = new_permit_id()
    text = permit_id_text(pid)
    assert len(text) == 16 and text == text.lower()
    assert permit_id_bytes(text) == pid
    with pytest.raises(ValueError):
        permit_id_bytes("not-a-permit-id!")


def test_rewrapped_genuine_token_is_not_a_permit(key: SigningKey) -> None:
    """The unprotected header is unsigned: a genuine token re-wrapped with header content must not verify."""
    token = encode_token(make_permit(), key)
    protected, _unprotected, payload, signature = cbor2.loads(b45decode(token[4:])).value
    rewrapped = cbor2.dumps(cbor2.CBORTag(18, [protected, {99: "x"}, payload, signature]))
    with pytest.raises(MalformedToken, match="canonical"):
        verify_token("PK1:" + b45encode(rewrapped), Keyring([key.public]))


def test_a_party_larger_than_any_gate_counts_is_malformed(key: SigningKey) -> None:
    token = encode_token(make_permit(party=(1001, 0, 0)), key)
    with pytest.raises(MalformedToken, match="at most"):
        verify_token(token, Keyring([key.public]))
