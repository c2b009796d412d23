"""The anonymous visitor's API under ``/api/v1/public/``: parks, availability, price, booking, the e-permit.

No credential; every call is rate limited per client address (429 with ``Retry-After``). Errors come as
``{"detail": <text in the request's language>, "code", "params"}`` (``server.i18n.LocalizedError``); the
language is ``?lang=``, the ``lang`` cookie or ``Accept-Language``. A permit is reached by its id alone:
10 random bytes, as unguessable as a password, and the permit holds no personal data.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import AfterValidator, BaseModel, Field, StrictInt, StrictStr
from sqlalchemy.engine import Connection

from protocol.fields import Day, check_line
from server.api.deps import ChecksFirst, ConnDep, ParkSlug, PermitId, SettingsDep, SigningKeyDep, answers
from server.api.schemas import Body, PlateCountry, Slug, VehicleClass
from server.api.schemas import Plate as PlateText
from server.bookings import (
    Booking,
    BookingRequest,
    availability,
    book,
    get_booking,
    hhmm,
    parse_hhmm,
    price,
)
from server.errors import NotFound
from server.i18n import LocalizedError, format_money, format_time, gettext_for, request_language
from server.park_time import park_today
from server.parks import Park, get_park, list_parks
from server.pdf import permit_pdf, qr_png
from server.pricing import Party, Quote
from server.ratelimit import TokenBuckets, client_address


def rate_limit(request: Request) -> None:
    """Refuse a client address that has spent its bucket (``LocalizedError`` 429)."""
    buckets: TokenBuckets = request.app.state.public_rate
    wait = buckets.take(client_address(request))
    if wait:
        raise LocalizedError("rate_limited", status_code=status.HTTP_429_TOO_MANY_REQUESTS, seconds=wait)


router = APIRouter(
    prefix="/public",
    tags=["public booking"],
    dependencies=[Depends(rate_limit)],
    route_class=ChecksFirst,
    responses=answers(429),
)

PartyCount = Annotated[StrictInt, Field(ge=0, le=50)]
SlotText = Annotated[StrictStr, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="entry time, HH:MM")]
# what it may hold is the booking's to say, in the visitor's language (``bad_payment_reference``)
PaymentReference = Annotated[StrictStr, Field(min_length=1, max_length=64), AfterValidator(check_line)]


class PartyBody(Body):
    adults: PartyCount = 0
    children: PartyCount = Field(default=0, description="7–17 years; pay like adults")
    pensioners: PartyCount = 0
    disabled: PartyCount = 0
    veterans: PartyCount = 0
    preschool: PartyCount = Field(default=0, description="under 7; free")
    residents: PartyCount = 0


class BookingBody(Body):
    park: Slug
    day: Day = Field(description="park-local day of the visit, YYYY-MM-DD")
    slot: SlotText | None = None
    party: PartyBody
    vehicle_class: VehicleClass | None = None
    plate: PlateText | None = None
    plate_country: PlateCountry | None = None
    payment_reference: PaymentReference | None = None

    def request(self) -> BookingRequest:
        slot = None if self.slot is None else parse_hhmm(self.slot)
        return BookingRequest(
            park=self.park,
            day=self.day,
            party=Party(**self.party.model_dump()),
            slot=slot,
            vehicle_class=self.vehicle_class,
            plate=self.plate,
            plate_country=self.plate_country,
            payment_reference=self.payment_reference,
        )


class QuoteLinePublic(BaseModel):
    item: str
    label: str
    count: int
    unit_mrp: Decimal
    unit_tenge: Decimal
    amount: Decimal


class QuotePublic(BaseModel):
    lines: list[QuoteLinePublic]
    total: Decimal
    total_text: str
    mrp_tenge: Decimal


class SlotPublic(BaseModel):
    start: str
    label: str
    minutes: int
    quota: int
    booked: int
    free: int


class AvailabilityPublic(BaseModel):
    park: str
    day: dt.date
    quota: int
    booked: int
    free: int | None
    slots: list[SlotPublic]


class ParkSummary(BaseModel):
    slug: str
    name: str
    timezone: str
    daily_quota: int
    today: dt.date


class BookingPublic(BaseModel):
    id: str
    token: str
    park: str
    day: dt.date
    slot: str | None
    party: dict[str, int]
    vehicle_class: str | None
    plate: str | None
    valid_from: int
    valid_until: int
    price: Decimal
    price_text: str
    payment_reference: str | None
    revoked: bool
    page: str
    qr_png: str
    pdf: str


def _hhmm(minutes: int | None) -> str | None:
    return None if minutes is None else hhmm(minutes)


def quote_public(found: Quote, lang: str) -> QuotePublic:
    _ = gettext_for(lang)
    lines = [QuoteLinePublic(**{**vars(line), "label": _(line.label)}) for line in found.lines]
    return QuotePublic(
        lines=lines, total=found.total, total_text=format_money(found.total, lang), mrp_tenge=found.mrp_tenge
    )


def booking_public(booking: Booking, lang: str) -> BookingPublic:
    permit = booking.permit
    return BookingPublic(
        id=permit.id,
        token=permit.token,
        park=booking.park.slug,
        day=booking.day,
        slot=_hhmm(booking.slot),
        party=booking.party.counts(),
        vehicle_class=booking.vehicle_class,
        plate=permit.plate,
        valid_from=permit.valid_from,
        valid_until=permit.valid_until,
        price=booking.price,
        price_text=format_money(booking.price, lang),
        payment_reference=booking.payment_reference,
        revoked=permit.revoked,
        page=f"/permit/{permit.id}",
        qr_png=f"/api/v1/public/permits/{permit.id}/qr.png",
        pdf=f"/api/v1/public/permits/{permit.id}/permit.pdf",
    )


def _park(conn: Connection, slug: str) -> Park:
    try:
        return get_park(conn, slug)
    except NotFound as err:
        raise LocalizedError("unknown_park", status_code=404, park=slug) from err


@router.get("/parks")
def public_parks(conn: ConnDep) -> list[ParkSummary]:
    """The parks that take bookings, with each park's local date today."""
    return [
        ParkSummary(slug=p.slug, name=p.name, timezone=p.timezone, daily_quota=p.daily_quota, today=park_today(p))
        for p in list_parks(conn)
    ]


@router.get("/parks/{park}/availability", responses=answers(404, 422))
def public_availability(
    request: Request,
    conn: ConnDep,
    park: ParkSlug,
    day: Annotated[Day, Query(description="park-local day, YYYY-MM-DD")],
) -> AvailabilityPublic:
    """Places booked and left on a park-local day, for the day and each entry slot."""
    lang = request_language(request)
    seen = availability(conn, _park(conn, park), day)
    slots = [
        SlotPublic(
            start=_hhmm(s.start_minute) or "",
            label=format_time(s.start_minute, lang),
            minutes=s.minutes,
            quota=s.quota,
            booked=s.booked,
            free=s.free,
        )
        for s in seen.slots
    ]
    return AvailabilityPublic(park=park, day=day, quota=seen.quota, booked=seen.booked, free=seen.free, slots=slots)


@router.post("/quote", responses=answers(422))
def public_quote(request: Request, settings: SettingsDep, body: BookingBody) -> QuotePublic:
    """The price of a booking in tenge (nothing is booked)."""
    return quote_public(price(settings.tariff, body.request()), request_language(request))


@router.post("/bookings", status_code=status.HTTP_201_CREATED, responses=answers(404, 409, 422))
def public_book(
    request: Request, conn: ConnDep, key: SigningKeyDep, settings: SettingsDep, body: BookingBody
) -> BookingPublic:
    """Book a visit: 201 with the e-permit; 409 when the day's or the slot's places are gone."""
    lang = request_language(request)
    try:
        booking = book(conn, key, settings.tariff, body.request(), lang)
    except LocalizedError as err:
        if err.code in ("quota_full", "quota_short", "slot_full", "slot_short"):
            err.status_code = status.HTTP_409_CONFLICT
        raise
    return booking_public(booking, lang)


def _booking(conn: Connection, permit_id: str) -> Booking:
    return get_booking(conn, permit_id)


@router.get("/permits/{permit_id}", responses=answers(404, 422))
def public_permit(request: Request, conn: ConnDep, permit_id: PermitId) -> BookingPublic:
    """A booked e-permit by its id."""
    return booking_public(_booking(conn, permit_id), request_language(request))


@router.get(
    "/permits/{permit_id}/qr.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **answers(404, 422)},
)
def public_permit_qr(conn: ConnDep, permit_id: PermitId) -> Response:
    """The e-permit's QR code as PNG."""
    booking = _booking(conn, permit_id)
    headers = {"Content-Disposition": f'inline; filename="qaqpa-{booking.permit.id}.png"'}
    return Response(qr_png(booking.permit.token), media_type="image/png", headers=headers)


@router.get(
    "/permits/{permit_id}/permit.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **answers(404, 422)},
)
def public_permit_pdf(request: Request, conn: ConnDep, permit_id: PermitId) -> Response:
    """The printable e-permit (A4 PDF) in the request's language."""
    booking = _booking(conn, permit_id)
    headers = {"Content-Disposition": f'attachment; filename="qaqpa-{booking.permit.id}.pdf"'}
    return Response(permit_pdf(booking, request_language(request)), media_type="application/pdf", headers=headers)
