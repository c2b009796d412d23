"""Zones of a park with their own limits, and which gates belong to them (``server.zones``).

A zone counts the people through its own gates only: place every gate people leave the zone by in the zone
(its exit gates too), or those who left stay counted inside. A gate counts for a zone from the hour it joined.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, Field

from protocol.fields import Count, Name
from server.api.deps import ChecksFirst, ConnDep, GateSlug, ManagedPark, ReadablePark, answers
from server.api.schemas import Body, Slug
from server.parks import get_gate
from server.zones import Zone, create_zone, get_zone, list_zones, place_gate, set_zone_limits

router = APIRouter(tags=["zones"], route_class=ChecksFirst, responses=answers(404, 422))

ZoneSlug = Annotated[Slug, Path(description="the zone's slug in its park")]


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
def read_zones(conn: ConnDep, park: ReadablePark) -> list[ZonePublic]:
    """The park's zones with their limits and gates."""
    return [_public(park.slug, zone, gates) for zone, gates in list_zones(conn, park)]


@router.post("/parks/{park}/zones", status_code=status.HTTP_201_CREATED, responses=answers(409))
def add_zone(conn: ConnDep, park: ManagedPark, body: ZoneCreate) -> ZonePublic:
    """Add a zone (admin or the park's manager); 409 if the park has one with this slug."""
    zone = create_zone(conn, park, body.slug, body.name, body.capacity, body.daily_quota)
    return _public(park.slug, zone, [])


@router.put("/parks/{park}/zones/{zone}/limits")
def update_zone_limits(conn: ConnDep, park: ManagedPark, zone: ZoneSlug, body: ZoneLimits) -> ZonePublic:
    """Set the zone's people-at-one-time limit and daily quota (0 = no limit); its gates get them at their sync."""
    changed = set_zone_limits(conn, get_zone(conn, park, zone), body.capacity, body.daily_quota)
    return next(_public(park.slug, z, gates) for z, gates in list_zones(conn, park) if z.id == changed.id)


@router.put("/parks/{park}/gates/{gate}/zone")
def update_gate_zone(conn: ConnDep, park: ManagedPark, gate: GateSlug, body: GateZone) -> list[ZonePublic]:
    """Put a gate in a zone of its park (``{"zone": null}``: in none); answers the park's zones.

    Place a zone's exit gates in it as well as its entry gates: the zone's people inside only go down through
    its own gates. The gate counts for the zone from the hour it joined; placing it in its own zone again
    changes nothing.
    """
    target = None if body.zone is None else get_zone(conn, park, body.zone)
    place_gate(conn, get_gate(conn, park, gate), target)
    return [_public(park.slug, zone, gates) for zone, gates in list_zones(conn, park)]
