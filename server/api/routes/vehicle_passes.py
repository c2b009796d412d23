"""Vehicle passes: admins and the park's managers register and change them; the park's rangers read them.

As for cards, a manager may change a pass only when every park it opens (before and after) is theirs.
``{plate}`` may be written in any spelling (``123 abc-02``): it is normalised before the lookup.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from sqlalchemy.engine import Connection

from server.accounts import Role, User
from server.api.deps import ConnDep, CurrentUser
from server.api.schemas import VehiclePassCreate, VehiclePassPublic, VehiclePassUpdate
from server.errors import AccessDenied, InvalidInput
from server.parks import Park, get_park, get_park_by_id
from server.vehicle_passes import (
    VehiclePassRecord,
    create_pass,
    deactivate_pass,
    get_pass,
    list_passes,
    update_pass,
)

router = APIRouter(tags=["vehicle passes"])

_NOT_NULL = ("holder", "vehicle_class", "parks", "active")


def _require_read(conn: Connection, user: User, record: VehiclePassRecord) -> None:
    if user.role is Role.ADMIN:
        return
    if not any(user.can_read(get_park_by_id(conn, park_id)) for park_id in record.park_ids):
        raise AccessDenied(f"user {user.name!r} has no access to the pass of {record.plate}")


def _require_manage(conn: Connection, user: User, record: VehiclePassRecord) -> None:
    for slug in record.parks:
        user.require_manage(get_park(conn, slug))


def _parks(conn: Connection, user: User, slugs: list[str]) -> list[Park]:
    found = [get_park(conn, slug) for slug in slugs]
    for park in found:
        user.require_manage(park)
    return found


@router.post("/vehicle-passes", status_code=status.HTTP_201_CREATED)
def add_pass(conn: ConnDep, user: CurrentUser, body: VehiclePassCreate) -> VehiclePassPublic:
    """Register a vehicle's pass for one or more parks; 409 if the plate has one, 422 if it is not a plate."""
    record = create_pass(
        conn,
        body.plate,
        body.holder,
        body.vehicle_class,
        _parks(conn, user, body.parks),
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        plate_country=body.plate_country,
    )
    return VehiclePassPublic(**record.public())


@router.get("/vehicle-passes")
def read_passes(conn: ConnDep, user: CurrentUser, park: str | None = None) -> list[VehiclePassPublic]:
    """The passes that open ``park``; without it, every pass for an admin and the own park's for others."""
    if park is not None:
        found: Park | None = get_park(conn, park)
        assert found is not None
        user.require_read(found)
    elif user.role is Role.ADMIN:
        found = None
    elif user.park_id is not None:
        found = get_park_by_id(conn, user.park_id)
    else:
        raise AccessDenied(f"user {user.name!r} belongs to no park")
    return [VehiclePassPublic(**record.public()) for record in list_passes(conn, found)]


@router.get("/vehicle-passes/{plate}")
def read_pass(conn: ConnDep, user: CurrentUser, plate: str) -> VehiclePassPublic:
    record = get_pass(conn, plate)
    _require_read(conn, user, record)
    return VehiclePassPublic(**record.public())


@router.patch("/vehicle-passes/{plate}")
def change_pass(conn: ConnDep, user: CurrentUser, plate: str, body: VehiclePassUpdate) -> VehiclePassPublic:
    """Change holder, class, parks, validity or active; the parks concerned get the change on their next sync."""
    record = get_pass(conn, plate)
    _require_read(conn, user, record)
    _require_manage(conn, user, record)
    given = body.model_fields_set
    for name in _NOT_NULL:
        if name in given and getattr(body, name) is None:
            raise InvalidInput(f"{name} cannot be null")
    changes: dict[str, Any] = {}
    for name in ("holder", "vehicle_class", "valid_from", "valid_until", "active"):
        if name in given:
            changes[name] = getattr(body, name)
    if body.parks is not None:
        changes["park_list"] = _parks(conn, user, body.parks)
    return VehiclePassPublic(**update_pass(conn, record.plate, **changes).public())


@router.post("/vehicle-passes/{plate}/deactivate")
def deactivate(conn: ConnDep, user: CurrentUser, plate: str) -> VehiclePassPublic:
    """Deactivate a pass in every park it opens; gates refuse the plate by it once synced. Twice is harmless."""
    record = get_pass(conn, plate)
    _require_read(conn, user, record)
    _require_manage(conn, user, record)
    return VehiclePassPublic(**deactivate_pass(conn, record.plate).public())
