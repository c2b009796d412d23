"""The dashboard's numbers, a park's limits, and the open-data export (CSV + CSV-on-the-Web metadata)."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Request, Response
from pydantic import Field

from protocol.fields import Count
from server.api.deps import ChecksFirst, ConnDep, ManagedPark, ReadablePark, answers
from server.api.routes.stats import From, To
from server.api.schemas import Body, ParkPublic
from server.capacity import set_limits
from server.export import csvw_metadata, export_csv
from server.stats_dashboard import dashboard

router = APIRouter(tags=["dashboard"], route_class=ChecksFirst, responses=answers(404, 422))


class Limits(Body):
    capacity: Annotated[Count, Field(description="people at one time; 0 = no limit")]
    daily_quota: Annotated[Count, Field(description="entries a day; 0 = no limit")]


@router.get("/parks/{park}/dashboard")
def read_dashboard(conn: ConnDep, park: ReadablePark) -> dict[str, object]:
    """Everything the dashboard shows: load now, gates' health, profiles, heatmap, totals, breakdowns, conflicts."""
    return dashboard(conn, park)


@router.put("/parks/{park}/limits")
def update_limits(conn: ConnDep, park: ManagedPark, body: Limits) -> ParkPublic:
    """Set the people-at-one-time limit and the daily quota (0 = no limit); gates get them on their next sync."""
    return ParkPublic(**set_limits(conn, park, body.capacity, body.daily_quota).public())


@router.get("/parks/{park}/export.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def read_export(
    conn: ConnDep, park: ManagedPark, start: From, end: To, period: Literal["day", "hour"] = "day"
) -> Response:
    """Visitors per park-local day or UTC hour by category and direction, CSV (UTF-8, ISO-8601 UTC)."""
    filename = f"qaqpa-{park.slug}-{period}-{start}-{end}.csv"
    return Response(
        export_csv(conn, park, start, end, period),
        media_type="text/csv; charset=utf-8; header=present",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/parks/{park}/export.csv-metadata.json",
    response_class=Response,
    responses={200: {"content": {"application/csvm+json": {"schema": {"type": "object"}}}}},
)
def read_export_metadata(
    request: Request,
    park: ManagedPark,
    start: From,
    end: To,
    period: Literal["day", "hour"] = "day",
) -> Response:
    """The CSV-on-the-Web metadata (``application/csvm+json``) of the export with the same parameters."""
    asked = {"from": start, "to": end, "period": period}  # what was checked, never a parameter it does not know
    url = str(request.url_for("read_export", park=park.slug).include_query_params(**asked))
    body = json.dumps(csvw_metadata(park, url, start, end, period), ensure_ascii=False, indent=2)
    return Response(body, media_type="application/csvm+json")
