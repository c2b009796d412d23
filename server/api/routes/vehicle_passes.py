"""Vehicle passes: admins and the park's managers register and change them; the park's rangers read them.

As for cards, a manager may change a pass only when every park it opens (before and after) is theirs.
``{plate}`` may be written in any spelling (``123 abc-02``): it is normalised before the lookup.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from server.api.deps import ChecksFirst, ConnDep, CurrentUser, ManagerUser, answers
from server.api.schemas import Plate, Slug, VehiclePassCreate, VehiclePassPublic, VehiclePassUpdate
from server.registry import managed_parks, park_to_list, requested_changes, require_manage, require_read
from server.vehicle_passes import create_pass, deactivate_pass, get_pass, list_passes, update_pass

router = APIRouter(tags=["vehicle passes"], route_class=ChecksFirst, responses=answers(404, 422))

PlatePath = Annotated[Plate, Path(description="the plate in any spelling (123 abc-02 finds 123ABC02)")]

_FIELDS = ("holder", "vehicle_class", "valid_from", "valid_until", "active")
_NOT_NULL = ("holder", "vehicle_class", "parks", "active")


@router.post("/vehicle-passes", status_code=status.HTTP_201_CREATED, responses=answers(409))
def add_pass(conn: ConnDep, user: ManagerUser, body: VehiclePassCreate) -> VehiclePassPublic:
    """Register a vehicle's pass for one or more parks; 409 if the plate has one, 422 if it is not a plate."""
    record = create_pass(
        conn,
        body.plate,
        body.holder,
        body.vehicle_class,
        managed_parks(conn, user, body.parks),
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        plate_country=body.plate_country,
    )
    return VehiclePassPublic(**record.public())


@router.get("/vehicle-passes")
def read_passes(
    conn: ConnDep, user: CurrentUser, park: Annotated[Slug | None, Query(description="a park's slug")] = None
) -> list[VehiclePassPublic]:
    """The passes that open ``park``; without it, every pass for an admin and the own park's for others."""
    return [VehiclePassPublic(**record.public()) for record in list_passes(conn, park_to_list(conn, user, park))]


@router.get("/vehicle-passes/{plate}")
def read_pass(conn: ConnDep, user: CurrentUser, plate: PlatePath) -> VehiclePassPublic:
    record = get_pass(conn, plate)
    require_read(conn, user, record.park_ids, f"the pass of {record.plate}")
    return VehiclePassPublic(**record.public())


@router.patch("/vehicle-passes/{plate}")
def change_pass(conn: ConnDep, user: ManagerUser, plate: PlatePath, body: VehiclePassUpdate) -> VehiclePassPublic:
    """Change holder, class, parks, validity or active; the parks concerned get the change on their next sync."""
    record = get_pass(conn, plate)
    require_read(conn, user, record.park_ids, f"the pass of {record.plate}")
    require_manage(conn, user, record.parks)
    changes = requested_changes(body, _FIELDS, _NOT_NULL)
    if body.parks is not None:
        changes["park_list"] = managed_parks(conn, user, body.parks)
    return VehiclePassPublic(**update_pass(conn, record.plate, **changes).public())


@router.post("/vehicle-passes/{plate}/deactivate")
def deactivate(conn: ConnDep, user: ManagerUser, plate: PlatePath) -> VehiclePassPublic:
    """Deactivate a pass in every park it opens; gates refuse the plate by it once synced. Twice is harmless."""
    record = get_pass(conn, plate)
    require_read(conn, user, record.park_ids, f"the pass of {record.plate}")
    require_manage(conn, user, record.parks)
    return VehiclePassPublic(**deactivate_pass(conn, record.plate).public())
