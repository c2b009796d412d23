"""Park-scoped registries of credentials (cards, vehicle passes), their change feed, and who may change them.

A credential is a row of its item table, known by a unique key (a card's uid, a vehicle's plate), that opens
one or more parks through a link table (item, park, ``active``, ``change_seq``). Every change to a credential
enters the change feed shared with permits, once per park it concerns: the park's gates get the credential's
current row, with ``active`` false when it was deactivated or its access to that park withdrawn (the withdrawn
park's row stays, so its gates learn it). ``server.cards`` and ``server.vehicle_passes`` each describe their
tables with a ``Registry``; their routes share the permission rules at the end of this module.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from server.accounts import Role, User
from server.changes import next_seq
from server.db import parks
from server.errors import AccessDenied, Conflict, InvalidInput, NotFound
from server.parks import Park, get_park, get_park_by_id

# what gates receive for a credential without a start or an end of validity (the feed's columns have no nulls)
NO_START = 0
NO_END = 2**40


class Keep(Enum):
    """Leave this field as it is (``None`` is a value for validity: no limit)."""

    KEEP = "keep"


KEEP = Keep.KEEP

Record = TypeVar("Record")


@dataclass(frozen=True)
class CredentialPage:
    """Credentials of one park changed after a cursor, as columns (``protocol`` ``*Columns`` shape)."""

    columns: dict[str, list[Any]]
    seqs: list[int]
    complete: bool


def _no_check(fields: Mapping[str, Any]) -> None:
    """Fields that the column types alone constrain."""


@dataclass(frozen=True)
class Registry(Generic[Record]):
    """One kind of credential: its tables, its own columns, its messages, and how a row becomes its record.

    Besides ``key`` and ``fields``, the item table has ``id``, ``holder``, ``valid_from``, ``valid_until``,
    ``active`` and ``created_at``; the link table has ``link_column``, ``park_id``, ``active`` and
    ``change_seq``. The feed's columns are the key, ``holder``, the fields, the validity and ``active``.
    """

    items: sa.Table
    links: sa.Table
    link_column: str  # the link table's column naming the item, also its keyword for ``next_seq``
    key: str  # the item table's unique column, in its stored spelling
    fields: tuple[str, ...]  # the kind's own columns, stored and fed as they are
    lookup: Callable[[str], str]  # any spelling of a key -> the stored one; InvalidInput if it is none
    record: Callable[[Any, tuple[str, ...], tuple[int, ...]], Record]  # row, parks open now, every park id
    holder_error: str
    no_parks_error: str
    taken_error: str  # formatted with {key}
    missing_error: str  # formatted with {key}
    check_fields: Callable[[Mapping[str, Any]], None] = _no_check  # InvalidInput for bad field values

    def _link_owner(self) -> sa.Column[Any]:
        return self.links.c[self.link_column]

    def _next_seq(self, conn: Connection, item_id: int) -> int:
        owner: dict[str, Any] = {self.link_column: item_id}
        return next_seq(conn, **owner)

    def _link(self, conn: Connection, item_id: int, park_id: int) -> None:
        seq = self._next_seq(conn, item_id)
        conn.execute(
            self.links.insert().values(
                {self.link_column: item_id, "park_id": park_id, "active": True, "change_seq": seq}
            )
        )

    def _check(self, holder: str, fields: Mapping[str, Any], valid_from: int | None, valid_until: int | None) -> str:
        holder = holder.strip()
        if not holder or len(holder) > 200:
            raise InvalidInput(self.holder_error)
        self.check_fields(fields)
        if valid_from is not None and valid_until is not None and valid_until < valid_from:
            raise InvalidInput("valid_until is before valid_from")
        return holder

    def _unique_parks(self, park_list: Sequence[Park]) -> dict[int, Park]:
        if not park_list:
            raise InvalidInput(self.no_parks_error)
        return {park.id: park for park in park_list}

    def create(
        self,
        conn: Connection,
        key: str,
        holder: str,
        fields: Mapping[str, Any],
        park_list: Sequence[Park],
        valid_from: int | None,
        valid_until: int | None,
        now: int | None,
    ) -> Record:
        """Register a credential, its ``key`` already checked and stored-spelled; Conflict if the key is taken."""
        holder = self._check(holder, fields, valid_from, valid_until)
        chosen = self._unique_parks(park_list)
        items = self.items
        if conn.execute(sa.select(items.c.id).where(items.c[self.key] == key)).first() is not None:
            raise Conflict(self.taken_error.format(key=key))
        created_at = int(time.time()) if now is None else now
        values = {self.key: key, "holder": holder, **fields, "valid_from": valid_from, "valid_until": valid_until}
        try:
            inserted = conn.execute(
                items.insert().values(**values, active=True, created_at=created_at)
            ).inserted_primary_key
        except IntegrityError as err:  # a concurrent request registered it between the check and the insert
            raise Conflict(self.taken_error.format(key=key)) from err
        assert inserted is not None
        item_id = int(inserted[0])
        for park_id in sorted(chosen):
            self._link(conn, item_id, park_id)
        return self.get(conn, key)

    def _row(self, conn: Connection, key: str) -> Any:
        key = self.lookup(key)
        row = conn.execute(sa.select(self.items).where(self.items.c[self.key] == key)).first()
        if row is None:
            raise NotFound(self.missing_error.format(key=key))
        return row

    def _record(self, conn: Connection, row: Any) -> Record:
        links = conn.execute(
            sa.select(self.links.c.park_id, self.links.c.active, parks.c.slug)
            .join(parks, parks.c.id == self.links.c.park_id)
            .where(self._link_owner() == row.id)
            .order_by(parks.c.slug)
        ).all()
        return self.record(
            row, tuple(link.slug for link in links if link.active), tuple(link.park_id for link in links)
        )

    def get(self, conn: Connection, key: str) -> Record:
        """The credential of ``key`` in any spelling ``lookup`` takes; NotFound if there is none."""
        return self._record(conn, self._row(conn, key))

    def list_items(self, conn: Connection, park: Park | None) -> list[Record]:
        """Every credential, or those that open ``park`` now (deactivated ones included), by key."""
        items, links = self.items, self.links
        query = sa.select(items).order_by(items.c[self.key])
        if park is not None:
            opens = sa.select(self._link_owner()).where(links.c.park_id == park.id, links.c.active)
            query = query.where(items.c.id.in_(opens))
        return [self._record(conn, row) for row in conn.execute(query).all()]

    def update(
        self,
        conn: Connection,
        key: str,
        *,
        holder: str | Keep,
        fields: Mapping[str, Any],
        park_list: Sequence[Park] | Keep,
        valid_from: int | Keep | None,
        valid_until: int | Keep | None,
        active: bool | Keep,
    ) -> Record:
        """Change a credential (``fields`` left out stay); each park the change concerns gets it in its feed.

        A change to nothing changes nothing.
        """
        row = self._row(conn, key)
        stored = row._mapping
        before = {
            "holder": row.holder,
            **{name: stored[name] for name in self.fields},
            "valid_from": row.valid_from,
            "valid_until": row.valid_until,
            "active": bool(row.active),
        }
        new_fields = {name: fields.get(name, stored[name]) for name in self.fields}
        new_from = row.valid_from if isinstance(valid_from, Keep) else valid_from
        new_until = row.valid_until if isinstance(valid_until, Keep) else valid_until
        new_holder = self._check(row.holder if isinstance(holder, Keep) else holder, new_fields, new_from, new_until)
        values: dict[str, Any] = {
            "holder": new_holder,
            **new_fields,
            "valid_from": new_from,
            "valid_until": new_until,
            "active": before["active"] if isinstance(active, Keep) else active,
        }
        owner, links = self._link_owner(), self.links
        was_open = {
            link.park_id: bool(link.active)
            for link in conn.execute(sa.select(links.c.park_id, links.c.active).where(owner == row.id))
        }
        wanted = {park_id: True for park_id in was_open if was_open[park_id]}
        if not isinstance(park_list, Keep):
            wanted = dict.fromkeys(self._unique_parks(park_list), True)
        item_changed = values != before
        for park_id in sorted(set(was_open) | set(wanted)):
            was, now_open = was_open.get(park_id, False), wanted.get(park_id, False)
            if park_id not in was_open:
                self._link(conn, row.id, park_id)
            elif was != now_open or (item_changed and now_open):
                # a park that still has the credential, or has just lost or regained it, hears of the change
                conn.execute(
                    links.update()
                    .where(owner == row.id, links.c.park_id == park_id)
                    .values(active=now_open, change_seq=self._next_seq(conn, row.id))
                )
        if item_changed:
            conn.execute(self.items.update().where(self.items.c.id == row.id).values(**values))
        return self.get(conn, stored[self.key])

    def changes_after(
        self, conn: Connection, park_id: int, cursor: int, limit: int, until: int | None = None
    ) -> CredentialPage:
        """At most ``limit`` of the park's rows with cursor < change_seq <= until, oldest change first."""
        items, links = self.items, self.links
        rows = list(
            conn.execute(
                sa.select(
                    items.c[self.key],
                    items.c.holder,
                    *(items.c[name] for name in self.fields),
                    sa.func.coalesce(items.c.valid_from, NO_START),
                    sa.func.coalesce(items.c.valid_until, NO_END),
                    items.c.active,
                    links.c.active,
                    links.c.change_seq,
                )
                .join(items, items.c.id == self._link_owner())
                .where(
                    links.c.park_id == park_id,
                    links.c.change_seq > cursor,
                    sa.true() if until is None else links.c.change_seq <= until,
                )
                .order_by(links.c.change_seq)
                .limit(limit + 1)
            ).all()
        )
        complete = len(rows) <= limit
        del rows[limit:]
        as_stored = (self.key, "holder", *self.fields)
        columns: dict[str, list[Any]] = {name: [] for name in (*as_stored, "valid_from", "valid_until", "active")}
        seqs: list[int] = []
        for row in rows:
            *texts, valid_from, valid_until, item_active, park_active, seq = row
            for name, value in zip(as_stored, texts, strict=True):
                columns[name].append(value)
            columns["valid_from"].append(int(valid_from))
            columns["valid_until"].append(int(valid_until))
            columns["active"].append(bool(item_active) and bool(park_active))
            seqs.append(int(seq))
        return CredentialPage(columns, seqs, complete)


# Who may do what, for the routes: admins everything; a manager changes a credential only when every park
# it opens, before and after the change, is theirs; rangers read the credentials their park ever had.


def require_read(conn: Connection, user: User, park_ids: Collection[int], what: str) -> None:
    """AccessDenied unless ``user`` reads one of the parks the credential ``what`` was ever given."""
    if user.role is Role.ADMIN:
        return
    if not any(user.can_read(get_park_by_id(conn, park_id)) for park_id in park_ids):
        raise AccessDenied(f"user {user.name!r} has no access to {what}")


def require_manage(conn: Connection, user: User, slugs: Collection[str]) -> None:
    """AccessDenied unless ``user`` manages every one of these parks."""
    for slug in slugs:
        user.require_manage(get_park(conn, slug))


def managed_parks(conn: Connection, user: User, slugs: Collection[str]) -> list[Park]:
    """The parks of ``slugs``; NotFound for an unknown one, AccessDenied unless ``user`` manages them all."""
    found = [get_park(conn, slug) for slug in slugs]
    for park in found:
        user.require_manage(park)
    return found


def park_to_list(conn: Connection, user: User, slug: str | None) -> Park | None:
    """The park whose credentials ``user`` lists: ``slug``'s, else every park (None) for an admin, else theirs."""
    if slug is not None:
        park = get_park(conn, slug)
        user.require_read(park)
        return park
    if user.role is Role.ADMIN:
        return None
    if user.park_id is not None:
        return get_park_by_id(conn, user.park_id)
    raise AccessDenied(f"user {user.name!r} belongs to no park")


def requested_changes(body: BaseModel, names: Sequence[str], not_null: Collection[str]) -> dict[str, Any]:
    """The fields of ``names`` that a PATCH body gives; InvalidInput if one of ``not_null`` is given as null."""
    given = body.model_fields_set
    for name in not_null:
        if name in given and getattr(body, name) is None:
            raise InvalidInput(f"{name} cannot be null")
    return {name: getattr(body, name) for name in names if name in given}
