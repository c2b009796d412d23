"""Permits: issue, read, revoke, and the QR image visitors carry."""

from __future__ import annotations

import io

import qrcode
from fastapi import APIRouter, Request, Response, status
from qrcode.constants import ERROR_CORRECT_M

from server.api.deps import ChecksFirst, ConnDep, CurrentUser, PermitId, SigningKeyDep, answers
from server.api.schemas import PermitCreate, PermitPublic
from server.bookings import issue_at_office
from server.i18n import request_language
from server.parks import get_park, get_park_by_id
from server.permits import PermitRecord, get_permit, revoke_permit

router = APIRouter(tags=["permits"], route_class=ChecksFirst, responses=answers(404, 422))


@router.post("/permits", status_code=status.HTTP_201_CREATED, responses=answers(409))
def add_permit(
    request: Request, conn: ConnDep, user: CurrentUser, key: SigningKeyDep, body: PermitCreate
) -> PermitPublic:
    """Issue a signed permit at the park office; ``token`` is the QR text (permit token v1).

    A vehicle permit carries the car's plate (422 if it fits no plate format, unless ``plate_country`` is
    "XX") and its vehicle class as ``category``. 409 when a day the permit is valid on has no places left
    in the park's daily quota, or the entry slot it starts in has none, as for a visitor's booking; an
    admin may issue anyway with ``override_quota`` (recorded as ``quota_override_by``).
    """
    park = get_park(conn, body.park)
    user.require_read(park)  # every role of the park may issue (rangers at the office)
    if body.override_quota:
        user.require_admin()
    record = issue_at_office(
        conn,
        key,
        park,
        body.valid_from,
        body.valid_until,
        body.party,
        request_language(request),
        override_by=user.name if body.override_quota else None,
        plate=body.plate,
        plate_country=body.plate_country,
        entries_per_day=body.entries_per_day,
        category=body.category,
    )
    return PermitPublic(**record.public())


def _readable(conn: ConnDep, user: CurrentUser, permit_id: PermitId) -> PermitRecord:
    record = get_permit(conn, permit_id)
    user.require_read(get_park_by_id(conn, record.park_id))
    return record


@router.get("/permits/{permit_id}")
def read_permit(conn: ConnDep, user: CurrentUser, permit_id: PermitId) -> PermitPublic:
    return PermitPublic(**_readable(conn, user, permit_id).public())


@router.get("/permits/{permit_id}/qr.png", response_class=Response, responses={200: {"content": {"image/png": {}}}})
def read_permit_qr(conn: ConnDep, user: CurrentUser, permit_id: PermitId) -> Response:
    """The permit's QR code (error correction M) as PNG."""
    record = _readable(conn, user, permit_id)
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=8, border=4)
    code.add_data(record.token)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer)
    return Response(buffer.getvalue(), media_type="image/png")


@router.post("/permits/{permit_id}/revoke")
def revoke(conn: ConnDep, user: CurrentUser, permit_id: PermitId) -> PermitPublic:
    """Revoke a permit; gates learn it on their next sync. Revoking twice is harmless."""
    return PermitPublic(**revoke_permit(conn, _readable(conn, user, permit_id).id).public())
