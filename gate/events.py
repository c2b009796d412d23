"""Turning a Decision into the GateEvent the store keeps and the server receives."""

from __future__ import annotations

from collections.abc import Iterable

from gate.decision import Decision
from gate.ids import uuid7_text
from protocol import GateEvent

FLAG_OFFLINE = "offline"


def make_event(decision: Decision, extra_flags: Iterable[str] = (), note: str | None = None) -> GateEvent:
    """The event for a decision; ``extra_flags`` adds what decide() cannot know (e.g. "offline")."""
    occurred_ms = int(decision.at * 1000)
    flags = list(dict.fromkeys([*decision.flags, *extra_flags]))  # ordered, no repeats
    permit = decision.permit
    return GateEvent.model_validate(
        {
            "id": uuid7_text(occurred_ms),
            "occurred_at": occurred_ms,
            "direction": decision.direction,
            "credential": decision.credential,
            "reason": decision.reason,
            "granted": decision.granted,
            "people": decision.people if decision.granted else 0,
            "permit_id": permit.id_text if permit is not None else None,
            "card_uid": decision.card_uid,
            "category": decision.category,
            "flags": flags,
            "note": note,
        }
    )
