"""What gates call with their device token: the sync change feed and event upload.

Both are hot paths (a fresh gate pulls a million permits; gates upload thousands of events a second),
so they bypass per-row pydantic objects: columns come straight from Core tuples and go out through
orjson, gzip-compressed when the gate accepts it.
"""

from __future__ import annotations

import gzip
import time
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from protocol import EVENTS_SCHEMA, MAX_EVENTS_PER_BATCH, SYNC_SCHEMA, EventBatchResult, SyncPage
from protocol.fields import Cursor
from server.api.deps import ConnDep, CurrentDevice
from server.events import check_batch, ingest
from server.feed import feed_after
from server.gate_health import MAX_HEADER_CHARS, parse_status, record_sync
from server.parks import get_park_by_id
from server.signing import keyring
from server.stats import park_counts
from server.zones import zone_settings

router = APIRouter(prefix="/gate", tags=["gate"])

DEFAULT_PAGE = 50_000
MAX_PAGE = 200_000
GZIP_LEVEL = 5  # level 5 compresses ids nearly as well as 9 at a fraction of the CPU
GZIP_MIN_BYTES = 1024


@router.get("/sync", response_model=SyncPage, responses={200: {"content": {"application/json": {}}}})
def sync(
    request: Request,
    conn: ConnDep,
    gate: CurrentDevice,
    cursor: Annotated[Cursor, Query(description="the cursor of the last page the gate applied; 0 at first")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    schema: Annotated[
        int, Query(ge=1, le=SYNC_SCHEMA, description="the newest sync page version the gate reads (protocol)")
    ] = 1,
    x_gate_status: Annotated[
        str | None,
        Header(max_length=MAX_HEADER_CHARS, description="the gate's own status, JSON (see server.gate_health)"),
    ] = None,
) -> Response:
    """Permits, cards and vehicle passes of the gate's park changed after ``cursor``, at most ``limit`` of
    them together; ``complete`` when no more remain.

    Every page carries the park's settings with the server's current counts (and, from ``schema`` 2, those
    of the gate's zone when it is in one, and vehicle permits' party and entries per day), and the whole JWK
    Set. A gate that does not say ``schema`` gets the first version's page, which every release reads.
    The sync marks the gate as seen, with the outbox depth and readers it reports in ``X-Gate-Status``.
    """
    page = feed_after(conn, gate.park_id, cursor, limit)
    park = get_park_by_id(conn, gate.park_id)
    inside, today, at = park_counts(conn, park)
    settings = {**park.public(), "occupancy": inside, "entries_today": today, "counted_at": at}
    permit_columns = page.permits
    if schema >= 2:
        zone = zone_settings(conn, park, gate.id, at)
        if zone is not None:
            settings["zone"] = zone
    else:  # an older gate refuses fields it does not know: it would stop syncing altogether
        permit_columns = {k: v for k, v in permit_columns.items() if k not in ("people", "entries_per_day")}
    body: dict[str, Any] = {
        "cursor": str(page.cursor),
        "complete": page.complete,
        "park": settings,
        "keys": keyring(conn).to_jwks()["keys"],
        "permits": permit_columns,
        "cards": page.cards,
        "vehicle_passes": page.vehicle_passes,
    }
    data = orjson.dumps(body)
    headers = {"Vary": "Accept-Encoding"}
    if len(data) >= GZIP_MIN_BYTES and "gzip" in request.headers.get("accept-encoding", "").lower():
        data = gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
        headers["Content-Encoding"] = "gzip"
    # written last: on SQLite the first write takes the database's write lock until the request commits
    record_sync(conn, gate.id, parse_status(x_gate_status), int(time.time()))
    return Response(data, media_type="application/json", headers=headers)


async def _raw_body(request: Request) -> bytes:
    return await request.body()


@router.post(
    "/events",
    response_model=EventBatchResult,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EventBatch"}}},
        }
    },
)
def upload_events(
    request: Request,
    conn: ConnDep,
    gate: CurrentDevice,
    body: Annotated[bytes, Depends(_raw_body)],
    schema: Annotated[
        int, Query(ge=1, le=EVENTS_SCHEMA, description="the newest batch result version the gate reads (protocol)")
    ] = 1,
) -> Response:
    """Store a batch of at most 1000 events (``protocol.EventBatch``); ids the server already has are duplicates.

    Each event is checked alone: a bad one (a field out of bounds, a time the server cannot believe) is
    refused and recorded where managers see it, and the rest of the batch is stored. From ``schema`` 2 the
    answer lists the refused events with the reason; a gate that does not say ``schema`` gets the first
    version's answer, which every release reads, with the refused events' ids among ``duplicates``: the server
    has them (set aside), so the gate stops sending them and keeps syncing. Only a body that is not a batch at
    all is refused whole (422, or 413 for more than 1000 events).
    """
    try:
        batch = check_batch(body)
    except ValidationError as err:
        errors = err.errors(include_url=False)
        for error in errors:
            if error["type"] == "too_long" and tuple(error["loc"]) == ("events",):
                raise HTTPException(
                    status.HTTP_413_CONTENT_TOO_LARGE,
                    f"a batch holds at most {MAX_EVENTS_PER_BATCH} events, this one has more; split it",
                ) from err
            if error["type"] == "json_invalid":
                raise HTTPException(
                    status.HTTP_422_UNPROCESSABLE_CONTENT, f"body is not valid JSON: {error['msg']}"
                ) from err
        raise RequestValidationError(errors, body=None) from err
    result = ingest(conn, gate, batch)
    request.app.state.metrics.ingested(result)
    answer = result.model_dump()
    if schema < 2:  # an older gate refuses members it does not know: it would stop uploading altogether
        del answer["refused"]
        known = {*result.new, *result.duplicates}
        answer["duplicates"] += list(dict.fromkeys(r.id for r in result.refused if r.id and r.id not in known))
    return Response(orjson.dumps(answer), media_type="application/json")
