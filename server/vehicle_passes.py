"""Vehicle passes: annual and resident passes of a vehicle by its plate alone, and their change feed.

A pass opens one or more parks; its changes reach the gates of each park they concern through the change
feed, as ``server.registry`` keeps them for every kind of credential (cards are the other kind).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from server.db import vehicle_pass_parks, vehicle_passes
from server.errors import InvalidInput
from server.parks import Park
from server.plates import VEHICLE_CLASSES, check_plate, lookup_plate
from server.registry import KEEP, CredentialPage, Keep, Registry

__all__ = [
    "KEEP",
    "PassPage",
    "VehiclePassRecord",
    "create_pass",
    "deactivate_pass",
    "get_pass",
    "list_passes",
    "pass_changes_after",
    "update_pass",
]

PassPage = CredentialPage  # the vehicle passes of one park changed after a cursor (``protocol.VehiclePassColumns``)


@dataclass(frozen=True)
class VehiclePassRecord:
    id: int
    plate: str
    holder: str
    vehicle_class: str
    parks: tuple[str, ...]  # slugs of the parks the pass opens now
    park_ids: tuple[int, ...]  # ids of every park the pass was ever given, withdrawn ones included
    valid_from: int | None
    valid_until: int | None
    active: bool
    created_at: int

    def public(self) -> dict[str, Any]:
        return {
            "plate": self.plate,
            "holder": self.holder,
            "vehicle_class": self.vehicle_class,
            "parks": list(self.parks),
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
            "active": self.active,
            "created_at": self.created_at,
        }


def _pass(row: Any, open_parks: tuple[str, ...], park_ids: tuple[int, ...]) -> VehiclePassRecord:
    return VehiclePassRecord(
        id=row.id,
        plate=row.plate,
        holder=row.holder,
        vehicle_class=row.vehicle_class,
        parks=open_parks,
        park_ids=park_ids,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        active=bool(row.active),
        created_at=row.created_at,
    )


def _check_class(fields: Mapping[str, Any]) -> None:
    vehicle_class = fields["vehicle_class"]
    if vehicle_class not in VEHICLE_CLASSES:
        raise InvalidInput(f"vehicle_class must be one of {', '.join(VEHICLE_CLASSES)}, not {vehicle_class!r}")


PASSES = Registry(
    items=vehicle_passes,
    links=vehicle_pass_parks,
    link_column="pass_id",
    key="plate",
    fields=("vehicle_class",),
    lookup=lookup_plate,
    record=_pass,
    holder_error="a pass holder's name has 1 to 200 characters",
    no_parks_error="a vehicle pass opens at least one park",
    taken_error="plate {key} has a vehicle pass already",
    missing_error="no vehicle pass for plate {key}",
    check_fields=_check_class,
)


def create_pass(
    conn: Connection,
    plate: str,
    holder: str,
    vehicle_class: str,
    park_list: Sequence[Park],
    valid_from: int | None = None,
    valid_until: int | None = None,
    plate_country: str | None = None,
    now: int | None = None,
) -> VehiclePassRecord:
    """Register a vehicle's pass for the given parks; Conflict if the plate has a pass already."""
    plate = check_plate(plate, plate_country)
    fields = {"vehicle_class": vehicle_class}
    return PASSES.create(conn, plate, holder, fields, park_list, valid_from, valid_until, now)


def get_pass(conn: Connection, plate: str) -> VehiclePassRecord:
    """The pass of a plate in any spelling (``123 abc-02`` finds ``123ABC02``); NotFound if it has none."""
    return PASSES.get(conn, plate)


def list_passes(conn: Connection, park: Park | None = None) -> list[VehiclePassRecord]:
    """Every pass, or the passes that open ``park`` now (deactivated ones included), by plate."""
    return PASSES.list_items(conn, park)


def update_pass(
    conn: Connection,
    plate: str,
    *,
    holder: str | Keep = KEEP,
    vehicle_class: str | Keep = KEEP,
    park_list: Sequence[Park] | Keep = KEEP,
    valid_from: int | Keep | None = KEEP,
    valid_until: int | Keep | None = KEEP,
    active: bool | Keep = KEEP,
) -> VehiclePassRecord:
    """Change a pass; each park the change concerns gets it in its feed. A change to nothing changes nothing."""
    return PASSES.update(
        conn,
        plate,
        holder=holder,
        fields={} if isinstance(vehicle_class, Keep) else {"vehicle_class": vehicle_class},
        park_list=park_list,
        valid_from=valid_from,
        valid_until=valid_until,
        active=active,
    )


def deactivate_pass(conn: Connection, plate: str) -> VehiclePassRecord:
    """Deactivate a pass in every park; gates refuse the plate by it once synced. Twice is harmless."""
    return update_pass(conn, plate, active=False)


def pass_changes_after(conn: Connection, park_id: int, cursor: int, limit: int, until: int | None = None) -> PassPage:
    """At most ``limit`` of the park's vehicle pass rows with change_seq > cursor, oldest change first."""
    return PASSES.changes_after(conn, park_id, cursor, limit, until)
