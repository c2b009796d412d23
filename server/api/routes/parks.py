"""Parks, their gates, and device tokens for gates."""

from __future__ import annotations

from fastapi import APIRouter, status

from server.api.deps import (
    AdminUser,
    ChecksFirst,
    ConnDep,
    CurrentUser,
    GateSlug,
    ManagedPark,
    ReadablePark,
    answers,
)
from server.api.schemas import DeviceToken, GateCreate, GatePublic, ParkCreate, ParkPublic
from server.parks import create_gate, create_park, get_gate, issue_device_token, list_gates, list_parks

router = APIRouter(tags=["parks"], route_class=ChecksFirst)


@router.get("/parks")
def read_parks(conn: ConnDep, user: CurrentUser) -> list[ParkPublic]:
    """Every park for an admin; their own park for anyone else."""
    only = None if user.role == "admin" else (user.park_id if user.park_id is not None else -1)
    return [ParkPublic(**park.public()) for park in list_parks(conn, only)]


@router.post("/parks", status_code=status.HTTP_201_CREATED, responses=answers(409, 422))
def add_park(conn: ConnDep, user: AdminUser, body: ParkCreate) -> ParkPublic:
    """Add a park (admin only); 409 if the slug is taken."""
    park = create_park(conn, body.slug, body.name, body.capacity, body.daily_quota, body.timezone)
    return ParkPublic(**park.public())


@router.get("/parks/{park}", responses=answers(404, 422))
def read_park(park: ReadablePark) -> ParkPublic:
    return ParkPublic(**park.public())


@router.get("/parks/{park}/gates", responses=answers(404, 422))
def read_gates(conn: ConnDep, park: ReadablePark) -> list[GatePublic]:
    return [GatePublic(**gate.public()) for gate in list_gates(conn, park)]


@router.post("/parks/{park}/gates", status_code=status.HTTP_201_CREATED, responses=answers(404, 409, 422))
def add_gate(conn: ConnDep, park: ManagedPark, body: GateCreate) -> GatePublic:
    """Add a gate lane (admin or the park's manager); 409 if the park has a gate with this slug."""
    return GatePublic(**create_gate(conn, park, body.slug, body.name, body.direction).public())


@router.post("/parks/{park}/gates/{gate}/device", status_code=status.HTTP_201_CREATED, responses=answers(404, 422))
def add_device_token(conn: ConnDep, park: ManagedPark, gate: GateSlug) -> DeviceToken:
    """Issue the gate's device token. It is shown only now; issuing another one invalidates this one."""
    return DeviceToken(device_token=issue_device_token(conn, get_gate(conn, park, gate)))
