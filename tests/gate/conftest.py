"""Real objects for gate tests: signing keys, signed permits, and a GateStore on a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from protocol import (
    Direction,
    ParkSettings,
    Permit,
    PermitColumns,
    SigningKey,
    SyncPage,
    encode_token,
    new_permit_id,
)

from gate.decision import Policy
from gate.store import GateStore

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
) -> SyncPage:
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
        ),
    )


def entry_policy() -> Policy:
    return Policy(park=PARK, direction=Direction.ENTRY, clock_skew_s=300, passback_timeout_s=43200)


def exit_policy() -> Policy:
    return Policy(park=PARK, direction=Direction.EXIT, clock_skew_s=300, passback_timeout_s=43200)


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.generate("k1")


@pytest.fixture
def store(tmp_path: Path, key: SigningKey) -> Iterator[GateStore]:
    """A fresh store that trusts ``key`` and knows the park (no limits)."""
    with GateStore(tmp_path / "gate.db") as gate_store:
        gate_store.apply_sync_page(sync_page(keys=[key], park=ParkSettings(slug=PARK, name="Altyn-Emel")))
        yield gate_store


def token(permit: Permit, key: SigningKey) -> str:
    return encode_token(permit, key)
