"""Turning a Decision into the GateEvent the store keeps and the server receives."""

from __future__ import annotations

from collections.abc import Iterable

from gate.decision import Decision
from gate.ids import uuid7_text
from protocol import GateEvent, permit_id_text

FLAG_OFFLINE = "offline"


def make_event(decision: Decision, extra_flags: Iterable[str] = (), note: str | None = None) -> GateEvent:
    """The event for a decision; ``extra_flags`` adds what decide() cannot know (e.g. "offline").

    ``note`` defaults to the decision's own (a ranger's reason for a manual open).
    """
    occurred_ms = int(decision.at * 1000)
    flags = list(dict.fromkeys([*decision.flags, *extra_flags]))  # ordered, no repeats
    permit_id = decision.permit_id
    return GateEvent.model_validate(
        {
            "id": uuid7_text(occurred_ms),
            "occurred_at": occurred_ms,
            "direction": decision.direction,
            "credential": decision.credential,
            "reason": decision.reason,
            "granted": decision.granted,
            "people": decision.people if decision.granted else 0,
            "permit_id": permit_id_text(permit_id) if permit_id is not None else None,
            "card_uid": decision.card_uid,
            "plate": decision.plate,
            "category": decision.category,
            "flags": flags,
            "note": decision.note if note is None else note,
        }
    )
