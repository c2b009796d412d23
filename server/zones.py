"""Zones of a park: a part (a canyon, a lake shore) with its own people-at-one-time limit and daily quota.

A gate belongs to at most one zone. Its entries and exits count for the zone as well as the park: a zone's
load is the people through its gates (``people_days``, ``people_hours``). So a zone's people inside only go
down through its own gates: every gate people leave the zone by (its exit gates, and a two-way gate on its
edge) must be placed in the zone, or those who left stay counted inside until the count is corrected.
A gate counts for its zone from the start of the hour it joined (``zone_gates.joined_at``; the roll-ups'
finest grain), so a gate moved in with its history does not bring the people it let in before.
The gate's sync page carries its zone's limits and counts (``protocol.ZoneSettings``), and the gate refuses
with ``capacity_full`` when either the park's or the zone's limit would be broken. Visitors still book the
park (and its slots), not a zone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from server.capacity import MAX_LIMIT
from server.db import gates, people_days, people_hours, zone_gates, zones
from server.errors import Conflict, InvalidInput, NotFound
from server.park_time import HOUR, day_bounds, park_day_start, park_today
from server.parks import Gate, Park
from server.stats import people_sums


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


def place_gate(conn: Connection, gate: Gate, zone: Zone | None, now: int | None = None) -> None:
    """Put a gate in a zone of its park, or (``None``) in none; it counts for the zone from ``now`` (its hour).

    Placing a gate in the zone it is in changes nothing, so a repeated request keeps its history in the zone.
    """
    if zone is not None and zone.park_id != gate.park_id:
        raise InvalidInput(f"zone {zone.slug!r} is not in the gate's park")
    current = zone_of_gate(conn, gate.id)
    if (None if current is None else current.id) == (None if zone is None else zone.id):
        return
    conn.execute(zone_gates.delete().where(zone_gates.c.gate_id == gate.id))
    if zone is not None:
        joined_at = int(time.time()) if now is None else now
        conn.execute(zone_gates.insert().values(gate_id=gate.id, zone_id=zone.id, joined_at=joined_at))


def zone_of_gate(conn: Connection, gate_id: int) -> Zone | None:
    row = conn.execute(
        sa.select(*_COLUMNS).join(zone_gates, zone_gates.c.zone_id == zones.c.id).where(zone_gates.c.gate_id == gate_id)
    ).first()
    return None if row is None else _zone(row)


def zone_counts(conn: Connection, park: Park, zone: Zone, now: int) -> tuple[int, int]:
    """(people inside, people who entered today) through the zone's gates, each from the hour it joined, as
    ``stats.park_counts`` counts the park: inside = entered − exited, never below 0.

    A gate's join day is read by hour (``people_hours``), the days after it by day (``people_days``), so the
    count stays a few rows per gate and day however long ago the gate joined.
    """
    joined = conn.execute(
        sa.select(zone_gates.c.gate_id, zone_gates.c.joined_at).where(zone_gates.c.zone_id == zone.id)
    ).all()
    if not joined:
        return 0, 0
    by_day, by_hour = [], []
    for gate_id, joined_at in joined:
        next_day = day_bounds(park, park_today(park, joined_at))[1]
        by_day.append(sa.and_(people_days.c.gate_id == gate_id, people_days.c.day >= next_day))
        hours = (people_hours.c.hour >= joined_at // HOUR * HOUR, people_hours.c.hour < next_day)
        by_hour.append(sa.and_(people_hours.c.gate_id == gate_id, *hours))
    today = park_day_start(park, now)
    days = people_sums(
        conn, people_days, sa.and_(people_days.c.park_id == park.id, sa.or_(*by_day)), people_days.c.day == today
    )
    # a join day's hours are today's only when the gate joined today (they end at its next midnight)
    hours_sums = people_sums(
        conn, people_hours, sa.and_(people_hours.c.park_id == park.id, sa.or_(*by_hour)), people_hours.c.hour >= today
    )
    entered, exited, entered_today = (a + b for a, b in zip(days, hours_sums, strict=True))
    return max(0, entered - exited), entered_today


def zone_settings(conn: Connection, park: Park, gate_id: int, now: int) -> dict[str, Any] | None:
    """The sync page's ``zone`` for a gate: its zone's limits and counts, or None for a gate in no zone."""
    zone = zone_of_gate(conn, gate_id)
    if zone is None:
        return None
    inside, today = zone_counts(conn, park, zone, now)
    return {**zone.settings(), "occupancy": inside, "entries_today": today}
