"""Request and response bodies of the user-facing API (the gate's live in ``protocol``).

Every field a request can set has a type from ``protocol.fields`` (or one built from it here): text is one
printable line (or a note) with a length limit, numbers and moments are bounded, so FastAPI refuses anything
else with a 422 before a route runs.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from protocol import CardRole, Direction
from protocol.fields import Code, Count, Label, Name, UnixSeconds, check_line, check_note
from server.accounts import MAX_PASSWORD_CHARS, MAX_USER_NAME_CHARS
from server.errors import InvalidInput
from server.park_time import MAX_TIMEZONE_CHARS, TIMEZONE_PATTERN, check_timezone

Slug = Annotated[
    StrictStr, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", description="lowercase letters, digits, dashes")
]


def _known_zone(value: str) -> str:
    # a park's local midnight must fall on an hour: the roll-ups count whole UTC hours into local days
    try:
        return check_timezone(value)
    except InvalidInput as err:
        raise ValueError(str(err)) from err


TimeZone = Annotated[
    StrictStr,
    Field(
        max_length=MAX_TIMEZONE_CHARS,
        pattern=TIMEZONE_PATTERN,
        description="IANA time zone a whole number of hours from UTC, e.g. Asia/Almaty",
    ),
    AfterValidator(_known_zone),
]


UserName = Annotated[StrictStr, Field(min_length=1, max_length=MAX_USER_NAME_CHARS), AfterValidator(check_line)]
Password = Annotated[StrictStr, Field(min_length=1, max_length=MAX_PASSWORD_CHARS), AfterValidator(check_note)]

# a permit's id as a path names it: its format is the lookup's to judge (a malformed id is simply not found
# on the visitors' pages), but it is a short printable line before any lookup sees it
PermitRef = Annotated[Label, Field(description="the permit's id: 16 characters of base32")]


class FieldError(BaseModel):
    """One thing wrong with a request: where (``["body", "party", 0]``, ``["query", "day"]``), what, and its kind
    (pydantic's error type, or ``json_invalid``). The value sent is never repeated."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorPublic(BaseModel):
    """Every error the API answers (4xx): ``detail`` is a sentence for people; ``code`` and ``params`` a stable key
    and its placeholders where the sentence comes from the catalogue (``server.i18n.MESSAGES``); ``errors`` the
    fields a 422 refused. Sentences from the catalogue are in the request's language (``?lang=``, the ``lang``
    cookie, ``Accept-Language``; English without any), the others in English."""

    detail: str
    code: str | None = None
    params: dict[str, Any] | None = None
    errors: list[FieldError] | None = None


class Body(BaseModel):
    # numbers and text are strict ("5" is not 5, true is not 1); unknown fields are a mistake worth reporting
    model_config = ConfigDict(extra="forbid")


class ParkCreate(Body):
    slug: Slug
    name: Name
    capacity: Count = 0
    daily_quota: Count = 0
    timezone: TimeZone = "Asia/Almaty"


class ParkPublic(BaseModel):
    slug: str
    name: str
    timezone: str
    capacity: int
    daily_quota: int


class GateCreate(Body):
    slug: Slug
    name: Name
    direction: Direction


class GatePublic(BaseModel):
    park: str
    slug: str
    name: str
    direction: Direction


class DeviceToken(BaseModel):
    device_token: str


Plate = Annotated[
    StrictStr, Field(min_length=1, max_length=16, description="licence plate as written"), AfterValidator(check_line)
]
PlateCountry = Annotated[
    StrictStr,
    Field(
        pattern=r"^[A-Z]{2}$",
        description='the plate\'s country: KZ, RU, KG, UZ, or "XX" for any other (generic: 2-8 letters/digits)',
    ),
]
VehicleClass = Literal["motorcycle", "car", "minibus", "bus"]


class PermitCreate(Body):
    park: Slug
    valid_from: UnixSeconds
    valid_until: UnixSeconds
    party: tuple[Count, Count, Count] = Field(description="[adults, children, exempt]")
    plate: Plate | None = None
    plate_country: PlateCountry | None = None
    entries_per_day: Annotated[StrictInt, Field(ge=0, le=1000)] = 0
    category: Code | None = Field(
        default=None,
        description="tariff code; for vehicles the class: pedestrian, motorcycle, car, minibus, bus "
        "(default: car with a plate, standard without)",
    )
    override_quota: StrictBool = Field(
        default=False,
        description="admins only: issue even when the day's or the entry slot's places are gone (recorded)",
    )


class PermitPublic(BaseModel):
    id: str
    token: str
    park: str
    valid_from: int
    valid_until: int
    party: list[int]
    plate: str | None
    entries_per_day: int
    category: str
    issued_at: int
    kid: str
    revoked: bool
    revoked_at: int | None
    quota_override_by: str | None = None  # the admin who issued it beyond the day's or slot's quota


CardUid = Annotated[
    StrictStr,
    Field(min_length=1, max_length=64, description="hex bytes as the reader reports them"),
    AfterValidator(check_line),
]
Holder = Name
ParkList = Annotated[list[Slug], Field(min_length=1, max_length=100, description="slugs of the parks it opens")]


class CardCreate(Body):
    uid: CardUid
    holder: Holder
    role: CardRole
    parks: ParkList
    valid_from: UnixSeconds | None = None  # null: valid from the start
    valid_until: UnixSeconds | None = None  # null: no end


class CardUpdate(Body):
    """Only the fields present change; ``valid_from``/``valid_until`` null removes that limit."""

    holder: Holder | None = None
    role: CardRole | None = None
    parks: ParkList | None = None
    valid_from: UnixSeconds | None = None
    valid_until: UnixSeconds | None = None
    active: StrictBool | None = None


class CardPublic(BaseModel):
    uid: str
    holder: str
    role: CardRole
    parks: list[str]
    valid_from: int | None
    valid_until: int | None
    active: bool
    created_at: int


class VehiclePassCreate(Body):
    plate: Plate
    plate_country: PlateCountry | None = None
    holder: Holder
    vehicle_class: VehicleClass
    parks: ParkList
    valid_from: UnixSeconds | None = None  # null: valid from the start
    valid_until: UnixSeconds | None = None  # null: no end


class VehiclePassUpdate(Body):
    """Only the fields present change; ``valid_from``/``valid_until`` null removes that limit."""

    holder: Holder | None = None
    vehicle_class: VehicleClass | None = None
    parks: ParkList | None = None
    valid_from: UnixSeconds | None = None
    valid_until: UnixSeconds | None = None
    active: StrictBool | None = None


class VehiclePassPublic(BaseModel):
    plate: str
    holder: str
    vehicle_class: str
    parks: list[str]
    valid_from: int | None
    valid_until: int | None
    active: bool
    created_at: int


class Occupancy(BaseModel):
    park: str
    inside: int
    entries_today: int
    capacity: int
    daily_quota: int
    at: int


class StatsPoint(BaseModel):
    start: int
    entries: int
    exits: int
    admitted: int
    refused: dict[str, int]


class Stats(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    park: str
    bucket: str
    from_: int = Field(alias="from")
    to: int
    series: list[StatsPoint]
