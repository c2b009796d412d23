"""Visitor load of a park: occupancy now and time series, read from the roll-ups of events.

Days are the park's local days (``server.park_time``, by the park's time zone); hours are UTC hours, which
are the park's local hours too.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from protocol import Direction, Reason
from server.db import event_counts, event_days, people_days
from server.errors import InvalidInput
from server.park_time import DAY, HOUR, local, midnight, park_day_start
from server.parks import Park

MAX_BUCKETS = 10_000
Bucket = Literal["hour", "day"]
ADMITTING = [r.value for r in Reason if r.admits]
_SECONDS = {"hour": HOUR, "day": DAY}


def park_counts(conn: Connection, park: Park, now: int | None = None) -> tuple[int, int, int]:
    """(people inside, people who entered today, counted at): inside = entered − exited, never below 0.

    Read from ``people_days``: all of a park's history is one row per gate and day.
    """
    now = int(time.time()) if now is None else now
    today = park_day_start(park, now)
    where = people_days.c.park_id == park.id
    entered, exited, entered_today = people_sums(conn, people_days, where, people_days.c.day == today)
    return max(0, entered - exited), entered_today, now


def people_sums(
    conn: Connection, table: sa.Table, where: sa.ColumnElement[bool], today: sa.ColumnElement[bool]
) -> tuple[int, int, int]:
    """(entered, exited, entered in the rows ``today`` picks) over the rows of ``people_days`` or ``people_hours``
    that ``where`` picks: what a park's or a zone's people inside and entries today are made of."""
    entered, exited, entered_today = conn.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(table.c.entered), 0),
            sa.func.coalesce(sa.func.sum(table.c.exited), 0),
            sa.func.coalesce(sa.func.sum(sa.case((today, table.c.entered), else_=0)), 0),
        ).where(where)
    ).one()
    return int(entered), int(exited), int(entered_today)


def occupancy(conn: Connection, park: Park, now: int | None = None) -> dict[str, Any]:
    inside, today, at = park_counts(conn, park, now)
    return {
        "park": park.slug,
        "inside": inside,
        "entries_today": today,
        "capacity": park.capacity,
        "daily_quota": park.daily_quota,
        "at": at,
    }


def bucket_starts(park: Park, start: int, end: int, bucket: Bucket) -> list[int]:
    """The starts of the park-local hours or days that overlap [start, end), at most ``MAX_BUCKETS``."""
    if end <= start:
        raise InvalidInput("'to' must be after 'from'")
    if (end - start) // _SECONDS[bucket] > MAX_BUCKETS:
        raise InvalidInput(f"at most {MAX_BUCKETS} {bucket} buckets per request; narrow from/to or use bucket=day")
    if bucket == "hour":
        return list(range(start // HOUR * HOUR, end, HOUR))
    day = local(start, park.timezone).date()
    starts = [midnight(day, park.timezone)]
    while True:
        day += dt.timedelta(days=1)
        following = midnight(day, park.timezone)
        if following >= end:
            return starts
        starts.append(following)


def stats(conn: Connection, park: Park, start: int, end: int, bucket: Bucket) -> dict[str, Any]:
    """Entries, exits (people), admitted events and refusals by reason, per bucket in [start, end)."""
    starts = bucket_starts(park, start, end, bucket)
    series: dict[int, dict[str, Any]] = {
        t: {"start": t, "entries": 0, "exits": 0, "admitted": 0, "refused": {}} for t in starts
    }
    table = event_days if bucket == "day" else event_counts
    when = table.c[bucket]
    rows = conn.execute(
        sa.select(when, table.c.direction, table.c.reason, sa.func.sum(table.c.events), sa.func.sum(table.c.people))
        .where(table.c.park_id == park.id, when >= starts[0], when < end)
        .group_by(when, table.c.direction, table.c.reason)
    )
    for at, direction, reason, n, people in rows:
        point = series.get(at)
        if point is None:  # a day row of another zone's midnight: the park's zone was changed since
            continue
        if reason in ADMITTING:
            point["admitted"] += int(n)
            point["entries" if direction == Direction.ENTRY.value else "exits"] += int(people)
        else:
            point["refused"][reason] = point["refused"].get(reason, 0) + int(n)
    return {"park": park.slug, "bucket": bucket, "from": start, "to": end, "series": list(series.values())}
