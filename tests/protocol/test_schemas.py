from __future__ import annotations

import pytest
from pydantic import ValidationError

from protocol import MAX_EVENTS_PER_BATCH, EventBatch, GateEvent, PermitColumns

EVENT = {
    "id": "01936b2e-7c4a-7def-8abc-0123456789ab",
    "occurred_at": 1_790_000_000_000,
    "direction": "entry",
    "credential": "permit",
    "reason": "granted",
    "granted": True,
    "people": 3,
}


def test_event_accepts_a_good_event() -> None:
    assert GateEvent.model_validate(EVENT).people == 3


@pytest.mark.parametrize(
    "change",
    [
        {"id": "not-a-uuid"},
        {"id": "01936b2e-7c4a-4def-8abc-0123456789ab"},  # UUIDv4, not v7
        {"reason": "granted", "granted": False},
        {"reason": "expired", "granted": True},
        {"direction": "sideways"},
        {"people": -1},
        {"surprise": 1},
    ],
)
def test_event_refuses_bad_fields(change: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        GateEvent.model_validate(EVENT | change)


def test_batch_size_is_bounded() -> None:
    with pytest.raises(ValidationError):
        EventBatch.model_validate({"events": []})
    with pytest.raises(ValidationError):
        EventBatch.model_validate({"events": [EVENT] * (MAX_EVENTS_PER_BATCH + 1)})


def test_permit_columns_must_line_up() -> None:
    with pytest.raises(ValidationError):
        PermitColumns(id=["a"], valid_from=[], valid_until=[1], revoked=[False])


def test_card_columns_must_line_up() -> None:
    from protocol import CardColumns

    with pytest.raises(ValidationError):
        CardColumns(uid=["0A0B"], holder=[], role=["staff"], valid_from=[0], valid_until=[1], active=[True])
