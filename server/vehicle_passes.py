"""Vehicle passes: annual and resident passes of a vehicle by its plate alone, and their change feed.

They follow the cards' pattern (``server.cards``): a pass opens one or more parks; every change to a pass
enters the change feed once per park it concerns, and a park withdrawn from a pass keeps its row with
``active`` false so that the park's gates learn of the withdrawal.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from server.cards import KEEP, NO_END, NO_START, Keep
from server.changes import next_seq
from server.db import parks, vehicle_pass_parks, vehicle_passes
from server.errors import Conflict, InvalidInput, NotFound
from server.parks import Park
from server.plates import VEHICLE_CLASSES, check_plate, lookup_plate

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


def _check(holder: str, vehicle_class: str, valid_from: int | None, valid_until: int | None) -> str:
    holder = holder.strip()
    if not holder or len(holder) > 200:
        raise InvalidInput("a pass holder's name has 1 to 200 characters")
    if vehicle_class not in VEHICLE_CLASSES:
        raise InvalidInput(f"vehicle_class must be one of {', '.join(VEHICLE_CLASSES)}, not {vehicle_class!r}")
    if valid_from is not None and valid_until is not None and valid_until < valid_from:
        raise InvalidInput("valid_until is before valid_from")
    return holder


def _unique_parks(park_list: Sequence[Park]) -> dict[int, Park]:
    if not park_list:
        raise InvalidInput("a vehicle pass opens at least one park")
    return {park.id: park for park in park_list}


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
    holder = _check(holder, vehicle_class, valid_from, valid_until)
    chosen = _unique_parks(park_list)
    if conn.execute(sa.select(vehicle_passes.c.id).where(vehicle_passes.c.plate == plate)).first() is not None:
        raise Conflict(f"plate {plate} has a vehicle pass already")
    created_at = int(time.time()) if now is None else now
    try:
        key = conn.execute(
            vehicle_passes.insert().values(
                plate=plate,
                holder=holder,
                vehicle_class=vehicle_class,
                valid_from=valid_from,
                valid_until=valid_until,
                active=True,
                created_at=created_at,
            )
        ).inserted_primary_key
    except IntegrityError as err:  # a concurrent request registered it between the check and the insert
        raise Conflict(f"plate {plate} has a vehicle pass already") from err
    assert key is not None
    pass_id = int(key[0])
    for park_id in sorted(chosen):
        conn.execute(
            vehicle_pass_parks.insert().values(
                pass_id=pass_id, park_id=park_id, active=True, change_seq=next_seq(conn, pass_id=pass_id)
            )
        )
    return get_pass(conn, plate)


def _record(conn: Connection, row: Any) -> VehiclePassRecord:
    links = conn.execute(
        sa.select(vehicle_pass_parks.c.park_id, vehicle_pass_parks.c.active, parks.c.slug)
        .join(parks, parks.c.id == vehicle_pass_parks.c.park_id)
        .where(vehicle_pass_parks.c.pass_id == row.id)
        .order_by(parks.c.slug)
    ).all()
    return VehiclePassRecord(
        id=row.id,
        plate=row.plate,
        holder=row.holder,
        vehicle_class=row.vehicle_class,
        parks=tuple(link.slug for link in links if link.active),
        park_ids=tuple(link.park_id for link in links),
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        active=bool(row.active),
        created_at=row.created_at,
    )


def get_pass(conn: Connection, plate: str) -> VehiclePassRecord:
    """The pass of a plate in any spelling (``123 abc-02`` finds ``123ABC02``); NotFound if it has none."""
    plate = lookup_plate(plate)
    row = conn.execute(sa.select(vehicle_passes).where(vehicle_passes.c.plate == plate)).first()
    if row is None:
        raise NotFound(f"no vehicle pass for plate {plate}")
    return _record(conn, row)


def list_passes(conn: Connection, park: Park | None = None) -> list[VehiclePassRecord]:
    """Every pass, or the passes that open ``park`` now (deactivated ones included), by plate."""
    query = sa.select(vehicle_passes).order_by(vehicle_passes.c.plate)
    if park is not None:
        opens = sa.select(vehicle_pass_parks.c.pass_id).where(
            vehicle_pass_parks.c.park_id == park.id, vehicle_pass_parks.c.active
        )
        query = query.where(vehicle_passes.c.id.in_(opens))
    return [_record(conn, row) for row in conn.execute(query).all()]


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
    record = get_pass(conn, plate)
    new_from = record.valid_from if isinstance(valid_from, Keep) else valid_from
    new_until = record.valid_until if isinstance(valid_until, Keep) else valid_until
    new_class = record.vehicle_class if isinstance(vehicle_class, Keep) else vehicle_class
    new_holder = _check(record.holder if isinstance(holder, Keep) else holder, new_class, new_from, new_until)
    values: dict[str, Any] = {
        "holder": new_holder,
        "vehicle_class": new_class,
        "valid_from": new_from,
        "valid_until": new_until,
        "active": record.active if isinstance(active, Keep) else active,
    }
    before = {
        "holder": record.holder,
        "vehicle_class": record.vehicle_class,
        "valid_from": record.valid_from,
        "valid_until": record.valid_until,
        "active": record.active,
    }
    links = {
        link.park_id: bool(link.active)
        for link in conn.execute(
            sa.select(vehicle_pass_parks.c.park_id, vehicle_pass_parks.c.active).where(
                vehicle_pass_parks.c.pass_id == record.id
            )
        )
    }
    wanted = {park_id: True for park_id in links if links[park_id]}
    if not isinstance(park_list, Keep):
        wanted = dict.fromkeys(_unique_parks(park_list), True)
    pass_changed = values != before
    for park_id in sorted(set(links) | set(wanted)):
        was, now_open = links.get(park_id, False), wanted.get(park_id, False)
        if park_id not in links:
            conn.execute(
                vehicle_pass_parks.insert().values(
                    pass_id=record.id, park_id=park_id, active=True, change_seq=next_seq(conn, pass_id=record.id)
                )
            )
        elif was != now_open or (pass_changed and now_open):
            # a park that still has the pass, or has just lost or regained it, hears of the change
            conn.execute(
                vehicle_pass_parks.update()
                .where(vehicle_pass_parks.c.pass_id == record.id, vehicle_pass_parks.c.park_id == park_id)
                .values(active=now_open, change_seq=next_seq(conn, pass_id=record.id))
            )
    if pass_changed:
        conn.execute(vehicle_passes.update().where(vehicle_passes.c.id == record.id).values(**values))
    return get_pass(conn, record.plate)


def deactivate_pass(conn: Connection, plate: str) -> VehiclePassRecord:
    """Deactivate a pass in every park; gates refuse the plate by it once synced. Twice is harmless."""
    return update_pass(conn, plate, active=False)


@dataclass(frozen=True)
class PassPage:
    """Vehicle passes of one park changed after a cursor (``protocol.VehiclePassColumns`` shape)."""

    columns: dict[str, list[Any]]
    seqs: list[int]
    complete: bool


def pass_changes_after(conn: Connection, park_id: int, cursor: int, limit: int) -> PassPage:
    """At most ``limit`` of the park's vehicle pass rows with change_seq > cursor, oldest change first."""
    rows = list(
        conn.execute(
            sa.select(
                vehicle_passes.c.plate,
                vehicle_passes.c.holder,
                vehicle_passes.c.vehicle_class,
                sa.func.coalesce(vehicle_passes.c.valid_from, NO_START),
                sa.func.coalesce(vehicle_passes.c.valid_until, NO_END),
                vehicle_passes.c.active,
                vehicle_pass_parks.c.active,
                vehicle_pass_parks.c.change_seq,
            )
            .join(vehicle_passes, vehicle_passes.c.id == vehicle_pass_parks.c.pass_id)
            .where(vehicle_pass_parks.c.park_id == park_id, vehicle_pass_parks.c.change_seq > cursor)
            .order_by(vehicle_pass_parks.c.change_seq)
            .limit(limit + 1)
        ).all()
    )
    complete = len(rows) <= limit
    del rows[limit:]
    columns: dict[str, list[Any]] = {
        "plate": [],
        "holder": [],
        "vehicle_class": [],
        "valid_from": [],
        "valid_until": [],
        "active": [],
    }
    seqs: list[int] = []
    for plate, holder, vehicle_class, valid_from, valid_until, pass_active, park_active, seq in rows:
        columns["plate"].append(plate)
        columns["holder"].append(holder)
        columns["vehicle_class"].append(vehicle_class)
        columns["valid_from"].append(int(valid_from))
        columns["valid_until"].append(int(valid_until))
        columns["active"].append(bool(pass_active) and bool(park_active))
        seqs.append(int(seq))
    return PassPage(columns, seqs, complete)
