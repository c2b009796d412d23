"""Building real permits, tokens and sync pages for gate tests."""

from __future__ import annotations

from typing import Any

from gate.decision import Policy
from protocol import (
    CardColumns,
    CardRole,
    Direction,
    ParkSettings,
    Permit,
    PermitColumns,
    SigningKey,
    SyncPage,
    VehiclePassColumns,
    encode_token,
    new_permit_id,
)

PARK = "altyn-emel"
NOW = 1_750_000_000  # 2025-06-15 20:06:40 Asia/Almaty


def make_permit(**overrides: Any) -> Permit:
    fields: dict[str, Any] = {
        "id": new_permit_id(),
        "park": PARK,
        "valid_from": NOW - 3600,
        "valid_until": NOW + 86400,
        "party": (2, 1, 0),
        "issued_at": NOW - 7200,
        "entries_per_day": 0,
        "category": "standard",
    }
    fields.update(overrides)
    return Permit(**fields)


def sync_page(
    cursor: str = "1",
    permits: list[tuple[Permit, bool]] | None = None,
    keys: list[SigningKey] | None = None,
    park: ParkSettings | None = None,
    complete: bool = True,
    plates: bool = False,
) -> SyncPage:
    """A page of (permit, revoked) changes; ``plates`` sends the permits' plate, people and entries_per_day
    columns as the server does for a page with vehicle permits."""
    permits = permits or []
    return SyncPage(
        cursor=cursor,
        complete=complete,
        park=park,
        keys=None if keys is None else [key.public.to_jwk() for key in keys],
        permits=PermitColumns(
            id=[p.id_text for p, _ in permits],
            valid_from=[p.valid_from for p, _ in permits],
            valid_until=[p.valid_until for p, _ in permits],
            revoked=[revoked for _, revoked in permits],
            plate=[p.plate for p, _ in permits] if plates else None,
            people=[p.people for p, _ in permits] if plates else None,
            entries_per_day=[p.entries_per_day for p, _ in permits] if plates else None,
        ),
    )


def pass_page(cursor: str, passes: list[tuple[str, str, bool]], valid: tuple[int, int] = (0, 2**40)) -> SyncPage:
    """A page of (plate, vehicle class, active) vehicle passes, all valid in ``valid``."""
    return SyncPage(
        cursor=cursor,
        complete=True,
        vehicle_passes=VehiclePassColumns(
            plate=[plate for plate, _, _ in passes],
            holder=[f"holder of {plate}" for plate, _, _ in passes],
            vehicle_class=[vehicle_class for _, vehicle_class, _ in passes],
            valid_from=[valid[0]] * len(passes),
            valid_until=[valid[1]] * len(passes),
            active=[active for _, _, active in passes],
        ),
    )


def card_page(cursor: str, cards: list[tuple[str, CardRole, bool]], valid: tuple[int, int] = (0, 2**40)) -> SyncPage:
    """A page of (uid, role, active) cards, all valid in ``valid``."""
    return SyncPage(
        cursor=cursor,
        complete=True,
        cards=CardColumns(
            uid=[uid for uid, _, _ in cards],
            holder=[f"holder of {uid}" for uid, _, _ in cards],
            role=[role for _, role, _ in cards],
            valid_from=[valid[0]] * len(cards),
            valid_until=[valid[1]] * len(cards),
            active=[active for _, _, active in cards],
        ),
    )


def entry_policy() -> Policy:
    return Policy(park=PARK, direction=Direction.ENTRY, clock_skew_s=300, passback_timeout_s=43200)


def exit_policy() -> Policy:
    return Policy(park=PARK, direction=Direction.EXIT, clock_skew_s=300, passback_timeout_s=43200)


def token(permit: Permit, key: SigningKey) -> str:
    return encode_token(permit, key)
