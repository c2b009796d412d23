"""Permit management for rangers and office staff: search (id, plate, day), view, revoke, issue at the office.

Everyone of the park (admin, manager, ranger) may use these; revocations enter the change feed, so
online gates learn them at their next sync (within a minute) and offline gates when they reconnect.
"""

from __future__ import annotations

import datetime as dt
import io
import time
from typing import Annotated, Any

import qrcode
import sqlalchemy as sa
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import AfterValidator, Field, StrictStr
from qrcode.constants import ERROR_CORRECT_M
from sqlalchemy.engine import Connection

from protocol import normalize_plate
from protocol.fields import CountText, Day, OptionalDay, check_line
from server.api.deps import ConnDep, PermitId, SigningKeyDep
from server.api.schemas import Plate, Slug
from server.bookings import issue_at_office
from server.db import parks, permits
from server.i18n import request_language
from server.park_time import day_bounds
from server.parks import Park, get_park, get_park_by_id, list_parks
from server.permits import get_permit, revoke_permit
from server.web.auth import FormSession, PageSession
from server.web.pages import render

router = APIRouter(include_in_schema=False)
MAX_RESULTS = 100

SearchText = Annotated[StrictStr, Field(max_length=64), AfterValidator(check_line)]


def _valid_on(visible: list[Park], day: dt.date) -> sa.ColumnElement[bool]:
    """Permits valid at some moment of ``day`` as each permit's own park counts its days."""
    conditions = []
    for park in visible:
        start, end = day_bounds(park, day)
        conditions.append(
            sa.and_(permits.c.park_id == park.id, permits.c.valid_from < end, permits.c.valid_until >= start)
        )
    return sa.or_(sa.false(), *conditions)


def search_permits(
    conn: Connection, visible: list[Park], q: str = "", day: dt.date | None = None
) -> list[dict[str, Any]]:
    """Permits of the ``visible`` parks with an id starting with ``q`` or plate ``q``, valid on local ``day``."""
    query = (
        sa.select(permits, parks.c.slug.label("park_slug"), parks.c.timezone.label("park_timezone"))
        .join(parks, parks.c.id == permits.c.park_id)
        .order_by(permits.c.issued_at.desc())
        .limit(MAX_RESULTS)
    )
    query = query.where(permits.c.park_id.in_([park.id for park in visible]))
    q = q.strip()
    if q:
        plate = normalize_plate(q)
        query = query.where(sa.or_(permits.c.id.startswith(q.lower(), autoescape=True), permits.c.plate == plate))
    if day is not None:
        query = query.where(_valid_on(visible, day))
    return [dict(row._mapping) for row in conn.execute(query)]


@router.get("/permits", response_class=HTMLResponse)
def permits_page(
    request: Request,
    conn: ConnDep,
    session: PageSession,
    q: Annotated[SearchText, Query()] = "",
    day: Annotated[OptionalDay, Query()] = None,
) -> Response:
    user = session.user
    visible = list_parks(conn, None if user.role == "admin" else (user.park_id if user.park_id is not None else -1))
    searched = bool(q or day)
    results = search_permits(conn, visible, q, day) if searched else []
    shown_day = "" if day is None else day.isoformat()
    return render(
        request,
        "dashboard/permits.html",
        {"session": session, "results": results, "q": q, "day": shown_day, "parks": visible, "searched": searched},
    )


@router.get("/permits/{permit_id}", response_class=HTMLResponse)
def permit_page(request: Request, conn: ConnDep, session: PageSession, permit_id: PermitId) -> Response:
    record = get_permit(conn, permit_id)
    park = get_park_by_id(conn, record.park_id)
    session.user.require_read(park)
    return render(request, "dashboard/permit.html", {"session": session, "permit": record, "park": park})


@router.post("/permits/{permit_id}/revoke")
def revoke_form(conn: ConnDep, session: FormSession, permit_id: PermitId) -> Response:
    record = get_permit(conn, permit_id)
    session.user.require_read(get_park_by_id(conn, record.park_id))
    revoke_permit(conn, record.id)
    return RedirectResponse(f"/permits/{record.id}", status_code=303)


@router.post("/permits")
def issue_form(
    request: Request,
    conn: ConnDep,
    session: FormSession,
    key: SigningKeyDep,
    park: Annotated[Slug, Form()],
    day: Annotated[Day, Form()],
    adults: Annotated[CountText, Form()] = 1,
    children: Annotated[CountText, Form()] = 0,
    exempt: Annotated[CountText, Form()] = 0,
    plate: Annotated[Plate | None, Form()] = None,
) -> Response:
    """Issue a one-day permit at the park office; shows the new permit with its QR."""
    found = get_park(conn, park)
    session.user.require_read(found)
    start, end = day_bounds(found, day)
    # the day's quota and entry slots hold at the office as for a visitor's booking
    record = issue_at_office(
        conn,
        key,
        found,
        start,
        end - 1,
        (adults, children, exempt),
        request_language(request),
        plate=(plate or "").strip() or None,
        now=int(time.time()),
    )
    return RedirectResponse(f"/permits/{record.id}", status_code=303)


@router.get("/permits/{permit_id}/qr.png", response_class=Response)
def permit_qr(request: Request, conn: ConnDep, session: PageSession, permit_id: PermitId) -> Response:
    """The permit's QR for the office printer (the page's session, not an API token)."""
    record = get_permit(conn, permit_id)
    session.user.require_read(get_park_by_id(conn, record.park_id))
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=6, border=4)
    code.add_data(record.token)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer)
    return Response(buffer.getvalue(), media_type="image/png")
