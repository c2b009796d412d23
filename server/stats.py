"""Visitor load of a park: occupancy now and time series, read from the hourly and daily roll-ups of events.

Buckets are in park-local time: Kazakhstan is on UTC+5 (since 2024-03-01, one zone, no DST).
"""

from __future__ import annotations

import time
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from protocol import Direction, Reason
from server.db import event_counts, event_days
from server.errors import InvalidInput
from server.parks import Park

LOCAL_OFFSET_S = 5 * 3600
MAX_BUCKETS = 10_000
Bucket = Literal["hour", "day"]
_ADMITTING = [r.value for r in Reason if r.admits]
_SECONDS = {"hour": 3600, "day": 86400}


def local_day_start(t: int) -> int:
    """Unix seconds of the park-local midnight at or before ``t``."""
    return (t + LOCAL_OFFSET_S) // 86400 * 86400 - LOCAL_OFFSET_S


def bucket_start(t: int, bucket: Bucket) -> int:
    return local_day_start(t) if bucket == "day" else t // 3600 * 3600


def _people(direction: Direction, since: int | None = None) -> sa.ColumnElement[Any]:
    condition = sa.and_(event_days.c.direction == direction.value, event_days.c.reason.in_(_ADMITTING))
    if since is not None:
        condition = sa.and_(condition, event_days.c.day >= since)
    return sa.func.coalesce(sa.func.sum(sa.case((condition, event_days.c.people), else_=0)), 0)


def park_counts(conn: Connection, park: Park, now: int | None = None) -> tuple[int, int, int]:
    """(people inside, people who entered today, counted at): inside = entered − exited, never below 0.

    Read from the daily roll-up: all of a park's history is a few rows per day.
    """
    now = int(time.time()) if now is None else now
    entered, exited, today = conn.execute(
        sa.select(
            _people(Direction.ENTRY), _people(Direction.EXIT), _people(Direction.ENTRY, local_day_start(now))
        ).where(event_days.c.park_id == park.id)
    ).one()
    return max(0, int(entered) - int(exited)), int(today), now


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


def stats(conn: Connection, park: Park, start: int, end: int, bucket: Bucket) -> dict[str, Any]:
    """Entries, exits (people), admitted events and refusals by reason, per bucket in [start, end)."""
    if end <= start:
        raise InvalidInput("'to' must be after 'from'")
    step = _SECONDS[bucket]
    first = bucket_start(start, bucket)
    if (end - first) // step > MAX_BUCKETS:
        raise InvalidInput(f"at most {MAX_BUCKETS} {bucket} buckets per request; narrow from/to or use bucket=day")
    series: dict[int, dict[str, Any]] = {
        t: {"start": t, "entries": 0, "exits": 0, "admitted": 0, "refused": {}} for t in range(first, end, step)
    }
    rows = conn.execute(
        sa.select(
            event_counts.c.hour,
            event_counts.c.direction,
            event_counts.c.reason,
            event_counts.c.events,
            event_counts.c.people,
        ).where(
            event_counts.c.park_id == park.id, event_counts.c.hour >= start // 3600 * 3600, event_counts.c.hour < end
        )
    )
    for hour, direction, reason, n, people in rows:
        point = series.get(bucket_start(hour, bucket))
        if point is None:
            continue
        if reason in _ADMITTING:
            point["admitted"] += n
            point["entries" if direction == Direction.ENTRY.value else "exits"] += people
        else:
            point["refused"][reason] = point["refused"].get(reason, 0) + n
    return {"park": park.slug, "bucket": bucket, "from": start, "to": end, "series": list(series.values())}
