"""Parks, their gates, and device tokens for gates."""

from __future__ import annotations

from fastapi import APIRouter, status

from server.api.deps import ConnDep, CurrentUser
from server.api.schemas import DeviceToken, GateCreate, GatePublic, ParkCreate, ParkPublic
from server.parks import create_gate, create_park, get_gate, get_park, issue_device_token, list_gates, list_parks

router = APIRouter(tags=["parks"])


@router.get("/parks")
def read_parks(conn: ConnDep, user: CurrentUser) -> list[ParkPublic]:
    """Every park for an admin; their own park for anyone else."""
    only = None if user.role == "admin" else (user.park_id if user.park_id is not None else -1)
    return [ParkPublic(**park.public()) for park in list_parks(conn, only)]


@router.post("/parks", status_code=status.HTTP_201_CREATED)
def add_park(conn: ConnDep, user: CurrentUser, body: ParkCreate) -> ParkPublic:
    """Add a park (admin only); 409 if the slug is taken."""
    user.require_admin()
    park = create_park(conn, body.slug, body.name, body.capacity, body.daily_quota, body.timezone)
    return ParkPublic(**park.public())


@router.get("/parks/{park}")
def read_park(conn: ConnDep, user: CurrentUser, park: str) -> ParkPublic:
    found = get_park(conn, park)
    user.require_read(found)
    return ParkPublic(**found.public())


@router.get("/parks/{park}/gates")
def read_gates(conn: ConnDep, user: CurrentUser, park: str) -> list[GatePublic]:
    found = get_park(conn, park)
    user.require_read(found)
    return [GatePublic(**gate.public()) for gate in list_gates(conn, found)]


@router.post("/parks/{park}/gates", status_code=status.HTTP_201_CREATED)
def add_gate(conn: ConnDep, user: CurrentUser, park: str, body: GateCreate) -> GatePublic:
    """Add a gate lane (admin or the park's manager); 409 if the park has a gate with this slug."""
    found = get_park(conn, park)
    user.require_manage(found)
    return GatePublic(**create_gate(conn, found, body.slug, body.name, body.direction).public())


@router.post("/parks/{park}/gates/{gate}/device", status_code=status.HTTP_201_CREATED)
def add_device_token(conn: ConnDep, user: CurrentUser, park: str, gate: str) -> DeviceToken:
    """Issue the gate's device token. It is shown only now; issuing another one invalidates this one."""
    found = get_park(conn, park)
    user.require_manage(found)
    return DeviceToken(device_token=issue_device_token(conn, get_gate(conn, found, gate)))
