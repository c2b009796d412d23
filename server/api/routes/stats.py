"""Visitor load of a park, for any user of the park."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from protocol.fields import UnixSecondsText
from server.api.deps import ChecksFirst, ConnDep, ReadablePark, answers
from server.api.schemas import Occupancy, Stats
from server.stats import Bucket, occupancy, stats

router = APIRouter(tags=["stats"], route_class=ChecksFirst, responses=answers(404, 422))

From = Annotated[UnixSecondsText, Query(alias="from", description="unix seconds")]
To = Annotated[UnixSecondsText, Query(alias="to", description="unix seconds, exclusive")]


@router.get("/parks/{park}/stats", response_model_by_alias=True)
def read_stats(conn: ConnDep, park: ReadablePark, start: From, end: To, bucket: Bucket = "hour") -> Stats:
    """Entries and exits (people), admitted events and refusals by reason, per park-local hour or day.

    Buckets are whole: with ``bucket=day`` every park-local day that ``from``–``to`` touches is counted in full
    (the daily roll-up), so for part of a day ask ``bucket=hour``."""
    return Stats.model_validate(stats(conn, park, start, end, bucket))


@router.get("/parks/{park}/occupancy")
def read_occupancy(conn: ConnDep, park: ReadablePark) -> Occupancy:
    """People inside now (granted entries − exits) and entries today (park-local day)."""
    return Occupancy(**occupancy(conn, park))
