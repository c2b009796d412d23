"""The visitor's booking pages: choose a park, a day, the party and a vehicle; see the price; get the permit.

Plain HTML forms that work without JavaScript (a phone on a weak network); a few lines of JavaScript
(``static/booking.js``) show the price as the form changes, from ``POST /api/v1/public/quote``. Every page
is in the visitor's language (``server.web.pages.render``); errors are the catalogue's ``LocalizedError``s.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from server.api.deps import ConnDep, SettingsDep, SigningKeyDep
from server.api.routes.public import rate_limit
from server.bookings import BOOKING_DAYS_AHEAD, BookingRequest, availability, book, get_booking
from server.errors import NotFound
from server.i18n import LocalizedError, request_language
from server.park_time import park_today
from server.parks import Park, get_park, list_parks
from server.pdf import SHOW_AT_GATE, booking_lines
from server.plates import PLATE_COUNTRIES, VEHICLE_CLASSES
from server.pricing import CATEGORY_LABELS, EXEMPT, PAYING, VEHICLE_LABELS, Party
from server.web.pages import render

router = APIRouter(tags=["pages"], include_in_schema=False, dependencies=[Depends(rate_limit)])


@router.get("/", response_class=HTMLResponse)
def home(request: Request, conn: ConnDep) -> HTMLResponse:
    """The parks a visitor can book."""
    return render(request, "booking/parks.html", {"parks": list_parks(conn)})


def _park(conn: ConnDep, slug: str) -> Park:
    try:
        return get_park(conn, slug)
    except NotFound as err:
        raise LocalizedError("unknown_park", status_code=404, park=slug) from err


def _form_context(conn: ConnDep, park: Park, values: dict[str, Any], error: str | None = None) -> dict[str, Any]:
    today = park_today(park)
    day = values.get("day") or (today + dt.timedelta(days=1)).isoformat()
    try:
        slots = availability(conn, park, dt.date.fromisoformat(day)).slots
    except ValueError:
        slots = availability(conn, park, today).slots
    return {
        "park": park,
        "values": values,
        "error": error,
        "today": today,
        "last_day": today + dt.timedelta(days=BOOKING_DAYS_AHEAD),
        "day": day,
        "slots": slots,
        "paying": [(name, CATEGORY_LABELS[name]) for name in PAYING],
        "exempt": [(name, CATEGORY_LABELS[name]) for name in EXEMPT],
        "vehicles": [(name, VEHICLE_LABELS[name]) for name in VEHICLE_CLASSES],
        "countries": PLATE_COUNTRIES,
    }


@router.get("/book/{park}", response_class=HTMLResponse)
def booking_form(request: Request, conn: ConnDep, park: str) -> HTMLResponse:
    """The booking form of a park."""
    found = _park(conn, park)
    values = {name: value for name, value in request.query_params.items() if name != "lang"}
    return render(request, "booking/form.html", _form_context(conn, found, values))


def _count(form: FormData, name: str) -> int:
    text = str(form.get(name) or "0").strip() or "0"
    if not text.isdigit():
        raise LocalizedError("bad_request", detail=name)
    return int(text)


def _text(form: FormData, name: str) -> str | None:
    value = str(form.get(name) or "").strip()
    return value or None


def _request_from_form(park: Park, form: FormData) -> BookingRequest:
    try:
        day = dt.date.fromisoformat(str(form.get("day") or ""))
    except ValueError as err:
        raise LocalizedError("bad_request", detail="day") from err
    slot_text = _text(form, "slot")
    slot = None
    if slot_text is not None:
        if not slot_text.isdigit():
            raise LocalizedError("bad_request", detail="slot")
        slot = int(slot_text)
    vehicle = _text(form, "vehicle_class")
    if vehicle is not None and vehicle not in VEHICLE_CLASSES:
        raise LocalizedError("bad_request", detail="vehicle_class")
    country = _text(form, "plate_country")
    if country is not None and country not in PLATE_COUNTRIES:
        raise LocalizedError("bad_request", detail="plate_country")
    party = Party(**{name: _count(form, name) for name in (*PAYING, *EXEMPT)})
    return BookingRequest(
        park=park.slug,
        day=day,
        party=party,
        slot=slot,
        vehicle_class=vehicle,
        plate=_text(form, "plate") if vehicle else None,
        plate_country=country if vehicle else None,
        payment_reference=_text(form, "payment_reference"),
    )


async def _form(request: Request) -> FormData:
    # parsing the body is the only awaiting the booking needs; the booking itself is database work, done
    # by the plain ``def`` route below in the threadpool instead of on the event loop
    return await request.form()


@router.post("/book/{park}", response_class=HTMLResponse)
def booking_submit(
    request: Request,
    conn: ConnDep,
    key: SigningKeyDep,
    settings: SettingsDep,
    park: str,
    form: Annotated[FormData, Depends(_form)],
) -> Response:
    """Book, then go to the permit page (303); on an error, the form again with the reason."""
    found = _park(conn, park)
    lang = request_language(request)
    try:
        booking = book(conn, key, settings.tariff, _request_from_form(found, form), lang)
    except LocalizedError as err:
        values = {name: str(value) for name, value in form.items()}
        status = 409 if err.code in ("quota_full", "quota_short", "slot_full", "slot_short") else 422
        return render(request, "booking/form.html", _form_context(conn, found, values, err.text(lang)), status)
    return RedirectResponse(f"/permit/{booking.permit.id}", status_code=303)


@router.get("/permit/{permit_id}", response_class=HTMLResponse)
def permit_page(request: Request, conn: ConnDep, permit_id: str) -> HTMLResponse:
    """The e-permit: its QR code, what it covers, and links to the PNG and the printable PDF."""
    booking = get_booking(conn, permit_id)
    lang = request_language(request)
    context = {"booking": booking, "rows": booking_lines(booking, lang), "show_at_gate": SHOW_AT_GATE}
    return render(request, "booking/permit.html", context)
