from __future__ import annotations

import pytest
from pydantic import ValidationError

from protocol import MAX_EVENTS_PER_BATCH, EventBatch, EventBatchResult, GateEvent, PermitColumns, refusal_reason

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
        # issue 17: what a gate may send is bounded, and text holds no NUL (PostgreSQL refuses it, SQLite not)
        {"credential": "manual", "reason": "manual", "note": "ambulance\x00"},
        {"credential": "manual", "reason": "manual", "note": "x" * 501},
        {"category": "x" * 100_000},
        {"category": "Adult"},
        {"flags": ["offline"] * 10_000},
        {"flags": ["offline", "offline"]},
        {"reason": "expired", "granted": False, "people": 3},
        {"permit_id": "not a permit id"},
        {"card_uid": "0a1b"},
        {"plate": "123 ABC 02"},
        {"occurred_at": -1},
        {"occurred_at": 253_370_764_800_000},
        {"granted": "true"},
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


def test_a_refusal_names_the_field_in_printable_ascii() -> None:
    with pytest.raises(ValidationError) as caught:
        GateEvent.model_validate(EVENT | {"note": "a\x00", "people": 5000, "\x00key": 1})
    assert refusal_reason(caught.value) == (
        "people: Input should be less than or equal to 1000; "
        "note: character U+0000 at position 1 is not allowed in text; "
        "\\u0000key: Extra inputs are not permitted"
    )


def test_a_batch_result_takes_members_a_later_server_adds() -> None:
    result = EventBatchResult.model_validate({"new": ["a"], "duplicates": [], "surprise": {"x": 1}})
    assert result.refused == [] and result.new == ["a"]
