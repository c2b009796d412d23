"""Parks and their gates, and the device tokens that let one gate sync and report."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from protocol import Direction
from server.db import gates, parks
from server.errors import Conflict, NotFound
from server.security import DEVICE_TOKEN_PREFIX, new_token, token_hash

DEFAULT_TIMEZONE = "Asia/Almaty"


@dataclass(frozen=True)
class Park:
    id: int
    slug: str
    name: str
    timezone: str
    capacity: int
    daily_quota: int

    def public(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "name": self.name,
            "timezone": self.timezone,
            "capacity": self.capacity,
            "daily_quota": self.daily_quota,
        }


@dataclass(frozen=True)
class Gate:
    id: int
    park_id: int
    park_slug: str
    slug: str
    name: str
    direction: Direction

    def public(self) -> dict[str, Any]:
        return {"park": self.park_slug, "slug": self.slug, "name": self.name, "direction": self.direction.value}


_PARK_COLUMNS = (parks.c.id, parks.c.slug, parks.c.name, parks.c.timezone, parks.c.capacity, parks.c.daily_quota)


def _park(row: Any) -> Park:
    return Park(row.id, row.slug, row.name, row.timezone, row.capacity, row.daily_quota)


def create_park(
    conn: Connection,
    slug: str,
    name: str,
    capacity: int = 0,
    daily_quota: int = 0,
    timezone: str = DEFAULT_TIMEZONE,
) -> Park:
    """Add a park; raises Conflict if the slug is taken."""
    if conn.execute(sa.select(parks.c.id).where(parks.c.slug == slug)).first() is not None:
        raise Conflict(f"park {slug!r} already exists")
    values: dict[str, Any] = {
        "slug": slug,
        "name": name,
        "timezone": timezone,
        "capacity": capacity,
        "daily_quota": daily_quota,
    }
    try:
        park_id = conn.execute(parks.insert().values(created_at=int(time.time()), **values)).inserted_primary_key
    except IntegrityError as err:  # a concurrent request took the slug between the check and the insert
        raise Conflict(f"park {slug!r} already exists") from err
    assert park_id is not None
    return Park(park_id[0], slug, name, timezone, capacity, daily_quota)


def get_park(conn: Connection, slug: str) -> Park:
    row = conn.execute(sa.select(*_PARK_COLUMNS).where(parks.c.slug == slug)).first()
    if row is None:
        raise NotFound(f"no park {slug!r}")
    return _park(row)


def get_park_by_id(conn: Connection, park_id: int) -> Park:
    row = conn.execute(sa.select(*_PARK_COLUMNS).where(parks.c.id == park_id)).first()
    if row is None:
        raise NotFound(f"no park with id {park_id}")
    return _park(row)


def list_parks(conn: Connection, only_id: int | None = None) -> list[Park]:
    """All parks, or only the one with ``only_id`` (what a manager or ranger may see)."""
    query = sa.select(*_PARK_COLUMNS).order_by(parks.c.slug)
    if only_id is not None:
        query = query.where(parks.c.id == only_id)
    return [_park(row) for row in conn.execute(query)]


def create_gate(conn: Connection, park: Park, slug: str, name: str, direction: Direction) -> Gate:
    """Add a gate lane to a park; raises Conflict if the park already has a gate with this slug."""
    taken = sa.select(gates.c.id).where(gates.c.park_id == park.id, gates.c.slug == slug)
    if conn.execute(taken).first() is not None:
        raise Conflict(f"park {park.slug!r} already has a gate {slug!r}")
    try:
        key = conn.execute(
            gates.insert().values(
                park_id=park.id, slug=slug, name=name, direction=direction.value, created_at=int(time.time())
            )
        ).inserted_primary_key
    except IntegrityError as err:
        raise Conflict(f"park {park.slug!r} already has a gate {slug!r}") from err
    assert key is not None
    return Gate(key[0], park.id, park.slug, slug, name, direction)


def _gate_query() -> sa.Select[Any]:
    return sa.select(
        gates.c.id, gates.c.park_id, parks.c.slug.label("park_slug"), gates.c.slug, gates.c.name, gates.c.direction
    ).join(parks, parks.c.id == gates.c.park_id)


def _gate(row: Any) -> Gate:
    return Gate(row.id, row.park_id, row.park_slug, row.slug, row.name, Direction(row.direction))


def list_gates(conn: Connection, park: Park) -> list[Gate]:
    return [_gate(row) for row in conn.execute(_gate_query().where(gates.c.park_id == park.id).order_by(gates.c.slug))]


def get_gate(conn: Connection, park: Park, slug: str) -> Gate:
    row = conn.execute(_gate_query().where(gates.c.park_id == park.id, gates.c.slug == slug)).first()
    if row is None:
        raise NotFound(f"park {park.slug!r} has no gate {slug!r}")
    return _gate(row)


def issue_device_token(conn: Connection, gate: Gate) -> str:
    """A new device token for ``gate``, returned once; only its hash is stored, and the old token stops working."""
    token = new_token(DEVICE_TOKEN_PREFIX)
    conn.execute(gates.update().where(gates.c.id == gate.id).values(device_token_hash=token_hash(token)))
    return token


def gate_for_device_token(conn: Connection, token: str) -> Gate | None:
    row = conn.execute(_gate_query().where(gates.c.device_token_hash == token_hash(token))).first()
    return None if row is None else _gate(row)
