"""RFID cards: admins and the park's managers register and change them; the park's rangers read them.

A manager may change a card only when every park it opens (before and after the change) is theirs.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from sqlalchemy.engine import Connection

from server.accounts import Role, User
from server.api.deps import ConnDep, CurrentUser
from server.api.schemas import CardCreate, CardPublic, CardUpdate
from server.cards import CardRecord, create_card, deactivate_card, get_card, list_cards, update_card
from server.errors import AccessDenied, InvalidInput
from server.parks import Park, get_park, get_park_by_id

router = APIRouter(tags=["cards"])

_NOT_NULL = ("holder", "role", "parks", "active")


def _require_read(conn: Connection, user: User, record: CardRecord) -> None:
    if user.role is Role.ADMIN:
        return
    if not any(user.can_read(get_park_by_id(conn, park_id)) for park_id in record.park_ids):
        raise AccessDenied(f"user {user.name!r} has no access to card {record.uid}")


def _require_manage(conn: Connection, user: User, record: CardRecord) -> None:
    for slug in record.parks:
        user.require_manage(get_park(conn, slug))


def _parks(conn: Connection, user: User, slugs: list[str]) -> list[Park]:
    found = [get_park(conn, slug) for slug in slugs]
    for park in found:
        user.require_manage(park)
    return found


@router.post("/cards", status_code=status.HTTP_201_CREATED)
def add_card(conn: ConnDep, user: CurrentUser, body: CardCreate) -> CardPublic:
    """Register a card for one or more parks; 409 if the uid is registered, 422 if it is not a uid."""
    record = create_card(
        conn,
        body.uid,
        body.holder,
        body.role,
        _parks(conn, user, body.parks),
        valid_from=body.valid_from,
        valid_until=body.valid_until,
    )
    return CardPublic(**record.public())


@router.get("/cards")
def read_cards(conn: ConnDep, user: CurrentUser, park: str | None = None) -> list[CardPublic]:
    """The cards that open ``park``; without it, every card for an admin and the own park's for others."""
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
    return [CardPublic(**record.public()) for record in list_cards(conn, found)]


@router.get("/cards/{uid}")
def read_card(conn: ConnDep, user: CurrentUser, uid: str) -> CardPublic:
    record = get_card(conn, uid)
    _require_read(conn, user, record)
    return CardPublic(**record.public())


@router.patch("/cards/{uid}")
def change_card(conn: ConnDep, user: CurrentUser, uid: str, body: CardUpdate) -> CardPublic:
    """Change holder, role, parks, validity or active; the parks concerned get the change on their next sync."""
    record = get_card(conn, uid)
    _require_read(conn, user, record)
    _require_manage(conn, user, record)
    given = body.model_fields_set
    for name in _NOT_NULL:
        if name in given and getattr(body, name) is None:
            raise InvalidInput(f"{name} cannot be null")
    changes: dict[str, Any] = {}
    for name in ("holder", "role", "valid_from", "valid_until", "active"):
        if name in given:
            changes[name] = getattr(body, name)
    if body.parks is not None:
        changes["park_list"] = _parks(conn, user, body.parks)
    return CardPublic(**update_card(conn, record.uid, **changes).public())


@router.post("/cards/{uid}/deactivate")
def deactivate(conn: ConnDep, user: CurrentUser, uid: str) -> CardPublic:
    """Deactivate a card in every park it opens; gates refuse it once synced. Deactivating twice is harmless."""
    record = get_card(conn, uid)
    _require_read(conn, user, record)
    _require_manage(conn, user, record)
    return CardPublic(**deactivate_card(conn, record.uid).public())
