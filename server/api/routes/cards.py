"""RFID cards: admins and the park's managers register and change them; the park's rangers read them.

A manager may change a card only when every park it opens (before and after the change) is theirs.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from server.api.deps import ChecksFirst, ConnDep, CurrentUser, ManagerUser, answers
from server.api.schemas import CardCreate, CardPublic, CardUid, CardUpdate, Slug
from server.cards import create_card, deactivate_card, get_card, list_cards, update_card
from server.registry import managed_parks, park_to_list, requested_changes, require_manage, require_read

router = APIRouter(tags=["cards"], route_class=ChecksFirst, responses=answers(404, 422))

Uid = Annotated[CardUid, Path(description="the card's uid in any spelling (0a:1b finds 0A1B)")]

_FIELDS = ("holder", "role", "valid_from", "valid_until", "active")
_NOT_NULL = ("holder", "role", "parks", "active")


@router.post("/cards", status_code=status.HTTP_201_CREATED, responses=answers(409))
def add_card(conn: ConnDep, user: ManagerUser, body: CardCreate) -> CardPublic:
    """Register a card for one or more parks; 409 if the uid is registered, 422 if it is not a uid."""
    record = create_card(
        conn,
        body.uid,
        body.holder,
        body.role,
        managed_parks(conn, user, body.parks),
        valid_from=body.valid_from,
        valid_until=body.valid_until,
    )
    return CardPublic(**record.public())


@router.get("/cards")
def read_cards(
    conn: ConnDep, user: CurrentUser, park: Annotated[Slug | None, Query(description="a park's slug")] = None
) -> list[CardPublic]:
    """The cards that open ``park``; without it, every card for an admin and the own park's for others."""
    return [CardPublic(**record.public()) for record in list_cards(conn, park_to_list(conn, user, park))]


@router.get("/cards/{uid}")
def read_card(conn: ConnDep, user: CurrentUser, uid: Uid) -> CardPublic:
    record = get_card(conn, uid)
    require_read(conn, user, record.park_ids, f"card {record.uid}")
    return CardPublic(**record.public())


@router.patch("/cards/{uid}")
def change_card(conn: ConnDep, user: ManagerUser, uid: Uid, body: CardUpdate) -> CardPublic:
    """Change holder, role, parks, validity or active; the parks concerned get the change on their next sync."""
    record = get_card(conn, uid)
    require_read(conn, user, record.park_ids, f"card {record.uid}")
    require_manage(conn, user, record.parks)
    changes = requested_changes(body, _FIELDS, _NOT_NULL)
    if body.parks is not None:
        changes["park_list"] = managed_parks(conn, user, body.parks)
    return CardPublic(**update_card(conn, record.uid, **changes).public())


@router.post("/cards/{uid}/deactivate")
def deactivate(conn: ConnDep, user: ManagerUser, uid: Uid) -> CardPublic:
    """Deactivate a card in every park it opens; gates refuse it once synced. Deactivating twice is harmless."""
    record = get_card(conn, uid)
    require_read(conn, user, record.park_ids, f"card {record.uid}")
    require_manage(conn, user, record.parks)
    return CardPublic(**deactivate_card(conn, record.uid).public())
