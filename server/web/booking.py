"""The visitor's booking pages: choose a park, a day, the party and a vehicle; see the price; get the permit.

Plain HTML forms that work without JavaScript (a phone on a weak network); a few lines of JavaScript
(``static/booking.js``) show the price as the form changes, from ``POST /api/v1/public/quote``. Every page
is in the visitor's language (``server.web.pages.render``); errors are the catalogue's ``LocalizedError``s.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, Strict, model_validator

from protocol.fields import Day
from server.api.deps import ConnDep, ParkSlug, PermitId, SettingsDep, SigningKeyDep
from server.api.routes.public import PartyCount, PaymentReference, rate_limit
from server.api.schemas import Plate, PlateCountry, VehicleClass
from server.bookings import BOOKING_DAYS_AHEAD, DAY_MINUTES, BookingRequest, availability, book, get_booking
from server.errors import NotFound
from server.i18n import LocalizedError, request_language
from server.park_time import park_today
from server.parks import Park, get_park, list_parks
from server.pdf import SHOW_AT_GATE, booking_lines
from server.plates import PLATE_COUNTRIES, VEHICLE_CLASSES
from server.pricing import CATEGORY_LABELS, EXEMPT, PAYING, VEHICLE_LABELS, Party
from server.web.pages import render

router = APIRouter(tags=["pages"], include_in_schema=False, dependencies=[Depends(rate_limit)])

# the form's fields are text: a count is read from ASCII digits only (never "²" or "③")
CountField = Annotated[PartyCount, Strict(False)]
SlotMinute = Annotated[int, Strict(False), Field(ge=0, lt=DAY_MINUTES, description="minutes after local midnight")]


class BookingValues(BaseModel):
    """What the booking form holds, each field checked as the API checks it; a link to the form (its query
    string) may give any of them to fill the form in, and a field left blank is not given."""

    day: Day | None = None
    slot: SlotMinute | None = None
    adults: CountField | None = None
    children: CountField | None = None
    pensioners: CountField | None = None
    disabled: CountField | None = None
    veterans: CountField | None = None
    preschool: CountField | None = None
    residents: CountField | None = None
    vehicle_class: VehicleClass | None = None
    plate: Plate | None = None
    plate_country: PlateCountry | None = None
    payment_reference: PaymentReference | None = None

    @model_validator(mode="before")
    @classmethod
    def _blank_is_not_given(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {name: value for name, value in data.items() if value != ""}
        return data

    def shown(self) -> dict[str, str]:
        """The values as the form's inputs show them."""
        return {name: str(value) for name, value in self.model_dump(exclude_none=True).items()}


class BookingForm(BookingValues):
    day: Day


@router.get("/", response_class=HTMLResponse)
def home(request: Request, conn: ConnDep) -> HTMLResponse:
    """The parks a visitor can book."""
    return render(request, "booking/parks.html", {"parks": list_parks(conn)})


def _park(conn: ConnDep, slug: str) -> Park:
    try:
        return get_park(conn, slug)
    except NotFound as err:
        raise LocalizedError("unknown_park", status_code=404, park=slug) from err


def _form_context(conn: ConnDep, park: Park, values: BookingValues, error: str | None = None) -> dict[str, Any]:
    today = park_today(park)
    day = values.day or today + dt.timedelta(days=1)
    return {
        "park": park,
        "values": values.shown(),
        "error": error,
        "today": today,
        "last_day": today + dt.timedelta(days=BOOKING_DAYS_AHEAD),
        "day": day.isoformat(),
        "slots": availability(conn, park, day).slots,
        "paying": [(name, CATEGORY_LABELS[name]) for name in PAYING],
        "exempt": [(name, CATEGORY_LABELS[name]) for name in EXEMPT],
        "vehicles": [(name, VEHICLE_LABELS[name]) for name in VEHICLE_CLASSES],
        "countries": PLATE_COUNTRIES,
    }


@router.get("/book/{park}", response_class=HTMLResponse)
def booking_form(
    request: Request, conn: ConnDep, park: ParkSlug, values: Annotated[BookingValues, Query()]
) -> HTMLResponse:
    """The booking form of a park, filled in with what the query string gives."""
    return render(request, "booking/form.html", _form_context(conn, _park(conn, park), values))


def _request_from_form(park: Park, form: BookingForm) -> BookingRequest:
    party = Party(**{name: getattr(form, name) or 0 for name in (*PAYING, *EXEMPT)})
    vehicle = form.vehicle_class
    return BookingRequest(
        park=park.slug,
        day=form.day,
        party=party,
        slot=form.slot,
        vehicle_class=vehicle,
        plate=form.plate if vehicle else None,
        plate_country=form.plate_country if vehicle else None,
        payment_reference=form.payment_reference,
    )


@router.post("/book/{park}", response_class=HTMLResponse)
def booking_submit(
    request: Request,
    conn: ConnDep,
    key: SigningKeyDep,
    settings: SettingsDep,
    park: ParkSlug,
    form: Annotated[BookingForm, Form()],
) -> Response:
    """Book, then go to the permit page (303); on an error, the form again with the reason."""
    found = _park(conn, park)
    lang = request_language(request)
    try:
        booking = book(conn, key, settings.tariff, _request_from_form(found, form), lang)
    except LocalizedError as err:
        status = 409 if err.code in ("quota_full", "quota_short", "slot_full", "slot_short") else 422
        return render(request, "booking/form.html", _form_context(conn, found, form, err.text(lang)), status)
    return RedirectResponse(f"/permit/{booking.permit.id}", status_code=303)


@router.get("/permit/{permit_id}", response_class=HTMLResponse)
def permit_page(request: Request, conn: ConnDep, permit_id: PermitId) -> HTMLResponse:
    """The e-permit: its QR code, what it covers, and links to the PNG and the printable PDF."""
    booking = get_booking(conn, permit_id)
    lang = request_language(request)
    context = {"booking": booking, "rows": booking_lines(booking, lang), "show_at_gate": SHOW_AT_GATE}
    return render(request, "booking/permit.html", context)
