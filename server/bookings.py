"""Visitor bookings: a park, a park-local day (and entry slot), a party and a vehicle become a signed permit.

Quotas: the people of every unrevoked permit of the park valid on the day (booked here or issued at the
office) count against the park's ``daily_quota`` (0 = no quota); the people booked for a slot count against
the slot's quota. Two visitors booking the last places at once cannot both get them: a booking first
updates its park's row, which serialises bookings of one park (a row lock on PostgreSQL, the write lock on
SQLite) before the places are counted.

Errors are ``LocalizedError``: the visitor reads them in their language.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Final
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from protocol import SigningKey
from protocol.plates import COUNTRIES, match_plate
from server.db import booking_slots, bookings, parks, permits
from server.errors import InvalidInput, NotFound
from server.i18n import LocalizedError, format_time
from server.parks import Park, get_park
from server.permits import PermitRecord, get_permit, issue_permit
from server.plates import GENERIC_COUNTRY, PEDESTRIAN, VEHICLE_CLASSES
from server.pricing import Party, Quote, Tariff, quote

BOOKING_DAYS_AHEAD: Final = 90
MAX_PARTY: Final = 50
_PAYMENT_REFERENCE = re.compile(r"^[A-Za-z0-9._/-]{1,64}$")


@dataclass(frozen=True)
class Slot:
    start_minute: int  # after the park-local midnight
    minutes: int
    quota: int
    booked: int = 0

    @property
    def free(self) -> int:
        return max(0, self.quota - self.booked)

    def label(self, lang: str) -> str:
        return format_time(self.start_minute, lang)


@dataclass(frozen=True)
class Availability:
    park: Park
    day: dt.date
    quota: int  # 0: no daily quota
    booked: int
    slots: tuple[Slot, ...]

    @property
    def free(self) -> int | None:
        return None if self.quota == 0 else max(0, self.quota - self.booked)


@dataclass(frozen=True)
class BookingRequest:
    park: str
    day: dt.date
    party: Party
    slot: int | None = None  # start minute of the entry slot
    vehicle_class: str | None = None
    plate: str | None = None
    plate_country: str | None = None  # KZ, RU, KG, UZ, or XX for any other country
    payment_reference: str | None = None


@dataclass(frozen=True)
class Booking:
    permit: PermitRecord
    park: Park
    day: dt.date
    slot: int | None
    party: Party
    vehicle_class: str | None
    price: Decimal
    payment_reference: str | None


def set_slots(conn: Connection, park: Park, slots: list[tuple[int, int, int]]) -> None:
    """Replace the park's entry slots with ``(start_minute, minutes, quota)``; an empty list: whole days."""
    for start, minutes, quota in slots:
        if not (0 <= start < 24 * 60 and 0 < minutes <= 24 * 60 - start and quota >= 0):
            raise ValueError(f"slot ({start}, {minutes}, {quota}) does not fit in a day")
    conn.execute(booking_slots.delete().where(booking_slots.c.park_id == park.id))
    if slots:
        conn.execute(
            booking_slots.insert(),
            [{"park_id": park.id, "start_minute": s, "minutes": m, "quota": q} for s, m, q in slots],
        )


def day_bounds(park: Park, day: dt.date) -> tuple[int, int]:
    """Unix seconds of the park-local midnight starting ``day`` and of the next."""
    zone = ZoneInfo(park.timezone)
    start = dt.datetime.combine(day, dt.time(), zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone)
    return int(start.timestamp()), int(end.timestamp())


def park_today(park: Park, now: int | None = None) -> dt.date:
    return dt.datetime.fromtimestamp(time.time() if now is None else now, ZoneInfo(park.timezone)).date()


def availability(conn: Connection, park: Park, day: dt.date) -> Availability:
    """Places booked and left on ``day``, for the whole day and each slot."""
    start, end = day_bounds(park, day)
    people = permits.c.adults + permits.c.children + permits.c.exempt
    booked = conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(people), 0)).where(
            permits.c.park_id == park.id,
            permits.c.revoked == sa.false(),
            permits.c.valid_from < end,
            permits.c.valid_until > start,
        )
    ).scalar_one()
    by_slot = dict(
        conn.execute(
            sa.select(bookings.c.slot_minute, sa.func.sum(bookings.c.people))
            .join(permits, permits.c.id == bookings.c.permit_id)
            .where(
                bookings.c.park_id == park.id,
                bookings.c.day == day,
                bookings.c.slot_minute.is_not(None),
                permits.c.revoked == sa.false(),
            )
            .group_by(bookings.c.slot_minute)
        ).all()
    )
    slots = tuple(
        Slot(row.start_minute, row.minutes, row.quota, int(by_slot.get(row.start_minute, 0)))
        for row in conn.execute(
            sa.select(booking_slots).where(booking_slots.c.park_id == park.id).order_by(booking_slots.c.start_minute)
        )
    )
    return Availability(park, day, park.daily_quota, int(booked), slots)


def _public_park(conn: Connection, slug: str) -> Park:
    try:
        return get_park(conn, slug)
    except NotFound as err:
        raise LocalizedError("unknown_park", status_code=404, park=slug) from err


def check_plate_input(plate: str, country: str | None) -> str:
    """The normalised plate when it fits a grammar as typed (``country`` XX: any 2–8 letters and digits)."""
    if country == GENERIC_COUNTRY:
        match = match_plate(plate, (), generic=True)
    else:
        match = match_plate(plate, COUNTRIES if country is None else (country,))
    if match is None:
        raise LocalizedError("plate_invalid", plate=plate)
    if match.fixes:
        raise LocalizedError("plate_typo", plate=plate, suggestion=match.text)
    return match.text


def price(tariff: Tariff, request: BookingRequest) -> Quote:
    """The quote of a request, after the booking's party check (the plate is checked only when booking)."""
    _check_party(request.party)
    if request.vehicle_class is not None and request.vehicle_class not in VEHICLE_CLASSES:
        raise LocalizedError("bad_request", detail=f"vehicle_class {request.vehicle_class!r}")
    return quote(tariff, request.party, request.vehicle_class)


def _check_party(party: Party) -> None:
    if any(count < 0 for count in party.counts().values()) or party.people == 0:
        raise LocalizedError("empty_party")
    if party.people > MAX_PARTY:
        raise LocalizedError("party_too_large", max=MAX_PARTY)


def _check_vehicle(request: BookingRequest) -> str | None:
    if request.vehicle_class is not None and request.vehicle_class not in VEHICLE_CLASSES:
        raise LocalizedError("bad_request", detail=f"vehicle_class {request.vehicle_class!r}")
    if request.vehicle_class is None and request.plate:
        raise LocalizedError("plate_without_vehicle")
    if request.vehicle_class is not None and not request.plate:
        raise LocalizedError("vehicle_without_plate")
    if request.plate:
        return check_plate_input(request.plate, request.plate_country)
    return None


def book(
    conn: Connection, key: SigningKey, tariff: Tariff, request: BookingRequest, lang: str, now: int | None = None
) -> Booking:
    """Check the request, hold the park's places, issue the permit and record the booking.

    ``lang`` is the visitor's language: it formats the day and slot inside error messages.
    """
    now = int(time.time()) if now is None else now
    park = _public_park(conn, request.park)
    _check_party(request.party)
    plate = _check_vehicle(request)
    if request.payment_reference is not None and not _PAYMENT_REFERENCE.match(request.payment_reference):
        raise LocalizedError("bad_payment_reference")
    today = park_today(park, now)
    if request.day < today:
        raise LocalizedError("past_day", day=request.day)
    last = today + dt.timedelta(days=BOOKING_DAYS_AHEAD)
    if request.day > last:
        raise LocalizedError("too_far_ahead", days=BOOKING_DAYS_AHEAD, last=last)

    # serialise bookings of this park from here to commit, so the count below stays true
    conn.execute(parks.update().where(parks.c.id == park.id).values(id=parks.c.id))
    seen = availability(conn, park, request.day)
    people = request.party.people
    start, end = day_bounds(park, request.day)
    valid_from = start
    if seen.slots:
        slot = next((s for s in seen.slots if s.start_minute == request.slot), None)
        if request.slot is None:
            raise LocalizedError("slot_required")
        if slot is None:
            raise LocalizedError(
                "unknown_slot", slot=format_time(request.slot, lang) if 0 <= request.slot < 1440 else "?"
            )
        if slot.free == 0:
            raise LocalizedError("slot_full", slot=slot.label(lang), day=request.day)
        if slot.free < people:
            raise LocalizedError("slot_short", slot=slot.label(lang), day=request.day, free=slot.free, people=people)
        valid_from = start + slot.start_minute * 60
    elif request.slot is not None:
        raise LocalizedError("no_slots")
    if seen.free is not None:
        if seen.free == 0:
            raise LocalizedError("quota_full", day=request.day, booked=seen.booked, quota=seen.quota)
        if seen.free < people:
            raise LocalizedError("quota_short", day=request.day, free=seen.free, people=people)

    the_quote = quote(tariff, request.party, request.vehicle_class)
    permit = issue_permit(
        conn,
        key,
        park,
        valid_from,
        end - 1,
        request.party.token_party(),
        plate=plate,
        plate_country=request.plate_country if plate else None,
        category=request.vehicle_class or PEDESTRIAN,
        now=now,
    )
    conn.execute(
        bookings.insert().values(
            permit_id=permit.id,
            park_id=park.id,
            day=request.day,
            slot_minute=request.slot if seen.slots else None,
            people=people,
            party=json.dumps(request.party.counts(), separators=(",", ":")),
            price_tiyn=the_quote.total_tiyn,
            payment_reference=request.payment_reference,
            created_at=now,
        )
    )
    return Booking(
        permit,
        park,
        request.day,
        request.slot if seen.slots else None,
        request.party,
        request.vehicle_class,
        the_quote.total,
        request.payment_reference,
    )


def get_booking(conn: Connection, permit_id: str) -> Booking:
    """A booked permit by id; ``LocalizedError`` (404) for an unknown id or a permit issued elsewhere."""
    try:
        permit = get_permit(conn, permit_id)
    except (NotFound, InvalidInput) as err:  # a malformed id reads the same as an unknown one
        raise LocalizedError("unknown_permit", status_code=404, permit=permit_id[:32]) from err
    row = conn.execute(sa.select(bookings).where(bookings.c.permit_id == permit.id)).first()
    if row is None:
        raise LocalizedError("unknown_permit", status_code=404, permit=permit_id[:32])
    counts = json.loads(row.party)
    park = get_park(conn, permit.park)
    vehicle = permit.category if permit.category in VEHICLE_CLASSES else None
    return Booking(
        permit,
        park,
        row.day,
        row.slot_minute,
        Party(**counts),
        vehicle,
        Decimal(row.price_tiyn) / 100,
        row.payment_reference,
    )
