"""RFID cards: the registry of rangers', staff's, guides' and residents' cards, and their change feed.

A card opens one or more parks. Every change to a card enters the same change feed as permits, once per
park it concerns: the park's gates get the card's current row, with ``active`` false when the card was
deactivated or its access to that park withdrawn (the withdrawn park's row stays, so its gates learn it).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from protocol import CardRole, normalize_uid
from server.changes import next_seq
from server.db import card_parks, cards, parks
from server.errors import Conflict, InvalidInput, NotFound
from server.parks import Park

# what gates receive for a card without a start or an end of validity (CardColumns has no nulls)
NO_START = 0
NO_END = 2**40


class Keep(Enum):
    """Leave this field as it is (``None`` is a value for validity: no limit)."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True)
class CardRecord:
    id: int
    uid: str
    holder: str
    role: CardRole
    parks: tuple[str, ...]  # slugs of the parks the card opens now
    park_ids: tuple[int, ...]  # ids of every park the card was ever given, withdrawn ones included
    valid_from: int | None
    valid_until: int | None
    active: bool
    created_at: int

    def public(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "holder": self.holder,
            "role": self.role.value,
            "parks": list(self.parks),
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
            "active": self.active,
            "created_at": self.created_at,
        }


def check_uid(uid: str) -> str:
    """The uid as stored (``protocol.normalize_uid``); raises InvalidInput if it is not one."""
    try:
        return normalize_uid(uid)
    except ValueError as err:
        raise InvalidInput(f"{uid!r} is not a card uid: {err}") from err


def _check(holder: str, valid_from: int | None, valid_until: int | None) -> str:
    holder = holder.strip()
    if not holder or len(holder) > 200:
        raise InvalidInput("a card holder's name has 1 to 200 characters")
    if valid_from is not None and valid_until is not None and valid_until < valid_from:
        raise InvalidInput("valid_until is before valid_from")
    return holder


def _unique_parks(park_list: Sequence[Park]) -> dict[int, Park]:
    if not park_list:
        raise InvalidInput("a card opens at least one park")
    return {park.id: park for park in park_list}


def create_card(
    conn: Connection,
    uid: str,
    holder: str,
    role: CardRole,
    park_list: Sequence[Park],
    valid_from: int | None = None,
    valid_until: int | None = None,
    now: int | None = None,
) -> CardRecord:
    """Register a card for the given parks; raises Conflict if the uid is registered already."""
    uid = check_uid(uid)
    holder = _check(holder, valid_from, valid_until)
    chosen = _unique_parks(park_list)
    if conn.execute(sa.select(cards.c.id).where(cards.c.uid == uid)).first() is not None:
        raise Conflict(f"card {uid} is registered already")
    created_at = int(time.time()) if now is None else now
    try:
        key = conn.execute(
            cards.insert().values(
                uid=uid,
                holder=holder,
                role=role.value,
                valid_from=valid_from,
                valid_until=valid_until,
                active=True,
                created_at=created_at,
            )
        ).inserted_primary_key
    except IntegrityError as err:  # a concurrent request registered it between the check and the insert
        raise Conflict(f"card {uid} is registered already") from err
    assert key is not None
    card_id = int(key[0])
    for park_id in sorted(chosen):
        conn.execute(
            card_parks.insert().values(
                card_id=card_id, park_id=park_id, active=True, change_seq=next_seq(conn, card_id=card_id)
            )
        )
    return get_card(conn, uid)


def _record(conn: Connection, row: Any) -> CardRecord:
    links = conn.execute(
        sa.select(card_parks.c.park_id, card_parks.c.active, parks.c.slug)
        .join(parks, parks.c.id == card_parks.c.park_id)
        .where(card_parks.c.card_id == row.id)
        .order_by(parks.c.slug)
    ).all()
    return CardRecord(
        id=row.id,
        uid=row.uid,
        holder=row.holder,
        role=CardRole(row.role),
        parks=tuple(link.slug for link in links if link.active),
        park_ids=tuple(link.park_id for link in links),
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        active=bool(row.active),
        created_at=row.created_at,
    )


def get_card(conn: Connection, uid: str) -> CardRecord:
    uid = check_uid(uid)
    row = conn.execute(sa.select(cards).where(cards.c.uid == uid)).first()
    if row is None:
        raise NotFound(f"no card {uid}")
    return _record(conn, row)


def list_cards(conn: Connection, park: Park | None = None) -> list[CardRecord]:
    """Every card, or the cards that open ``park`` now (deactivated ones included), by uid."""
    query = sa.select(cards).order_by(cards.c.uid)
    if park is not None:
        opens = sa.select(card_parks.c.card_id).where(card_parks.c.park_id == park.id, card_parks.c.active)
        query = query.where(cards.c.id.in_(opens))
    return [_record(conn, row) for row in conn.execute(query).all()]


def update_card(
    conn: Connection,
    uid: str,
    *,
    holder: str | Keep = KEEP,
    role: CardRole | Keep = KEEP,
    park_list: Sequence[Park] | Keep = KEEP,
    valid_from: int | Keep | None = KEEP,
    valid_until: int | Keep | None = KEEP,
    active: bool | Keep = KEEP,
) -> CardRecord:
    """Change a card; each park the change concerns gets it in its feed. A change to nothing changes nothing."""
    record = get_card(conn, uid)
    new_from = record.valid_from if isinstance(valid_from, Keep) else valid_from
    new_until = record.valid_until if isinstance(valid_until, Keep) else valid_until
    new_holder = _check(record.holder if isinstance(holder, Keep) else holder, new_from, new_until)
    values: dict[str, Any] = {
        "holder": new_holder,
        "role": (record.role if isinstance(role, Keep) else role).value,
        "valid_from": new_from,
        "valid_until": new_until,
        "active": record.active if isinstance(active, Keep) else active,
    }
    before = {
        "holder": record.holder,
        "role": record.role.value,
        "valid_from": record.valid_from,
        "valid_until": record.valid_until,
        "active": record.active,
    }
    links = {
        link.park_id: bool(link.active)
        for link in conn.execute(
            sa.select(card_parks.c.park_id, card_parks.c.active).where(card_parks.c.card_id == record.id)
        )
    }
    wanted = {park_id: True for park_id in links if links[park_id]}
    if not isinstance(park_list, Keep):
        wanted = dict.fromkeys(_unique_parks(park_list), True)
    card_changed = values != before
    for park_id in sorted(set(links) | set(wanted)):
        was, now_open = links.get(park_id, False), wanted.get(park_id, False)
        if park_id not in links:
            conn.execute(
                card_parks.insert().values(
                    card_id=record.id, park_id=park_id, active=True, change_seq=next_seq(conn, card_id=record.id)
                )
            )
        elif was != now_open or (card_changed and now_open):
            # a park that still has the card, or has just lost or regained it, hears of the change
            conn.execute(
                card_parks.update()
                .where(card_parks.c.card_id == record.id, card_parks.c.park_id == park_id)
                .values(active=now_open, change_seq=next_seq(conn, card_id=record.id))
            )
    if card_changed:
        conn.execute(cards.update().where(cards.c.id == record.id).values(**values))
    return get_card(conn, record.uid)


def deactivate_card(conn: Connection, uid: str) -> CardRecord:
    """Deactivate a card in every park; gates refuse it once they synced. Deactivating twice is harmless."""
    return update_card(conn, uid, active=False)


@dataclass(frozen=True)
class CardPage:
    """Cards of one park changed after a cursor, as columns (``protocol.CardColumns`` shape)."""

    columns: dict[str, list[Any]]
    seqs: list[int]
    complete: bool


def card_changes_after(conn: Connection, park_id: int, cursor: int, limit: int) -> CardPage:
    """At most ``limit`` of the park's card rows with change_seq > cursor, oldest change first."""
    rows = list(
        conn.execute(
            sa.select(
                cards.c.uid,
                cards.c.holder,
                cards.c.role,
                sa.func.coalesce(cards.c.valid_from, NO_START),
                sa.func.coalesce(cards.c.valid_until, NO_END),
                cards.c.active,
                card_parks.c.active,
                card_parks.c.change_seq,
            )
            .join(cards, cards.c.id == card_parks.c.card_id)
            .where(card_parks.c.park_id == park_id, card_parks.c.change_seq > cursor)
            .order_by(card_parks.c.change_seq)
            .limit(limit + 1)
        ).all()
    )
    complete = len(rows) <= limit
    del rows[limit:]
    columns: dict[str, list[Any]] = {
        "uid": [],
        "holder": [],
        "role": [],
        "valid_from": [],
        "valid_until": [],
        "active": [],
    }
    seqs: list[int] = []
    for uid, holder, role, valid_from, valid_until, card_active, park_active, seq in rows:
        columns["uid"].append(uid)
        columns["holder"].append(holder)
        columns["role"].append(role)
        columns["valid_from"].append(int(valid_from))
        columns["valid_until"].append(int(valid_until))
        columns["active"].append(bool(card_active) and bool(park_active))
        seqs.append(int(seq))
    return CardPage(columns, seqs, complete)
