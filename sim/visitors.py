"""Who comes to the park in the demo, what each visitor does, and what the gates must answer.

A visitor is a kind (valid, expired, forged, …), a permit token and a list of steps: present the QR at
a gate, and which reasons would be right. The plan is made up front from a seeded generator, so a demo
run with the same seed sends the same visitors in the same order; only tokens are new each run (the
server signs them).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from protocol import Permit, Reason, SigningKey, encode_token, new_permit_id
from protocol.base45 import ALPHABET, b45decode
from protocol.permit import PREFIX
from sim.errors import ScenarioError

ADMITTED = frozenset({Reason.GRANTED.value, Reason.GRANTED_UNLISTED.value})
# a step's ``late`` time this close, either answer is right: the gate keeps entry times in whole seconds, and
# its answers reach the simulator a moment after it decided
LATE_MARGIN_S = 1.5

# kind → (share of the visitors, party is a group)
KINDS: dict[str, float] = {
    "valid": 0.30,
    "group": 0.22,
    "expired": 0.05,
    "not_yet_valid": 0.04,
    "revoked": 0.05,
    "wrong_park": 0.05,
    "forged_key": 0.03,
    "forged_signature": 0.03,
    "altered": 0.04,
    "not_a_permit": 0.02,
    "reused": 0.06,
    "already_inside": 0.05,
    "unlisted": 0.06,
}
REFUSED_AS: dict[str, str] = {
    "expired": Reason.EXPIRED.value,
    "not_yet_valid": Reason.NOT_YET_VALID.value,
    "revoked": Reason.REVOKED.value,
    "wrong_park": Reason.WRONG_PARK.value,
    "forged_key": Reason.UNKNOWN_KEY.value,
    "forged_signature": Reason.BAD_SIGNATURE.value,
    "altered": Reason.BAD_SIGNATURE.value,
    "not_a_permit": Reason.MALFORMED.value,
}


@dataclass
class Step:
    """Present the visitor's QR at ``gate``; right if the gate answers one of ``expect``."""

    visitor: Visitor
    gate: str
    expect: frozenset[str]
    at: float  # planned, seconds after the start of the day
    after_previous_s: float = 0.0  # at least this long after the visitor's previous step was answered
    after_first_s: float = 0.0  # at least this long after the visitor's first step was answered
    answer: str | None = None  # the reason the gate gave, "no_decision" if it never read the QR
    answered_at: float | None = None  # monotonic
    tries: int = 0
    reader: str = ""  # card steps: the gate's reader the card is tapped on (see sim.cardholders)
    same_turn: bool = False  # right after the previous step, at the same lane, before anybody else
    # (seconds, reasons): answered this long after the visitor's first step, the gate gives these reasons
    # instead (a showing it missed is shown again, and by then the passback timeout may have run out)
    late: tuple[float, frozenset[str]] | None = None

    @property
    def expected(self) -> frozenset[str]:
        """The right answers given when this step was answered; close to ``late``'s time either is right (the
        gate's clock, not the simulator's, decides)."""
        first = self.visitor.steps[0].answered_at
        if self.late is None or first is None or self.answered_at is None:
            return self.expect
        after_s, reasons = self.late
        elapsed = self.answered_at - first
        if elapsed < after_s - LATE_MARGIN_S:
            return self.expect
        return reasons if elapsed > after_s + LATE_MARGIN_S else self.expect | reasons

    @property
    def ok(self) -> bool:
        return self.answer in self.expected

    def describe(self) -> dict[str, object]:
        described: dict[str, object] = {
            "visitor": self.visitor.index,
            "kind": self.visitor.kind,
            "permit": self.visitor.permit_id,
            "gate": self.gate,
            "expected": sorted(self.expected),
            "got": self.answer,
            "tries": self.tries,
        }
        if self.visitor.card_uid is not None:
            described["card"] = self.visitor.card_uid
            described["reader"] = self.reader
        return described


@dataclass
class Visitor:
    index: int
    kind: str
    party: tuple[int, int, int]
    entry_gate: str
    token: str | None = None  # None until issued (unlisted visitors get theirs during the network cut)
    permit_id: str | None = None
    steps: list[Step] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def people(self) -> int:
        return sum(self.party)

    @property
    def card_uid(self) -> str | None:
        """The card this visitor taps instead of showing a QR (card holders, ``sim.cardholders``)."""
        return None

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)


@dataclass(frozen=True)
class Timing:
    """The demo's clock: the whole day fits in ``duration_s`` of real time."""

    duration_s: float
    debounce_s: float
    passback_s: float
    cut_from_s: float
    cut_to_s: float


def _kind_counts(total: int) -> dict[str, int]:
    if total < 1:
        raise ScenarioError(f"a day needs at least one visitor, not {total}")
    counts = {kind: int(share * total) for kind, share in KINDS.items()}
    if total >= len(KINDS):
        for kind in counts:  # a small run still shows every kind once
            counts[kind] = max(1, counts[kind])
    counts["valid"] += total - sum(counts.values())
    if counts["valid"] < 0:
        raise ScenarioError(f"{total} visitors are too few for this mix")
    return counts


def _party(rng: np.random.Generator, group: bool) -> tuple[int, int, int]:
    if not group:
        return (1, 0, 0)
    adults = int(rng.integers(1, 5))
    children = int(rng.integers(0, 4))
    exempt = int(rng.random() < 0.2)
    if adults + children + exempt < 2:
        children += 1
    return (adults, children, exempt)


def plan_visitors(
    rng: np.random.Generator, total: int, entry_gates: list[str], exit_gate: str, cut_gate: str, timing: Timing
) -> list[Visitor]:
    """The day's visitors with their steps, sorted by arrival."""
    counts = _kind_counts(total)
    kinds = [kind for kind, n in counts.items() for _ in range(n)]
    rng.shuffle(kinds)
    d = timing.duration_s
    late = d * 0.72  # visitors stop arriving here so everybody is out before the end
    visitors: list[Visitor] = []
    for index, kind in enumerate(kinds):
        gate = entry_gates[int(rng.integers(0, len(entry_gates)))]
        if kind == "unlisted":
            # arrives at the cut gate while it is offline and after the permit was issued
            gate = cut_gate
            arrive = float(rng.uniform(timing.cut_from_s + 1.0, max(timing.cut_from_s + 1.5, timing.cut_to_s - 3.0)))
        elif kind == "reused":
            arrive = float(rng.uniform(0.02 * d, max(0.03 * d, late - timing.passback_s - 4.0)))
        else:
            arrive = float(rng.uniform(0.02 * d, late))
        visitor = Visitor(index, kind, _party(rng, kind in ("group", "unlisted") and rng.random() < 0.7), gate)
        if kind == "group" and visitor.people < 2:
            visitor.party = (2, 1, 0)
        stay = float(rng.uniform(0.08, 0.2) * d)
        exit_at = min(arrive + stay, 0.9 * d)
        granted = frozenset({Reason.GRANTED.value})
        exit_ok = ADMITTED  # the exit gate may not have synced an unlisted permit yet
        steps: list[Step]
        if kind in ("valid", "group"):
            steps = [Step(visitor, gate, granted, arrive), Step(visitor, exit_gate, exit_ok, exit_at, 1.0)]
        elif kind == "unlisted":
            unlisted = frozenset({Reason.GRANTED_UNLISTED.value})
            steps = [Step(visitor, gate, unlisted, arrive), Step(visitor, exit_gate, exit_ok, exit_at, 1.0)]
        elif kind == "reused":
            # one entry a day: in, out, and back after the passback timeout → entries_used
            steps = [
                Step(visitor, gate, granted, arrive),
                Step(visitor, exit_gate, exit_ok, arrive + 3.0, 1.0),
                Step(
                    visitor,
                    gate,
                    frozenset({Reason.ENTRIES_USED.value}),
                    arrive + timing.passback_s + 3.0,
                    1.0,
                    after_first_s=timing.passback_s + 1.5,
                ),
            ]
        elif kind == "already_inside":
            # in, and in again at once (a friend borrowing the QR) → already_inside; then out. "At once" is
            # past the gate's debounce counted from the first showing's last frame, which a loaded machine's
            # camera thread may push a second late: 3 s of margin, well inside the passback timeout. A showing
            # the gate could not read is shown again later, past the timeout: then the one entry is used up
            again = timing.debounce_s + 3.0
            used_up = (timing.passback_s, frozenset({Reason.ENTRIES_USED.value}))
            steps = [
                Step(visitor, gate, granted, arrive),
                Step(
                    visitor,
                    gate,
                    frozenset({Reason.ALREADY_INSIDE.value}),
                    arrive + again,
                    again,
                    same_turn=True,
                    late=used_up,
                ),
                Step(visitor, exit_gate, exit_ok, max(exit_at, arrive + again + 2.0), 1.0),
            ]
        else:
            steps = [Step(visitor, gate, frozenset({REFUSED_AS[kind]}), arrive)]
        visitor.steps = steps
        visitors.append(visitor)
    visitors.sort(key=lambda v: v.steps[0].at)
    return visitors


def forge_with_unknown_key(park: str, now: int, rng: np.random.Generator) -> str:
    """A well-formed permit signed by a key nobody published → unknown_key."""
    key = SigningKey.generate(kid=f"rogue{int(rng.integers(0, 10**6))}")
    return encode_token(_permit(park, now), key)


def forge_with_known_kid(park: str, now: int, kid: str) -> str:
    """A permit that claims the server's key id but is signed with another key → bad_signature."""
    return encode_token(_permit(park, now), SigningKey.generate(kid=kid))


def _permit(park: str, now: int) -> Permit:
    return Permit(new_permit_id(), park, now - 3600, now + 86400, (2, 0, 0), now - 3600, entries_per_day=1)


def alter_signature(token: str, rng: np.random.Generator) -> str:
    """Change one character inside the signature, keeping valid Base45 → bad_signature."""
    body = token[len(PREFIX) :]
    # the signature is the last 64 bytes (~96 characters); stay clear of a trailing partial triplet
    last_full = (len(body) // 3) * 3 - 3
    for _ in range(200):
        start = int(rng.integers(last_full - 60, last_full)) // 3 * 3
        old = body[start]
        new = ALPHABET[int(rng.integers(0, len(ALPHABET)))]
        if new == old:
            continue
        candidate = body[:start] + new + body[start + 1 :]
        try:
            b45decode(candidate[start : start + 3])
        except ValueError:
            continue
        return PREFIX + candidate
    raise ScenarioError("could not alter the token's signature")
