"""What gates and the server exchange over HTTP: sync pages and event batches (pydantic v2).

Sync is a change feed: every change the server makes to what a gate must know (a permit issued or
revoked, a key added or dropped, a park setting) gets a increasing sequence number; a gate asks for the
changes after its cursor, a page at a time, until a page says ``complete``. Permits travel as columns
(one array per field) because a fresh gate pulls a million of them and rows of objects would triple the
bytes on the wire.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from protocol.permit import MAX_PARTY
from protocol.reasons import Reason

MAX_EVENTS_PER_BATCH = 1000


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ZoneSettings(Strict):
    """The zone of the park the gate belongs to (a canyon, a lake shore) and its own limits; 0 = no limit.

    Its counts are the zone's gates' people, counted by the server with the park's at ``counted_at``.
    """

    slug: str
    name: str
    capacity: int = 0
    daily_quota: int = 0
    occupancy: int = 0
    entries_today: int = 0


class ParkSettings(Strict):
    slug: str
    name: str
    timezone: str = "Asia/Almaty"  # UTC+5 since 2024-03-01
    capacity: int = 0  # people at one time; 0 = no limit
    daily_quota: int = 0  # entries a day; 0 = no limit
    # the park's people inside and entries today as the server counted them when this page was made;
    # a gate adds what it decided since, so capacity holds "as far as the gate knows"
    occupancy: int = 0
    entries_today: int = 0
    counted_at: int = 0  # unix seconds
    # the gate's zone, when it has one: the gate applies the zone's limits as well as the park's
    zone: ZoneSettings | None = None


class PermitColumns(Strict):
    """Permits changed after the cursor, column-wise; every list has the same length."""

    id: list[str] = []  # permit id text (protocol.permit.permit_id_text)
    valid_from: list[int] = []
    valid_until: list[int] = []
    revoked: list[bool] = []
    # the vehicle's normalised plate (protocol.plates), so a vehicle lane can admit the car by its plate;
    # absent (None) for pedestrian permits. Optional as a whole so a feed of pedestrian permits stays small.
    plate: list[str | None] | None = None
    # the party's size and the permit's entries per day (0 = unlimited), sent with ``plate``: a car admitted
    # by its plate alone counts its party and keeps to its entries, as its QR would. Absent from an older
    # server's feed, when a gate counts the driver alone.
    people: list[Annotated[int, Field(ge=1, le=MAX_PARTY)]] | None = None
    entries_per_day: list[Annotated[int, Field(ge=0)]] | None = None

    @model_validator(mode="after")
    def _same_lengths(self) -> PermitColumns:
        n = len(self.id)
        if not (len(self.valid_from) == len(self.valid_until) == len(self.revoked) == n):
            raise ValueError("permit columns must all have the same length")
        for column in (self.plate, self.people, self.entries_per_day):
            if column is not None and len(column) != n:
                raise ValueError("permit columns must all have the same length")
        return self

    def __len__(self) -> int:
        return len(self.id)


class CardRole(StrEnum):
    RANGER = "ranger"
    STAFF = "staff"
    GUIDE = "guide"
    RESIDENT = "resident"  # enters free and is counted as a visitor of category "resident"

    @property
    def counted_as_visitor(self) -> bool:
        return self is CardRole.RESIDENT


class CardColumns(Strict):
    """RFID cards of the gate's park changed after the cursor, column-wise (same feed and cursor as permits).

    ``uid`` is the card's id as readers report it, normalised by ``protocol.cards.normalize_uid``. A card
    that was deactivated, or whose park access was withdrawn, comes with ``active`` false.
    """

    uid: list[str] = []
    holder: list[str] = []
    role: list[CardRole] = []
    valid_from: list[int] = []
    valid_until: list[int] = []
    active: list[bool] = []

    @model_validator(mode="after")
    def _same_lengths(self) -> CardColumns:
        n = len(self.uid)
        columns = (self.holder, self.role, self.valid_from, self.valid_until, self.active)
        if any(len(column) != n for column in columns):
            raise ValueError("card columns must all have the same length")
        return self

    def __len__(self) -> int:
        return len(self.uid)


class VehiclePassColumns(Strict):
    """Vehicle passes (annual or resident passes by plate alone) changed after the cursor, like cards."""

    plate: list[str] = []  # normalised plate (protocol.plates)
    holder: list[str] = []
    vehicle_class: list[str] = []  # motorcycle | car | minibus | bus
    valid_from: list[int] = []
    valid_until: list[int] = []
    active: list[bool] = []

    @model_validator(mode="after")
    def _same_lengths(self) -> VehiclePassColumns:
        n = len(self.plate)
        columns = (self.holder, self.vehicle_class, self.valid_from, self.valid_until, self.active)
        if any(len(column) != n for column in columns):
            raise ValueError("vehicle pass columns must all have the same length")
        return self

    def __len__(self) -> int:
        return len(self.plate)


# The sync page's version: a gate asks ``GET /gate/sync?schema=N`` with the highest it reads, and the server
# sends nothing newer (this module refuses fields it does not know, so an older gate would stop syncing).
# 1: the walking skeleton's page. 2: adds PermitColumns.people/entries_per_day and ParkSettings.zone.
SYNC_SCHEMA = 2


class SyncPage(Strict):
    cursor: str  # give it back as ?cursor= to get the next page
    complete: bool  # no more changes after this page (for now)
    park: ParkSettings | None = None  # present when settings or counts changed, always on the first page
    keys: list[dict[str, Any]] | None = None  # the whole JWK Set, when it changed since the cursor
    permits: PermitColumns = PermitColumns()
    cards: CardColumns = CardColumns()
    vehicle_passes: VehiclePassColumns = VehiclePassColumns()


class Direction(StrEnum):
    ENTRY = "entry"
    EXIT = "exit"


class CredentialKind(StrEnum):
    PERMIT = "permit"
    CARD = "card"
    PLATE = "plate"
    MANUAL = "manual"


class GateEvent(Strict):
    """One decision a gate made. ``id`` is the gate-made UUIDv7 that makes uploads idempotent."""

    id: Annotated[str, Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")]
    occurred_at: Annotated[int, Field(ge=0, description="unix milliseconds, gate clock")]
    direction: Direction
    credential: CredentialKind
    reason: Reason
    granted: bool
    people: Annotated[int, Field(ge=0, le=1000)] = 0  # people counted through the gate (0 if refused)
    permit_id: str | None = None
    card_uid: str | None = None  # normalised uid of the card presented (credential "card")
    plate: str | None = None  # the plate read at a vehicle lane, normalised (credential "plate", or a permit's car)
    category: str | None = None  # permit category, or the card holder's role
    flags: list[Literal["unlisted", "clock_suspect", "offline"]] = []
    note: Annotated[str, Field(max_length=500)] | None = None  # manual opens carry the ranger's reason

    @model_validator(mode="after")
    def _granted_matches_reason(self) -> GateEvent:
        if self.granted != self.reason.admits:
            raise ValueError(f"granted={self.granted} contradicts reason {self.reason.value!r}")
        return self


class EventBatch(Strict):
    events: Annotated[list[GateEvent], Field(min_length=1, max_length=MAX_EVENTS_PER_BATCH)]


class EventBatchResult(Strict):
    new: list[str]  # ids stored by this request
    duplicates: list[str]  # ids the server already had (a retried upload)
