"""The management dashboard's numbers, each one query on the roll-ups (or, for conflicts, recent events).

Every function takes the park and ``now`` (unix seconds) and returns plain JSON-able data; the web page
and ``GET /api/v1/parks/{park}/dashboard`` show the same. Days, hours and weekdays are park-local
(UTC+5, see ``server.stats``). ``bench/stats.py`` times each of these on ten million events' worth of
roll-up.
"""

from __future__ import annotations

import calendar
import json
import time
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from protocol import Direction, Reason
from server.db import event_counts, event_days, events, gate_health, gates
from server.parks import Park
from server.stats import LOCAL_OFFSET_S, local_day_start, park_counts

DAY = 86400
WEEK = 7 * DAY
YEAR_WEEKS = 52 * WEEK  # "the same weekday last year": 364 days back
ONLINE_WINDOW_S = 5 * 60  # a gate syncs every minute or so; five minutes of silence means offline
PASSBACK_WINDOW_S = 43_200  # the gates' default anti-passback timeout (gate.config)
CONFLICT_LOOKBACK_S = 2 * DAY
AMBER = 0.8
ADMITTING = [r.value for r in Reason if r.admits]
ENTRY = Direction.ENTRY.value


def load_level(value: int, limit: int) -> str:
    """'none' without a limit, else 'ok', 'amber' from 80 % and 'red' from 100 % of the limit."""
    if limit <= 0:
        return "none"
    if value >= limit:
        return "red"
    return "amber" if value >= AMBER * limit else "ok"


def now_panel(conn: Connection, park: Park, now: int) -> dict[str, Any]:
    """People inside vs. the people-at-one-time limit and entries today vs. the daily quota."""
    inside, today, _ = park_counts(conn, park, now)
    return {
        "inside": inside,
        "capacity": park.capacity,
        "capacity_level": load_level(inside, park.capacity),
        "entries_today": today,
        "daily_quota": park.daily_quota,
        "quota_level": load_level(today, park.daily_quota),
        "at": now,
    }


def gates_panel(conn: Connection, park: Park, now: int) -> list[dict[str, Any]]:
    """Each gate's health (online, last sync, outbox depth, readers) and its people in and out today."""
    today = local_day_start(now)
    counted: dict[tuple[int, str], int] = {
        (gate_id, direction): int(people)
        for gate_id, direction, people in conn.execute(
            sa.select(event_days.c.gate_id, event_days.c.direction, sa.func.sum(event_days.c.people))
            .where(event_days.c.park_id == park.id, event_days.c.day == today, event_days.c.reason.in_(ADMITTING))
            .group_by(event_days.c.gate_id, event_days.c.direction)
        )
    }
    rows = conn.execute(
        sa.select(
            gates.c.id,
            gates.c.slug,
            gates.c.name,
            gates.c.direction,
            gate_health.c.last_seen_at,
            gate_health.c.outbox,
            gate_health.c.readers,
            gate_health.c.software,
        )
        .outerjoin(gate_health, gate_health.c.gate_id == gates.c.id)
        .where(gates.c.park_id == park.id)
        .order_by(gates.c.slug)
    )
    return [
        {
            "slug": row.slug,
            "name": row.name,
            "direction": row.direction,
            "online": row.last_seen_at is not None and now - row.last_seen_at <= ONLINE_WINDOW_S,
            "last_seen_at": row.last_seen_at,
            "outbox": row.outbox,
            "readers": json.loads(row.readers) if row.readers else {},
            "software": row.software,
            "entries_today": counted.get((row.id, ENTRY), 0),
            "exits_today": counted.get((row.id, Direction.EXIT.value), 0),
        }
        for row in rows
    ]


def _entries_by(table: sa.Table, time_column: str, park: Park, start: int, end: int) -> sa.Select[Any]:
    """People admitted on entry per row of a roll-up (``event_counts`` by hour, ``event_days`` by day)."""
    at = table.c[time_column]
    return (
        sa.select(at, sa.func.sum(table.c.people))
        .where(
            table.c.park_id == park.id,
            at >= start,
            at < end,
            table.c.direction == ENTRY,
            table.c.reason.in_(ADMITTING),
        )
        .group_by(at)
    )


def _entries_by_hour(conn: Connection, park: Park, start: int, end: int) -> dict[int, int]:
    rows = conn.execute(_entries_by(event_counts, "hour", park, start, end))
    return {int(hour): int(people) for hour, people in rows}


def hourly_profile(conn: Connection, park: Park, now: int) -> dict[str, Any]:
    """People entering per local hour today, on the same weekday last week and on the same weekday last year."""
    today = local_day_start(now)
    profile: dict[str, Any] = {"day": today}
    for name, day in (("today", today), ("last_week", today - WEEK), ("last_year", today - YEAR_WEEKS)):
        counts = _entries_by_hour(conn, park, day, day + DAY)
        profile[name] = [counts.get(day + h * 3600, 0) for h in range(24)]
    return profile


def heatmap(conn: Connection, park: Park, now: int, weeks: int = 12) -> dict[str, Any]:
    """Mean people entering per weekday (Monday first) × local hour over the last ``weeks`` whole weeks."""
    end = local_day_start(now)
    start = end - weeks * WEEK
    cells = [[0] * 24 for _ in range(7)]
    for hour, people in _entries_by_hour(conn, park, start, end).items():
        local = hour + LOCAL_OFFSET_S
        weekday = (local // DAY + 3) % 7  # 1970-01-01 was a Thursday
        cells[weekday][local % DAY // 3600] += people
    return {"weeks": weeks, "from": start, "to": end, "cells": [[round(v / weeks, 1) for v in row] for row in cells]}


def _entries_by_day(conn: Connection, park: Park, start: int, end: int) -> dict[int, int]:
    rows = conn.execute(_entries_by(event_days, "day", park, start, end))
    return {int(day): int(people) for day, people in rows}


def _change(now: int, before: int) -> float | None:
    return None if before == 0 else round((now - before) / before * 100, 1)


def daily_totals(conn: Connection, park: Park, now: int, days: int = 30) -> list[dict[str, Any]]:
    """People entering per local day for the last ``days`` days (today included), and the same weekday a year before."""
    end = local_day_start(now) + DAY
    start = end - days * DAY
    counts = _entries_by_day(conn, park, start, end)
    before = _entries_by_day(conn, park, start - YEAR_WEEKS, end - YEAR_WEEKS)
    result = []
    for day in range(start, end, DAY):
        this, last = counts.get(day, 0), before.get(day - YEAR_WEEKS, 0)
        result.append({"day": day, "entries": this, "last_year": last, "change_pct": _change(this, last)})
    return result


def _month(day: int) -> tuple[int, int]:
    moment = time.gmtime(day + LOCAL_OFFSET_S)
    return moment.tm_year, moment.tm_mon


def monthly_totals(conn: Connection, park: Park, now: int, months: int = 12) -> list[dict[str, Any]]:
    """People entering per local calendar month for the last ``months`` months, with the same month a year before."""
    year, month = _month(now)
    first = (year * 12 + month - 1) - (months - 1) - 12  # a year before the first month shown
    start_year, start_month = divmod(first, 12)
    start = calendar.timegm((start_year, start_month + 1, 1, 0, 0, 0)) - LOCAL_OFFSET_S
    totals: dict[tuple[int, int], int] = defaultdict(int)
    for day, people in _entries_by_day(conn, park, start, local_day_start(now) + DAY).items():
        totals[_month(day)] += people
    result = []
    for index in range(first + 12, first + 12 + months):
        y, m = divmod(index, 12)
        this, last = totals.get((y, m + 1), 0), totals.get((y - 1, m + 1), 0)
        result.append(
            {"month": f"{y:04d}-{m + 1:02d}", "entries": this, "last_year": last, "change_pct": _change(this, last)}
        )
    return result


def breakdown(conn: Connection, park: Park, start: int, end: int) -> dict[str, Any]:
    """People entering by gate × category, and refused events by reason, over local days in [start, end)."""
    gate_slugs = dict(conn.execute(sa.select(gates.c.id, gates.c.slug).where(gates.c.park_id == park.id)).all())
    by_gate: dict[str, dict[str, int]] = defaultdict(dict)
    refused: dict[str, int] = defaultdict(int)
    rows = conn.execute(
        sa.select(
            event_days.c.gate_id,
            event_days.c.category,
            event_days.c.reason,
            sa.func.sum(event_days.c.events),
            sa.func.sum(event_days.c.people),
        )
        .where(
            event_days.c.park_id == park.id,
            event_days.c.day >= local_day_start(start),
            event_days.c.day < end,
            event_days.c.direction == ENTRY,
        )
        .group_by(event_days.c.gate_id, event_days.c.category, event_days.c.reason)
    )
    for gate_id, category, reason, n, people in rows:
        if reason in ADMITTING:
            cell = by_gate[gate_slugs.get(gate_id, str(gate_id))]
            cell[category] = cell.get(category, 0) + int(people)
        else:
            refused[reason] += int(n)
    categories = sorted({c for cell in by_gate.values() for c in cell})
    return {
        "from": start,
        "to": end,
        "categories": categories,
        "by_gate": {slug: by_gate[slug] for slug in sorted(by_gate)},
        "refused": dict(sorted(refused.items(), key=lambda item: -item[1])),
    }


def offline_conflicts(conn: Connection, park: Park, now: int) -> list[dict[str, Any]]:
    """One permit admitted at two gates while offline within the passback window: entries to review.

    Gates decide alone while offline, so each one's anti-passback only knows its own entries; the server
    sees both. Only the last two days' events are read (``ix_events_park_time``).
    """
    since = (now - CONFLICT_LOOKBACK_S) * 1000
    rows = conn.execute(
        sa.select(events.c.permit_id, events.c.gate_id, events.c.occurred_at, events.c.people, gates.c.slug)
        .join(gates, gates.c.id == events.c.gate_id)
        .where(
            events.c.park_id == park.id,
            events.c.occurred_at >= since,
            events.c.direction == ENTRY,
            events.c.granted.is_(True),
            events.c.permit_id.is_not(None),
            events.c.flags.like("%offline%"),
        )
        .order_by(events.c.permit_id, events.c.occurred_at)
    )
    conflicts: list[dict[str, Any]] = []
    previous: Any = None
    for row in rows:
        if (
            previous is not None
            and previous.permit_id == row.permit_id
            and previous.gate_id != row.gate_id
            and row.occurred_at - previous.occurred_at <= PASSBACK_WINDOW_S * 1000
        ):
            conflicts.append(
                {
                    "permit_id": row.permit_id,
                    "first_gate": previous.slug,
                    "first_at": previous.occurred_at // 1000,
                    "second_gate": row.slug,
                    "second_at": row.occurred_at // 1000,
                    "people": int(row.people),
                }
            )
        previous = row
    return conflicts


def dashboard(conn: Connection, park: Park, now: int | None = None) -> dict[str, Any]:
    """Everything the dashboard page shows for ``park``."""
    now = int(time.time()) if now is None else now
    today = local_day_start(now)
    return {
        "park": park.public(),
        "now": now_panel(conn, park, now),
        "gates": gates_panel(conn, park, now),
        "hourly": hourly_profile(conn, park, now),
        "heatmap": heatmap(conn, park, now),
        "daily": daily_totals(conn, park, now),
        "monthly": monthly_totals(conn, park, now),
        "breakdown_today": breakdown(conn, park, today, today + DAY),
        "breakdown_30d": breakdown(conn, park, today - 29 * DAY, today + DAY),
        "conflicts": offline_conflicts(conn, park, now),
    }
