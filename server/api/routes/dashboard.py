"""The dashboard's numbers, a park's limits, and the open-data export (CSV + CSV-on-the-Web metadata)."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import Field, StrictInt

from server.api.deps import ConnDep, CurrentUser
from server.api.schemas import Body, ParkPublic
from server.capacity import MAX_LIMIT, set_limits
from server.export import csvw_metadata, export_csv
from server.parks import get_park
from server.stats_dashboard import dashboard

router = APIRouter(tags=["dashboard"])

From = Annotated[int, Query(alias="from", ge=0, description="unix seconds")]
To = Annotated[int, Query(alias="to", ge=0, description="unix seconds, exclusive")]


class Limits(Body):
    capacity: Annotated[StrictInt, Field(ge=0, le=MAX_LIMIT, description="people at one time; 0 = no limit")]
    daily_quota: Annotated[StrictInt, Field(ge=0, le=MAX_LIMIT, description="entries a day; 0 = no limit")]


@router.get("/parks/{park}/dashboard")
def read_dashboard(conn: ConnDep, user: CurrentUser, park: str) -> dict[str, object]:
    """Everything the dashboard shows: load now, gates' health, profiles, heatmap, totals, breakdowns, conflicts."""
    found = get_park(conn, park)
    user.require_read(found)
    return dashboard(conn, found)


@router.put("/parks/{park}/limits")
def update_limits(conn: ConnDep, user: CurrentUser, park: str, body: Limits) -> ParkPublic:
    """Set the people-at-one-time limit and the daily quota (0 = no limit); gates get them on their next sync."""
    found = get_park(conn, park)
    user.require_manage(found)
    return ParkPublic(**set_limits(conn, found, body.capacity, body.daily_quota).public())


@router.get("/parks/{park}/export.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def read_export(
    conn: ConnDep, user: CurrentUser, park: str, start: From, end: To, period: Literal["day", "hour"] = "day"
) -> Response:
    """Visitors per park-local day or UTC hour by category and direction, CSV (UTF-8, ISO-8601 UTC)."""
    found = get_park(conn, park)
    user.require_manage(found)
    filename = f"qaqpa-{found.slug}-{period}-{start}-{end}.csv"
    return Response(
        export_csv(conn, found, start, end, period),
        media_type="text/csv; charset=utf-8; header=present",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/parks/{park}/export.csv-metadata.json")
def read_export_metadata(
    request: Request,
    conn: ConnDep,
    user: CurrentUser,
    park: str,
    start: From,
    end: To,
    period: Literal["day", "hour"] = "day",
) -> Response:
    """The CSV-on-the-Web metadata (``application/csvm+json``) of the export with the same parameters."""
    found = get_park(conn, park)
    user.require_manage(found)
    url = str(request.url_for("read_export", park=found.slug).include_query_params(**request.query_params))
    body = json.dumps(csvw_metadata(found, url, start, end, period), ensure_ascii=False, indent=2)
    return Response(body, media_type="application/csvm+json")
