"""Visitor bookings: a park, a park-local day (and entry slot), a party and a vehicle become a signed permit.

Quotas: the people of every unrevoked permit of the park valid on the day (booked here or issued at the
office) count against the park's ``daily_quota`` (0 = no quota); the people booked for a slot count against
the slot's quota. Two visitors booking the last places at once cannot both get them: a booking first
updates its park's row, which serialises bookings of one park (a row lock on PostgreSQL, the write lock on
SQLite) before the places are counted.

Errors are ``LocalizedError``: the visitor reads them in their language.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import json
import re
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from protocol import SigningKey
from protocol.plates import COUNTRIES, match_plate
from server.capacity import MAX_LIMIT
from server.db import booking_slots, bookings, parks, permits
from server.errors import InvalidInput, NotFound
from server.i18n import LocalizedError, format_time
from server.park_time import day_bounds, park_today
from server.parks import Park, get_park
from server.permits import PermitRecord, get_permit, issue_permit
from server.plates import GENERIC_COUNTRY, PEDESTRIAN, VEHICLE_CLASSES
from server.pricing import Party, Quote, Tariff, quote

BOOKING_DAYS_AHEAD: Final = 90
MAX_PARTY: Final = 50
DAY_MINUTES: Final = 24 * 60
MAX_EARLY_MINUTES: Final = 180
_PAYMENT_REFERENCE = re.compile(r"^[A-Za-z0-9._/-]{1,64}$")
_HHMM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]", re.ASCII)


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
    slot: int | None = None  # start minute of the entry slot (0 to 1439: the form and the API check it)
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


@dataclass(frozen=True)
class SlotPlan:
    """A park's entry slots (``(start_minute, minutes, quota)``, by start) and how early a slot's permit admits."""

    slots: tuple[tuple[int, int, int], ...]
    early_minutes: int = 0


def parse_hhmm(text: str) -> int:
    """Minutes after midnight of a ``HH:MM`` time; InvalidInput for anything else."""
    if not _HHMM.fullmatch(text):
        raise InvalidInput(f"{text!r} is not a time of day (HH:MM, 00:00 to 23:59)")
    return int(text[:2]) * 60 + int(text[3:])


def hhmm(minute: int) -> str:
    """``HH:MM`` of minutes after midnight (24:00 for the end of the day)."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


def slot_plan(conn: Connection, park: Park) -> SlotPlan:
    """The park's entry slots (none: visitors book whole days) and its early admission."""
    rows = conn.execute(
        sa.select(booking_slots.c.start_minute, booking_slots.c.minutes, booking_slots.c.quota)
        .where(booking_slots.c.park_id == park.id)
        .order_by(booking_slots.c.start_minute)
    ).all()
    early = conn.execute(sa.select(parks.c.slot_early_minutes).where(parks.c.id == park.id)).scalar_one()
    return SlotPlan(tuple((row[0], row[1], row[2]) for row in rows), int(early))


def set_slots(conn: Connection, park: Park, slots: list[tuple[int, int, int]], early_minutes: int = 0) -> SlotPlan:
    """Replace the park's entry slots with ``(start_minute, minutes, quota)`` (an empty list: whole days).

    ``early_minutes``: a slot's permit admits that long before the slot starts. InvalidInput, changing
    nothing, for a slot that does not fit in the day, a negative or absurd quota, or slots that overlap.
    """
    ordered = sorted(slots)
    for start, minutes, quota in ordered:
        if not 0 <= start < DAY_MINUTES:
            raise InvalidInput(f"a slot starts between 00:00 and 23:59, not at minute {start}")
        if not 0 < minutes <= DAY_MINUTES - start:
            raise InvalidInput(f"the slot at {hhmm(start)} must last at least a minute and end by 24:00")
        if not 0 <= quota <= MAX_LIMIT:
            raise InvalidInput(f"the slot at {hhmm(start)} needs a quota from 0 to {MAX_LIMIT}, not {quota}")
    for (start, minutes, _), (following, _, _) in itertools.pairwise(ordered):
        if following < start + minutes:
            raise InvalidInput(f"the slots at {hhmm(start)}–{hhmm(start + minutes)} and {hhmm(following)} overlap")
    if not 0 <= early_minutes <= MAX_EARLY_MINUTES:
        raise InvalidInput(f"early_minutes is from 0 to {MAX_EARLY_MINUTES}, not {early_minutes}")
    conn.execute(booking_slots.delete().where(booking_slots.c.park_id == park.id))
    if ordered:
        conn.execute(
            booking_slots.insert(),
            [{"park_id": park.id, "start_minute": s, "minutes": m, "quota": q} for s, m, q in ordered],
        )
    conn.execute(parks.update().where(parks.c.id == park.id).values(slot_early_minutes=early_minutes))
    return SlotPlan(tuple(ordered), early_minutes)


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
    plan = [
        (row.start_minute, row.minutes, row.quota)
        for row in conn.execute(
            sa.select(booking_slots).where(booking_slots.c.park_id == park.id).order_by(booking_slots.c.start_minute)
        )
    ]
    if plan:
        # permits issued at the office have no booking row: they take places in the slot they start in
        office = conn.execute(
            sa.select(permits.c.valid_from, people)
            .outerjoin(bookings, bookings.c.permit_id == permits.c.id)
            .where(
                permits.c.park_id == park.id,
                permits.c.revoked == sa.false(),
                bookings.c.permit_id.is_(None),
                permits.c.valid_from >= start,
                permits.c.valid_from < end,
            )
        ).all()
        for valid_from, count in office:
            minute = (valid_from - start) // 60
            for slot_start, minutes, _quota in plan:
                if slot_start <= minute < slot_start + minutes:
                    by_slot[slot_start] = by_slot.get(slot_start, 0) + count
    slots = tuple(Slot(s, m, q, int(by_slot.get(s, 0))) for s, m, q in plan)
    return Availability(park, day, park.daily_quota, int(booked), slots)


def _people_by_day(conn: Connection, park: Park, days: list[dt.date]) -> list[int]:
    """People of the park's unrevoked permits valid at some moment of each of ``days`` (consecutive), as
    ``availability`` counts one day, read in one query."""
    edges = [day_bounds(park, day)[0] for day in days] + [day_bounds(park, days[-1])[1]]
    people = permits.c.adults + permits.c.children + permits.c.exempt
    rows = conn.execute(
        sa.select(permits.c.valid_from, permits.c.valid_until, people).where(
            permits.c.park_id == park.id,
            permits.c.revoked == sa.false(),
            permits.c.valid_from < edges[-1],
            permits.c.valid_until > edges[0],
        )
    ).all()
    change = [0] * (len(days) + 1)  # +people on a permit's first day, -people after its last
    for valid_from, valid_until, count in rows:
        first = max(0, bisect.bisect_right(edges, valid_from) - 1)
        last = min(len(days) - 1, bisect.bisect_left(edges, valid_until) - 1)
        if first <= last:
            change[first] += count
            change[last + 1] -= count
    return list(itertools.accumulate(change[:-1]))


def _check_day(day: dt.date, quota: int, booked: int, people: int) -> None:
    """LocalizedError (409) when ``people`` more do not fit in the day's quota (0: no quota)."""
    if not quota:
        return
    free = max(0, quota - booked)
    if free == 0:
        raise LocalizedError("quota_full", status_code=409, day=day, booked=booked, quota=quota)
    if free < people:
        raise LocalizedError("quota_short", status_code=409, day=day, free=free, people=people)


def _check_slot(slot: Slot, day: dt.date, people: int, lang: str) -> None:
    """LocalizedError (409) when ``people`` more do not fit in the slot."""
    if slot.free == 0:
        raise LocalizedError("slot_full", status_code=409, slot=slot.label(lang), day=day)
    if slot.free < people:
        raise LocalizedError(
            "slot_short", status_code=409, slot=slot.label(lang), day=day, free=slot.free, people=people
        )


def _hold_places(conn: Connection, park: Park) -> None:
    # serialise bookings and office issues of this park from here to commit, so the counts stay true
    conn.execute(parks.update().where(parks.c.id == park.id).values(id=parks.c.id))


def issue_at_office(
    conn: Connection,
    key: SigningKey,
    park: Park,
    valid_from: int,
    valid_until: int,
    party: tuple[int, int, int],
    lang: str,
    *,
    override_by: str | None = None,
    now: int | None = None,
    **permit: Any,
) -> PermitRecord:
    """Issue a permit at the park office (``server.permits.issue_permit``; ``permit``: its other fields)
    within the park's quotas, as a visitor's booking is.

    Every park-local day the permit is valid on, from today up to the booking horizon (later days cannot be
    booked yet, and bookings will count this permit), must have room in the daily quota; a permit starting
    inside an entry slot takes places in that slot. LocalizedError (409) says which is full, in ``lang``.
    ``override_by`` (an admin's name) issues regardless and is recorded on the permit.
    """
    now = int(time.time()) if now is None else now
    people = sum(party)
    if override_by is None and valid_until >= valid_from and people > 0:
        _hold_places(conn, park)
        today = park_today(park, now)
        first = max(today, park_today(park, valid_from))
        last = min(today + dt.timedelta(days=BOOKING_DAYS_AHEAD), park_today(park, max(valid_from, valid_until - 1)))
        if park.daily_quota and first <= last:
            days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
            for day, booked in zip(days, _people_by_day(conn, park, days), strict=True):
                _check_day(day, park.daily_quota, booked, people)
        start_day = park_today(park, valid_from)
        if start_day >= today:
            seen = availability(conn, park, start_day)
            minute = (valid_from - day_bounds(park, start_day)[0]) // 60
            for slot in seen.slots:
                if slot.start_minute <= minute < slot.start_minute + slot.minutes:
                    _check_slot(slot, start_day, people, lang)
    return issue_permit(
        conn, key, park, valid_from, valid_until, party, now=now, quota_override_by=override_by, **permit
    )


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

    _hold_places(conn, park)
    seen = availability(conn, park, request.day)
    people = request.party.people
    start, end = day_bounds(park, request.day)
    valid_from = start
    if seen.slots:
        slot = next((s for s in seen.slots if s.start_minute == request.slot), None)
        if request.slot is None:
            raise LocalizedError("slot_required")
        if slot is None:
            raise LocalizedError("unknown_slot", slot=format_time(request.slot, lang))
        _check_slot(slot, request.day, people, lang)
        # the gate admits a slot's visitors from its start, less the park's early admission
        early = conn.execute(sa.select(parks.c.slot_early_minutes).where(parks.c.id == park.id)).scalar_one()
        valid_from = max(start, start + (slot.start_minute - early) * 60)
    elif request.slot is not None:
        raise LocalizedError("no_slots")
    _check_day(request.day, seen.quota, seen.booked, people)

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
