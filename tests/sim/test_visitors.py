from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from protocol import BadSignature, Keyring, Permit, SigningKey, UnknownKey, encode_token, new_permit_id, verify_token
from sim.errors import ScenarioError
from sim.visitors import (
    KINDS,
    Timing,
    alter_signature,
    forge_with_known_kid,
    forge_with_unknown_key,
    plan_visitors,
)

SERVER_KEY = SigningKey.generate(kid="server-key")
KEYRING = Keyring([SERVER_KEY.public])
TIMING = Timing(duration_s=120.0, debounce_s=2.0, passback_s=12.0, cut_from_s=42.0, cut_to_s=72.0)


def test_the_plan_has_every_kind_and_is_reproducible() -> None:
    def plan(seed: int) -> list[tuple[str, tuple[int, int, int], str]]:
        visitors = plan_visitors(np.random.default_rng(seed), 60, ["entry-1", "entry-2"], "exit", "entry-1", TIMING)
        return [(v.kind, v.party, v.entry_gate) for v in visitors]

    first = plan(5)
    assert first == plan(5)
    assert first != plan(6)
    kinds = Counter(kind for kind, _, _ in first)
    assert set(kinds) == set(KINDS)
    assert sum(kinds.values()) == 60


def test_steps_follow_the_rules_of_the_gates() -> None:
    visitors = plan_visitors(np.random.default_rng(1), 200, ["entry-1", "entry-2"], "exit", "entry-1", TIMING)
    for visitor in visitors:
        times = [step.at for step in visitor.steps]
        assert times == sorted(times)
        assert visitor.steps[0].gate.startswith("entry-")
        if visitor.kind == "unlisted":
            assert visitor.steps[0].gate == "entry-1"
            assert TIMING.cut_from_s < visitor.steps[0].at < TIMING.cut_to_s
        if visitor.kind == "reused":
            assert visitor.steps[2].after_first_s > TIMING.passback_s
            assert visitor.steps[2].gate == visitor.steps[0].gate  # usage is what that gate remembers
        if visitor.kind == "already_inside":
            assert visitor.steps[1].after_previous_s > TIMING.debounce_s
        if visitor.kind == "group":
            assert visitor.people >= 2
        assert visitor.steps[-1].at <= TIMING.duration_s


@pytest.mark.parametrize(
    ("after_s", "answer", "ok"),
    [
        (5.0, "already_inside", True),
        (5.0, "entries_used", False),
        (12.5, "already_inside", True),  # close to the timeout: the gate's clock decides
        (12.5, "entries_used", True),
        (14.0, "already_inside", False),
        (14.0, "entries_used", True),
        (14.0, "granted", False),
    ],
)
def test_a_friend_showing_the_qr_again_is_judged_by_when_the_gate_answered(
    after_s: float, answer: str, ok: bool
) -> None:
    visitor = next(
        v
        for v in plan_visitors(np.random.default_rng(1), 200, ["entry-1", "entry-2"], "exit", "entry-1", TIMING)
        if v.kind == "already_inside"
    )
    first, again = visitor.steps[:2]
    first.answer, first.answered_at = "granted", 100.0
    again.answer, again.answered_at = answer, 100.0 + after_s
    assert again.ok is ok
    assert again.describe()["got"] == answer


def test_forged_and_altered_tokens_are_refused_with_the_reason_the_demo_expects() -> None:
    rng = np.random.default_rng(2)
    with pytest.raises(UnknownKey):
        verify_token(forge_with_unknown_key("altyn-emel", 1_700_000_000, rng), KEYRING)
    with pytest.raises(BadSignature):
        verify_token(forge_with_known_kid("altyn-emel", 1_700_000_000, SERVER_KEY.kid), KEYRING)
    for _ in range(50):
        permit = Permit(new_permit_id(), "altyn-emel", 1, 2, (1, 0, 0), 1)
        genuine = encode_token(permit, SERVER_KEY)
        altered = alter_signature(genuine, rng)
        assert altered != genuine and len(altered) == len(genuine)
        with pytest.raises(BadSignature):
            verify_token(altered, KEYRING)


def test_too_few_visitors_for_the_mix_are_refused() -> None:
    with pytest.raises(ScenarioError, match="at least one visitor"):
        plan_visitors(np.random.default_rng(0), 0, ["entry-1"], "exit", "entry-1", TIMING)
