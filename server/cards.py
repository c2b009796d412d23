"""RFID cards: the registry of rangers', staff's, guides' and residents' cards, and their change feed.

A card opens one or more parks; its changes reach the gates of each park they concern through the change
feed, as ``server.registry`` keeps them for every kind of credential.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from protocol import CardRole, normalize_uid
from server.db import card_parks, cards
from server.errors import InvalidInput
from server.parks import Park
from server.registry import KEEP, NO_END, NO_START, CredentialPage, Keep, Registry

__all__ = [
    "KEEP",
    "NO_END",
    "NO_START",
    "CardPage",
    "CardRecord",
    "Keep",
    "card_changes_after",
    "check_uid",
    "create_card",
    "deactivate_card",
    "get_card",
    "list_cards",
    "update_card",
]

CardPage = CredentialPage  # the cards of one park changed after a cursor (``protocol.CardColumns`` shape)


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


def _card(row: Any, open_parks: tuple[str, ...], park_ids: tuple[int, ...]) -> CardRecord:
    return CardRecord(
        id=row.id,
        uid=row.uid,
        holder=row.holder,
        role=CardRole(row.role),
        parks=open_parks,
        park_ids=park_ids,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        active=bool(row.active),
        created_at=row.created_at,
    )


CARDS = Registry(
    items=cards,
    links=card_parks,
    link_column="card_id",
    key="uid",
    fields=("role",),
    lookup=check_uid,
    record=_card,
    holder_error="a card holder's name has 1 to 200 characters",
    no_parks_error="a card opens at least one park",
    taken_error="card {key} is registered already",
    missing_error="no card {key}",
)


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
    return CARDS.create(conn, check_uid(uid), holder, {"role": role.value}, park_list, valid_from, valid_until, now)


def get_card(conn: Connection, uid: str) -> CardRecord:
    """The card of a uid in any spelling (``0a:1b`` finds ``0A1B``); NotFound if there is none."""
    return CARDS.get(conn, uid)


def list_cards(conn: Connection, park: Park | None = None) -> list[CardRecord]:
    """Every card, or the cards that open ``park`` now (deactivated ones included), by uid."""
    return CARDS.list_items(conn, park)


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
    return CARDS.update(
        conn,
        uid,
        holder=holder,
        fields={} if isinstance(role, Keep) else {"role": role.value},
        park_list=park_list,
        valid_from=valid_from,
        valid_until=valid_until,
        active=active,
    )


def deactivate_card(conn: Connection, uid: str) -> CardRecord:
    """Deactivate a card in every park; gates refuse it once they synced. Deactivating twice is harmless."""
    return update_card(conn, uid, active=False)


def card_changes_after(conn: Connection, park_id: int, cursor: int, limit: int, until: int | None = None) -> CardPage:
    """At most ``limit`` of the park's card rows with change_seq > cursor, oldest change first."""
    return CARDS.changes_after(conn, park_id, cursor, limit, until)
