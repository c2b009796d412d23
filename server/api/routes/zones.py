"""Zones of a park with their own limits, and which gates belong to them (``server.zones``).

A zone counts the people through its own gates only: place every gate people leave the zone by in the zone
(its exit gates too), or those who left stay counted inside. A gate counts for a zone from the hour it joined.
"""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from server.api.deps import ConnDep, CurrentUser
from server.api.schemas import Body, Count, Name, Slug
from server.parks import get_gate, get_park
from server.zones import Zone, create_zone, get_zone, list_zones, place_gate, set_zone_limits

router = APIRouter(tags=["zones"])


class ZoneCreate(Body):
    slug: Slug
    name: Name
    capacity: Count = Field(default=0, description="people at one time in the zone; 0 = no limit")
    daily_quota: Count = Field(default=0, description="entries a day through the zone's gates; 0 = no limit")


class ZoneLimits(Body):
    capacity: Count
    daily_quota: Count


class GateZone(Body):
    zone: Slug | None = Field(
        description="the zone's slug, or null for none; place a zone's exit gates in it too (its people inside "
        "only go down through its own gates)"
    )


class ZonePublic(BaseModel):
    park: str
    slug: str
    name: str
    capacity: int
    daily_quota: int
    gates: list[str]


def _public(park: str, zone: Zone, gates: list[str]) -> ZonePublic:
    return ZonePublic(
        park=park, slug=zone.slug, name=zone.name, capacity=zone.capacity, daily_quota=zone.daily_quota, gates=gates
    )


@router.get("/parks/{park}/zones")
def read_zones(conn: ConnDep, user: CurrentUser, park: str) -> list[ZonePublic]:
    """The park's zones with their limits and gates."""
    found = get_park(conn, park)
    user.require_read(found)
    return [_public(found.slug, zone, gates) for zone, gates in list_zones(conn, found)]


@router.post("/parks/{park}/zones", status_code=status.HTTP_201_CREATED)
def add_zone(conn: ConnDep, user: CurrentUser, park: str, body: ZoneCreate) -> ZonePublic:
    """Add a zone (admin or the park's manager); 409 if the park has one with this slug."""
    found = get_park(conn, park)
    user.require_manage(found)
    zone = create_zone(conn, found, body.slug, body.name, body.capacity, body.daily_quota)
    return _public(found.slug, zone, [])


@router.put("/parks/{park}/zones/{zone}/limits")
def update_zone_limits(conn: ConnDep, user: CurrentUser, park: str, zone: str, body: ZoneLimits) -> ZonePublic:
    """Set the zone's people-at-one-time limit and daily quota (0 = no limit); its gates get them at their sync."""
    found = get_park(conn, park)
    user.require_manage(found)
    changed = set_zone_limits(conn, get_zone(conn, found, zone), body.capacity, body.daily_quota)
    return next(_public(found.slug, z, gates) for z, gates in list_zones(conn, found) if z.id == changed.id)


@router.put("/parks/{park}/gates/{gate}/zone")
def update_gate_zone(conn: ConnDep, user: CurrentUser, park: str, gate: str, body: GateZone) -> list[ZonePublic]:
    """Put a gate in a zone of its park (``{"zone": null}``: in none); answers the park's zones.

    Place a zone's exit gates in it as well as its entry gates: the zone's people inside only go down through
    its own gates. The gate counts for the zone from the hour it joined; placing it in its own zone again
    changes nothing.
    """
    found = get_park(conn, park)
    user.require_manage(found)
    target = None if body.zone is None else get_zone(conn, found, body.zone)
    place_gate(conn, get_gate(conn, found, gate), target)
    return [_public(found.slug, zone, gates) for zone, gates in list_zones(conn, found)]
