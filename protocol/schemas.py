"""What gates and the server exchange over HTTP: sync pages and event batches (pydantic v2).

Sync is a change feed: every change the server makes to what a gate must know (a permit issued or
revoked, a key added or dropped, a park setting) gets a increasing sequence number; a gate asks for the
changes after its cursor, a page at a time, until a page says ``complete``. Permits travel as columns
(one array per field) because a fresh gate pulls a million of them and rows of objects would triple the
bytes on the wire.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError, model_validator

from protocol.cards import MAX_UID_BYTES
from protocol.fields import Code, Note, UnixMillis
from protocol.permit import MAX_PARTY, PERMIT_ID_BYTES
from protocol.reasons import Reason

MAX_EVENTS_PER_BATCH = 1000
MAX_REFUSAL_CHARS = 500
_NOT_PRINTABLE_ASCII = re.compile(r"[^\x20-\x7e]")


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


# The event batch result's version: a gate posts ``POST /gate/events?schema=N`` with the highest it reads.
# 1: ``new`` and ``duplicates``; an event the server refused was listed among ``duplicates`` (the server keeps it
# set aside), so a release that knows no refusals stops resending it. 2: adds ``refused`` with the reasons.
EVENTS_SCHEMA = 2

PERMIT_ID_CHARS = PERMIT_ID_BYTES * 8 // 5  # base32: 5 bits a character
MAX_PLATE_CHARS = 16  # the longest plate the server takes as written (server.api.schemas.Plate) stays as long

EventId = Annotated[
    StrictStr,
    Field(
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
        description="the gate-made UUIDv7, lowercase",
    ),
]
PermitIdText = Annotated[
    StrictStr, Field(pattern=rf"^[a-z2-7]{{{PERMIT_ID_CHARS}}}$", description="protocol.permit_id_text")
]
CardUid = Annotated[
    StrictStr,
    Field(pattern=rf"^(?:[0-9A-F]{{2}}){{1,{MAX_UID_BYTES}}}$", description="protocol.normalize_uid"),
]
PlateText = Annotated[
    StrictStr, Field(pattern=rf"^[A-Z0-9]{{1,{MAX_PLATE_CHARS}}}$", description="protocol.normalize_plate")
]
Flag = Literal["unlisted", "clock_suspect", "offline"]


class GateEvent(Strict):
    """One decision a gate made. ``id`` is the gate-made UUIDv7 that makes uploads idempotent.

    Every field is bounded (the server stores and shows what a gate sends); a refused decision lets nobody
    through, so it counts no people. Whether ``occurred_at`` is plausible needs a clock to compare with: the
    server judges that (``server.events``), not this type, so a gate with a clock gone back to 1970 still records
    its decisions.
    """

    id: EventId
    occurred_at: UnixMillis  # gate clock
    direction: Direction
    credential: CredentialKind
    reason: Reason
    granted: StrictBool
    people: Annotated[StrictInt, Field(ge=0, le=1000)] = 0  # people counted through the gate (0 if refused)
    permit_id: PermitIdText | None = None
    card_uid: CardUid | None = None  # normalised uid of the card presented (credential "card")
    plate: PlateText | None = None  # the plate read at a vehicle lane (credential "plate", or a permit's car)
    category: Code | None = None  # permit category, the card holder's role, or the vehicle pass's class
    flags: Annotated[list[Flag], Field(max_length=3)] = []
    note: Note | None = None  # manual opens carry the ranger's reason

    @model_validator(mode="after")
    def _consistent(self) -> GateEvent:
        if self.granted != self.reason.admits:
            raise ValueError(f"granted={self.granted} contradicts reason {self.reason.value!r}")
        if not self.granted and self.people:
            raise ValueError(f"a refused event counts no people, this one counts {self.people}")
        if len(set(self.flags)) != len(self.flags):
            raise ValueError(f"flags repeat: {self.flags}")
        return self


class EventBatch(Strict):
    events: Annotated[list[GateEvent], Field(min_length=1, max_length=MAX_EVENTS_PER_BATCH)]


class Tolerant(BaseModel):
    """What the server answers a gate: members a later server adds are ignored, so they never stop a gate."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class RefusedEvent(Tolerant):
    """An event of the batch the server did not store, and why (one English sentence naming the field)."""

    id: str | None  # the event's id, None when the id itself was unreadable
    index: int  # its position in the batch
    reason: str


class EventBatchResult(Tolerant):
    new: list[str]  # ids stored by this request
    duplicates: list[str]  # ids the server already had (a retried upload)
    refused: list[RefusedEvent] = []  # from EVENTS_SCHEMA 2: events not stored, to be set aside by the gate


def refusal_reason(err: ValidationError) -> str:
    """Why a record was refused, naming each field: ``note: character U+0000 at position 3 is not allowed in
    text; people: …`` (at most ``MAX_REFUSAL_CHARS``). Never quotes the refused value, which may be the problem;
    printable ASCII only (a field name the sender made up may hold anything), so any database and page holds it."""
    parts = []
    for error in err.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "event"
        parts.append(f"{where}: {error['msg'].removeprefix('Value error, ')}")
    text = _NOT_PRINTABLE_ASCII.sub(lambda found: f"\\u{ord(found.group()):04x}", "; ".join(parts))
    return text if len(text) <= MAX_REFUSAL_CHARS else text[: MAX_REFUSAL_CHARS - 3] + "..."
