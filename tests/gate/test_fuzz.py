"""Hypothesis: random and mutated tokens never crash the decoder or decide(), and nothing forged gets in."""

from __future__ import annotations

import cbor2
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gate.credentials import QrCredential
from gate.decision import decide
from gate.store import GateStore
from protocol import Keyring, Permit, Reason, SigningKey, TokenError, encode_token, verify_token
from protocol.base45 import ALPHABET, b45decode, b45encode
from tests.gate.world import NOW, entry_policy, exit_policy, make_permit, sync_page

# one genuine permit, signed by the gate's trusted key, listed in the store
TRUSTED = SigningKey.generate("k1")
GENUINE = make_permit(entries_per_day=2)
GENUINE_TOKEN = encode_token(GENUINE, TRUSTED)
UNTRUSTED = SigningKey.generate("k1")  # same kid, other key: what a forger would try
STRANGER = SigningKey.generate("k9")

fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=300, deadline=None)


def check(store: GateStore, text: str) -> None:
    """The property every input must have, on both lanes."""
    for policy in (entry_policy(), exit_policy()):
        view = store.view(policy)
        view.refresh()
        decision = decide(QrCredential(text), view, NOW)
        assert isinstance(decision.reason, Reason)
        assert decision.granted == decision.reason.admits
        if decision.granted:
            assert text == GENUINE_TOKEN, f"admitted an altered token: {text!r}"
            assert decision.permit == GENUINE
        else:
            assert decision.detail and decision.people == 0


def listed(store: GateStore) -> GateStore:
    store.apply_sync_page(sync_page("2", [(GENUINE, False)], keys=[TRUSTED]))
    return store


def test_the_genuine_token_is_admitted(store: GateStore) -> None:
    check(listed(store), GENUINE_TOKEN)


@fixture_ok
@given(text=st.text(max_size=400))
@example(text="PK1:")
@example(text="PK1:" + "0" * 3)
def test_random_text(store: GateStore, text: str) -> None:
    check(listed(store), text)


@fixture_ok
@given(data=st.binary(max_size=400))
def test_random_bytes_as_base45(store: GateStore, data: bytes) -> None:
    check(listed(store), "PK1:" + b45encode(data))


@fixture_ok
@given(data=st.data())
def test_mutated_genuine_token(store: GateStore, data: st.DataObject) -> None:
    chars = list(GENUINE_TOKEN)
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        op = data.draw(st.sampled_from(["flip", "insert", "delete"]), label="op")
        at = data.draw(st.integers(0, len(chars) - 1), label="at")
        char = data.draw(st.sampled_from(ALPHABET + "a:"), label="char")
        if op == "flip":
            chars[at] = char
        elif op == "insert":
            chars.insert(at, char)
        elif len(chars) > 1:
            del chars[at]
    check(listed(store), "".join(chars))


claims_changes = st.fixed_dictionaries(
    {},
    optional={
        "park": st.sampled_from(["altyn-emel", "charyn", ""]),
        "valid_until": st.integers(NOW - 10**6, NOW + 10**6),
        "party": st.tuples(st.integers(0, 50), st.integers(0, 50), st.integers(0, 50)),
        "entries_per_day": st.integers(0, 5),
        "category": st.sampled_from(["standard", "vip", "staff"]),
    },
)


@fixture_ok
@given(changes=claims_changes, signer=st.sampled_from([UNTRUSTED, STRANGER]))
def test_altered_claims_resigned_with_an_untrusted_key(
    store: GateStore, changes: dict[str, object], signer: SigningKey
) -> None:
    forged = Permit(**{**GENUINE.__dict__, **changes})
    check(listed(store), encode_token(forged, signer))


@fixture_ok
@given(changes=claims_changes)
def test_altered_claims_under_the_genuine_signature(store: GateStore, changes: dict[str, object]) -> None:
    """Swap in another payload but keep the genuine protected header and signature."""
    forged = Permit(**{**GENUINE.__dict__, **changes})
    cose = cbor2.loads(b45decode(GENUINE_TOKEN[4:]))
    protected, unprotected, _payload, signature = cose.value
    swapped = cbor2.CBORTag(18, [protected, unprotected, cbor2.dumps(forged.claims()), signature])
    check(listed(store), "PK1:" + b45encode(cbor2.dumps(swapped)))


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(max_size=300), st.binary(max_size=300).map(lambda b: "PK1:" + b45encode(b))))
def test_decoder_raises_only_token_errors(text: str) -> None:
    keyring = Keyring([TRUSTED.public])
    try:
        verified = verify_token(text, keyring)
    except TokenError as err:
        assert isinstance(err.reason, Reason)
    else:
        assert text == GENUINE_TOKEN and verified.permit == GENUINE


@fixture_ok
@given(
    unprotected=st.dictionaries(st.integers(-10, 10), st.one_of(st.integers(), st.binary(max_size=8)), max_size=3),
)
def test_unsigned_header_cannot_be_altered(store: GateStore, unprotected: dict[int, object]) -> None:
    """The unprotected header is outside the signature: a re-wrapped token must still be refused."""
    cose = cbor2.loads(b45decode(GENUINE_TOKEN[4:]))
    protected, _unprotected, payload, signature = cose.value
    rewrapped = cbor2.CBORTag(18, [protected, unprotected, payload, signature])
    check(listed(store), "PK1:" + b45encode(cbor2.dumps(rewrapped)))
