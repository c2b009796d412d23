"""Turning a Decision into the GateEvent the store keeps and the server receives."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from gate.decision import Decision
from gate.ids import uuid7_text
from protocol import GateEvent, normalize_plate, permit_id_text, refusal_reason

log = logging.getLogger(__name__)

FLAG_OFFLINE = "offline"
# what a decision takes from outside the gate's own making: a plate as the camera read it or a ranger typed it, a
# class or category as synced. A value no event may carry is left out, so the decision is still recorded (and the
# barrier moves), and an event an older release stored is still sent.
_LEFT_OUT_WHEN_BAD = frozenset({"plate", "category", "card_uid"})


def checked_event(fields: dict[str, Any]) -> GateEvent:
    """``fields`` as a ``protocol.GateEvent`` that a server takes.

    What a decision took from outside the gate's own making is made to fit, not allowed to stop the record: a
    plate in another form is normalised ("777 abe 01" as the ranger typed it is 777ABE01), and a plate, category
    or card uid that no event may carry (an unreadable plate's raw text, a class synced with a control
    character) is left out and logged. Anything else wrong raises ValidationError.
    """
    plate = fields.get("plate")
    if isinstance(plate, str):
        fields = fields | {"plate": normalize_plate(plate) or None}
    try:
        return GateEvent.model_validate(fields)
    except ValidationError as err:
        bad = {str(error["loc"][0]) for error in err.errors() if error["loc"]}
        if not bad or not bad <= _LEFT_OUT_WHEN_BAD:
            raise
        log.warning("event %s kept without %s: %s", fields.get("id"), ", ".join(sorted(bad)), refusal_reason(err))
        return GateEvent.model_validate(fields | dict.fromkeys(bad))


def make_event(decision: Decision, extra_flags: Iterable[str] = (), note: str | None = None) -> GateEvent:
    """The event for a decision (``checked_event``); ``extra_flags`` adds what decide() cannot know (e.g.
    "offline").

    ``note`` defaults to the decision's own (a ranger's reason for a manual open).
    """
    occurred_ms = int(decision.at * 1000)
    flags = list(dict.fromkeys([*decision.flags, *extra_flags]))  # ordered, no repeats
    permit_id = decision.permit_id
    return checked_event(
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
