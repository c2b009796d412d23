"""Visitor load of a park, for any user of the park."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from server.api.deps import ConnDep, CurrentUser
from server.api.schemas import Occupancy, Stats
from server.parks import get_park
from server.stats import Bucket, occupancy, stats

router = APIRouter(tags=["stats"])


@router.get("/parks/{park}/stats", response_model_by_alias=True)
def read_stats(
    conn: ConnDep,
    user: CurrentUser,
    park: str,
    start: Annotated[int, Query(alias="from", ge=0, description="unix seconds")],
    end: Annotated[int, Query(alias="to", ge=0, description="unix seconds, exclusive")],
    bucket: Bucket = "hour",
) -> Stats:
    """Entries and exits (people), admitted events and refusals by reason, per park-local hour or day.

    Buckets are whole: with ``bucket=day`` every park-local day that ``from``–``to`` touches is counted in full
    (the daily roll-up), so for part of a day ask ``bucket=hour``."""
    found = get_park(conn, park)
    user.require_read(found)
    return Stats.model_validate(stats(conn, found, start, end, bucket))


@router.get("/parks/{park}/occupancy")
def read_occupancy(conn: ConnDep, user: CurrentUser, park: str) -> Occupancy:
    """People inside now (granted entries − exits) and entries today (park-local day)."""
    found = get_park(conn, park)
    user.require_read(found)
    return Occupancy(**occupancy(conn, found))
