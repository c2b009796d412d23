"""Zones of a park: a part (a canyon, a lake shore) with its own people-at-one-time limit and daily quota.

A gate belongs to at most one zone. Its entries and exits count for the zone as well as the park: a zone's
load is the people through its gates (``people_days``). The gate's sync page carries its zone's limits and
counts (``protocol.ZoneSettings``), and the gate refuses with ``capacity_full`` when either the park's or
the zone's limit would be broken. Visitors still book the park (and its slots), not a zone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from server.capacity import MAX_LIMIT
from server.db import gates, people_days, zone_gates, zones
from server.errors import Conflict, InvalidInput, NotFound
from server.park_time import park_day_start
from server.parks import Gate, Park


@dataclass(frozen=True)
class Zone:
    id: int
    park_id: int
    slug: str
    name: str
    capacity: int
    daily_quota: int

    def settings(self) -> dict[str, Any]:
        """The limits a gate of the zone needs (``protocol.ZoneSettings`` without the counts)."""
        return {"slug": self.slug, "name": self.name, "capacity": self.capacity, "daily_quota": self.daily_quota}


def _check_limits(capacity: int, daily_quota: int) -> None:
    for name, value in (("capacity", capacity), ("daily_quota", daily_quota)):
        if not 0 <= value <= MAX_LIMIT:
            raise InvalidInput(f"{name} must be between 0 (no limit) and {MAX_LIMIT}, not {value}")


_COLUMNS = (zones.c.id, zones.c.park_id, zones.c.slug, zones.c.name, zones.c.capacity, zones.c.daily_quota)


def _zone(row: Any) -> Zone:
    return Zone(row.id, row.park_id, row.slug, row.name, row.capacity, row.daily_quota)


def create_zone(conn: Connection, park: Park, slug: str, name: str, capacity: int = 0, daily_quota: int = 0) -> Zone:
    """Add a zone to a park; Conflict if the park has one with this slug, InvalidInput for bad limits."""
    _check_limits(capacity, daily_quota)
    taken = sa.select(zones.c.id).where(zones.c.park_id == park.id, zones.c.slug == slug)
    if conn.execute(taken).first() is not None:
        raise Conflict(f"park {park.slug!r} already has a zone {slug!r}")
    values = {"park_id": park.id, "slug": slug, "name": name, "capacity": capacity, "daily_quota": daily_quota}
    try:
        key = conn.execute(zones.insert().values(created_at=int(time.time()), **values)).inserted_primary_key
    except IntegrityError as err:  # a concurrent request took the slug between the check and the insert
        raise Conflict(f"park {park.slug!r} already has a zone {slug!r}") from err
    assert key is not None
    return Zone(key[0], park.id, slug, name, capacity, daily_quota)


def list_zones(conn: Connection, park: Park) -> list[tuple[Zone, list[str]]]:
    """The park's zones by slug, each with the slugs of its gates."""
    found = [_zone(row) for row in conn.execute(sa.select(*_COLUMNS).where(zones.c.park_id == park.id))]
    members: dict[int, list[str]] = {}
    rows = conn.execute(
        sa.select(zone_gates.c.zone_id, gates.c.slug)
        .join(gates, gates.c.id == zone_gates.c.gate_id)
        .where(gates.c.park_id == park.id)
        .order_by(gates.c.slug)
    )
    for zone_id, gate_slug in rows:
        members.setdefault(zone_id, []).append(gate_slug)
    return [(zone, members.get(zone.id, [])) for zone in sorted(found, key=lambda z: z.slug)]


def get_zone(conn: Connection, park: Park, slug: str) -> Zone:
    row = conn.execute(sa.select(*_COLUMNS).where(zones.c.park_id == park.id, zones.c.slug == slug)).first()
    if row is None:
        raise NotFound(f"park {park.slug!r} has no zone {slug!r}")
    return _zone(row)


def set_zone_limits(conn: Connection, zone: Zone, capacity: int, daily_quota: int) -> Zone:
    """New limits for a zone (0 = no limit); its gates get them on their next sync."""
    _check_limits(capacity, daily_quota)
    conn.execute(zones.update().where(zones.c.id == zone.id).values(capacity=capacity, daily_quota=daily_quota))
    return Zone(zone.id, zone.park_id, zone.slug, zone.name, capacity, daily_quota)


def place_gate(conn: Connection, gate: Gate, zone: Zone | None) -> None:
    """Put a gate in a zone of its park, or (``None``) in none."""
    if zone is not None and zone.park_id != gate.park_id:
        raise InvalidInput(f"zone {zone.slug!r} is not in the gate's park")
    conn.execute(zone_gates.delete().where(zone_gates.c.gate_id == gate.id))
    if zone is not None:
        conn.execute(zone_gates.insert().values(gate_id=gate.id, zone_id=zone.id))


def zone_of_gate(conn: Connection, gate_id: int) -> Zone | None:
    row = conn.execute(
        sa.select(*_COLUMNS).join(zone_gates, zone_gates.c.zone_id == zones.c.id).where(zone_gates.c.gate_id == gate_id)
    ).first()
    return None if row is None else _zone(row)


def zone_counts(conn: Connection, park: Park, zone: Zone, now: int) -> tuple[int, int]:
    """(people inside, people who entered today) through the zone's gates, as ``stats.park_counts`` counts
    the park: inside = entered − exited, never below 0."""
    today = park_day_start(park, now)
    members = sa.select(zone_gates.c.gate_id).where(zone_gates.c.zone_id == zone.id)
    entered, exited, entered_today = conn.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(people_days.c.entered), 0),
            sa.func.coalesce(sa.func.sum(people_days.c.exited), 0),
            sa.func.coalesce(sa.func.sum(sa.case((people_days.c.day == today, people_days.c.entered), else_=0)), 0),
        ).where(people_days.c.park_id == park.id, people_days.c.gate_id.in_(members))
    ).one()
    return max(0, int(entered) - int(exited)), int(entered_today)


def zone_settings(conn: Connection, park: Park, gate_id: int, now: int) -> dict[str, Any] | None:
    """The sync page's ``zone`` for a gate: its zone's limits and counts, or None for a gate in no zone."""
    zone = zone_of_gate(conn, gate_id)
    if zone is None:
        return None
    inside, today = zone_counts(conn, park, zone, now)
    return {**zone.settings(), "occupancy": inside, "entries_today": today}
