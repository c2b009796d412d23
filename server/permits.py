"""Permits: issue (signed with the server's key), look up, revoke, and the change feed gates sync from."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from protocol import Permit, SigningKey, encode_token, new_permit_id, permit_id_bytes, permit_id_text
from protocol.permit import MAX_PARTY
from server.changes import next_seq
from server.db import parks, permits
from server.errors import InvalidInput, NotFound
from server.parks import Park
from server.plates import DEFAULT_VEHICLE_CLASS, PEDESTRIAN, check_plate


@dataclass(frozen=True)
class PermitRecord:
    id: str
    park: str
    park_id: int
    valid_from: int
    valid_until: int
    party: tuple[int, int, int]
    plate: str | None
    entries_per_day: int
    category: str
    issued_at: int
    kid: str
    token: str
    revoked: bool
    revoked_at: int | None
    quota_override_by: str | None = None  # the admin who issued it beyond a quota

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "token": self.token,
            "park": self.park,
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
            "party": list(self.party),
            "plate": self.plate,
            "entries_per_day": self.entries_per_day,
            "category": self.category,
            "issued_at": self.issued_at,
            "kid": self.kid,
            "revoked": self.revoked,
            "revoked_at": self.revoked_at,
            "quota_override_by": self.quota_override_by,
        }


def issue_permit(
    conn: Connection,
    key: SigningKey,
    park: Park,
    valid_from: int,
    valid_until: int,
    party: tuple[int, int, int],
    plate: str | None = None,
    entries_per_day: int = 0,
    category: str | None = None,
    now: int | None = None,
    plate_country: str | None = None,
    quota_override_by: str | None = None,
) -> PermitRecord:
    """Sign and store a new permit; it enters the park's change feed at once.

    A vehicle permit carries the car's plate, checked against the plate grammars (``server.plates``), and
    its tariff code in ``category`` — for vehicles the vehicle class (motorcycle, car, minibus, bus), which
    defaults to car when a plate is given; a pedestrian permit cannot carry a plate.
    """
    if valid_until < valid_from:
        raise InvalidInput("valid_until is before valid_from")
    if any(n < 0 for n in party) or sum(party) == 0:
        raise InvalidInput("party is [adults, children, exempt] of non-negative counts, at least one person")
    if sum(party) > MAX_PARTY:
        raise InvalidInput(f"a permit is for at most {MAX_PARTY} people")
    if entries_per_day < 0:
        raise InvalidInput("entries_per_day must not be negative (0 = unlimited)")
    if plate is not None:
        if category == PEDESTRIAN:
            raise InvalidInput("a pedestrian permit cannot carry a plate; give the vehicle class as category")
        plate = check_plate(plate, plate_country)
        category = category or DEFAULT_VEHICLE_CLASS
    elif plate_country is not None:
        raise InvalidInput("plate_country without a plate")
    category = category or "standard"
    issued_at = int(time.time()) if now is None else now
    permit = Permit(
        id=new_permit_id(),
        park=park.slug,
        valid_from=valid_from,
        valid_until=valid_until,
        party=party,
        issued_at=issued_at,
        plate=plate,
        entries_per_day=entries_per_day,
        category=category,
    )
    token = encode_token(permit, key)
    record = PermitRecord(
        id=permit_id_text(permit.id),
        park=park.slug,
        park_id=park.id,
        valid_from=valid_from,
        valid_until=valid_until,
        party=party,
        plate=plate,
        entries_per_day=entries_per_day,
        category=category,
        issued_at=issued_at,
        kid=key.kid,
        token=token,
        revoked=False,
        revoked_at=None,
        quota_override_by=quota_override_by,
    )
    conn.execute(
        permits.insert().values(
            id=record.id,
            park_id=park.id,
            valid_from=valid_from,
            valid_until=valid_until,
            adults=party[0],
            children=party[1],
            exempt=party[2],
            plate=plate,
            entries_per_day=entries_per_day,
            category=category,
            issued_at=issued_at,
            kid=key.kid,
            token=token,
            revoked=False,
            revoked_at=None,
            change_seq=next_seq(conn, permit_id=record.id),
            quota_override_by=quota_override_by,
        )
    )
    return record


def check_permit_id(permit_id: str) -> str:
    """The id as stored (lowercase); raises InvalidInput if it cannot be a permit id."""
    try:
        permit_id_bytes(permit_id)
    except ValueError as err:
        raise InvalidInput(f"{permit_id!r} is not a permit id: {err}") from err
    return permit_id.lower()


def get_permit(conn: Connection, permit_id: str) -> PermitRecord:
    permit_id = check_permit_id(permit_id)
    row = conn.execute(
        sa.select(permits, parks.c.slug.label("park_slug"))
        .join(parks, parks.c.id == permits.c.park_id)
        .where(permits.c.id == permit_id)
    ).first()
    if row is None:
        raise NotFound(f"no permit {permit_id!r}")
    return PermitRecord(
        id=row.id,
        park=row.park_slug,
        park_id=row.park_id,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        party=(row.adults, row.children, row.exempt),
        plate=row.plate,
        entries_per_day=row.entries_per_day,
        category=row.category,
        issued_at=row.issued_at,
        kid=row.kid,
        token=row.token,
        revoked=bool(row.revoked),
        revoked_at=row.revoked_at,
        quota_override_by=row.quota_override_by,
    )


def revoke_permit(conn: Connection, permit_id: str, now: int | None = None) -> PermitRecord:
    """Revoke a permit; the revocation reaches gates as a new change. Revoking twice changes nothing."""
    record = get_permit(conn, permit_id)
    if record.revoked:
        return record
    revoked_at = int(time.time()) if now is None else now
    conn.execute(
        permits.update()
        .where(permits.c.id == record.id)
        .values(revoked=True, revoked_at=revoked_at, change_seq=next_seq(conn, permit_id=record.id))
    )
    return get_permit(conn, record.id)


@dataclass(frozen=True)
class ChangePage:
    """Permits of one park changed after a cursor, as columns (``protocol.PermitColumns`` shape)."""

    columns: dict[str, list[Any]]
    cursor: int
    complete: bool
    seqs: list[int] = field(default_factory=list)  # each row's change number, for merging with other kinds


def changes_after(conn: Connection, park_id: int, cursor: int, limit: int, until: int | None = None) -> ChangePage:
    """At most ``limit`` permits with change_seq > cursor, oldest change first.

    This is the hot path of a fresh gate's full sync (a million rows): plain Core tuples, no objects.
    One row more than asked for tells whether the page completes the feed. The ``plate``, ``people`` and
    ``entries_per_day`` columns are there only when a permit of the page has a plate, so a feed of
    pedestrian permits stays as small as before.
    ``until`` bounds the change numbers read (see ``server.feed``).
    """
    rows = list(
        conn.execute(
            sa.select(
                permits.c.id,
                permits.c.valid_from,
                permits.c.valid_until,
                permits.c.revoked,
                permits.c.plate,
                permits.c.adults + permits.c.children + permits.c.exempt,
                permits.c.entries_per_day,
                permits.c.change_seq,
            )
            .where(
                permits.c.park_id == park_id,
                permits.c.change_seq > cursor,
                sa.true() if until is None else permits.c.change_seq <= until,
            )
            .order_by(permits.c.change_seq)
            .limit(limit + 1)
        ).all()
    )
    complete = len(rows) <= limit
    del rows[limit:]
    if not rows:
        return ChangePage({"id": [], "valid_from": [], "valid_until": [], "revoked": []}, cursor, complete)
    ids, valid_from, valid_until, revoked, plates, people, entries, seqs = zip(*rows, strict=True)
    columns: dict[str, list[Any]] = {
        "id": list(ids),
        "valid_from": list(valid_from),
        "valid_until": list(valid_until),
        "revoked": [bool(r) for r in revoked],
    }
    if any(plate is not None for plate in plates):
        # a car admitted by its plate alone counts its party and keeps to its entries per day
        columns["plate"] = list(plates)
        columns["people"] = list(people)
        columns["entries_per_day"] = list(entries)
    return ChangePage(columns, int(seqs[-1]), complete, list(seqs))
