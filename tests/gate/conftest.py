"""Fixtures for gate tests: a signing key and a GateStore on a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gate.store import GateStore
from protocol import ParkSettings, SigningKey
from tests.gate.world import PARK, sync_page


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.generate("k1")


@pytest.fixture
def store(tmp_path: Path, key: SigningKey) -> Iterator[GateStore]:
    """A fresh store that trusts ``key`` and knows the park (no limits)."""
    with GateStore(tmp_path / "gate.db") as gate_store:
        gate_store.apply_sync_page(sync_page(keys=[key], park=ParkSettings(slug=PARK, name="Altyn-Emel")))
        yield gate_store
