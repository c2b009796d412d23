"""The management dashboard's numbers, each one query on the roll-ups (or, for conflicts, recent events).

Every function takes the park and ``now`` (unix seconds) and returns plain JSON-able data; the web page
and ``GET /api/v1/parks/{park}/dashboard`` show the same. Days, hours, weekdays and months are the park's
local ones (``server.park_time``). The load numbers read ``people_hours``/``people_days`` (one row per gate
and hour or day); the breakdowns the detailed ``event_days``. ``bench/stats.py`` times each of these, and
the whole ``dashboard``, on ten million events' worth of roll-up.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from protocol import Direction
from server.db import (
    OFFLINE_ENTRY,
    event_days,
    events,
    gate_health,
    gates,
    people_days,
    people_hours,
    refused_events,
)
from server.park_time import DAY, day_start, days_bounds, local, midnight, month_start, park_today
from server.parks import Park
from server.stats import ADMITTING, park_counts

WEEK_DAYS = 7
YEAR_DAYS = 52 * WEEK_DAYS  # "the same weekday last year": 364 days back
ONLINE_WINDOW_S = 5 * 60  # a gate syncs every minute or so; five minutes of silence means offline
PASSBACK_WINDOW_S = 43_200  # the gates' default anti-passback timeout (gate.config)
CONFLICT_LOOKBACK_S = 2 * DAY
REFUSED_SHOWN = 20  # the newest events the server refused, listed with their reasons
AMBER = 0.8
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
    """Each gate's health (online, last sync, outbox depth, events set aside, readers) and its people in and
    out today."""
    today = midnight(park_today(park, now), park.timezone)
    counted = sa.join(
        gates,
        people_days,
        sa.and_(people_days.c.gate_id == gates.c.id, people_days.c.park_id == park.id, people_days.c.day == today),
        isouter=True,
    ).outerjoin(gate_health, gate_health.c.gate_id == gates.c.id)
    rows = conn.execute(
        sa.select(
            gates.c.slug,
            gates.c.name,
            gates.c.direction,
            gate_health.c.last_seen_at,
            gate_health.c.outbox,
            gate_health.c.refused,
            gate_health.c.readers,
            gate_health.c.software,
            people_days.c.entered,
            people_days.c.exited,
        )
        .select_from(counted)
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
            "refused": row.refused,  # events the gate set aside as refused, as it last reported; None: not said
            "readers": json.loads(row.readers) if row.readers else {},
            "software": row.software,
            "entries_today": int(row.entered or 0),
            "exits_today": int(row.exited or 0),
        }
        for row in rows
    ]


def _entered(conn: Connection, park: Park, table: sa.Table, ranges: list[tuple[int, int]]) -> dict[int, int]:
    """People admitted on entry per hour (``people_hours``) or day (``people_days``) in any of ``ranges``."""
    at = people_hours.c.hour if table is people_hours else people_days.c.day
    rows = conn.execute(
        sa.select(at, sa.func.sum(table.c.entered))
        .where(table.c.park_id == park.id, sa.or_(*(sa.and_(at >= start, at < end) for start, end in ranges)))
        .group_by(at)
    )
    return {int(t): int(people) for t, people in rows}


def hourly_profile(conn: Connection, park: Park, now: int) -> dict[str, Any]:
    """People entering per local hour today, on the same weekday last week and on the same weekday last year."""
    today = park_today(park, now)
    days = {
        "today": today,
        "last_week": today - dt.timedelta(days=WEEK_DAYS),
        "last_year": today - dt.timedelta(days=YEAR_DAYS),
    }
    counts = _entered(conn, park, people_hours, [days_bounds(park, day, 1) for day in days.values()])
    profile: dict[str, Any] = {"day": midnight(today, park.timezone)} | {name: [0] * 24 for name in days}
    names = {day: name for name, day in days.items()}
    for hour, people in counts.items():
        moment = local(hour, park.timezone)
        profile[names[moment.date()]][moment.hour] += people
    return profile


def heatmap(conn: Connection, park: Park, now: int, weeks: int = 12) -> dict[str, Any]:
    """Mean people entering per weekday (Monday first) × local hour over the last ``weeks`` whole weeks."""
    start, end = days_bounds(park, park_today(park, now) - dt.timedelta(days=weeks * WEEK_DAYS), weeks * WEEK_DAYS)
    cells = [[0] * 24 for _ in range(7)]
    for hour, people in _entered(conn, park, people_hours, [(start, end)]).items():
        moment = local(hour, park.timezone)
        cells[moment.weekday()][moment.hour] += people
    return {"weeks": weeks, "from": start, "to": end, "cells": [[round(v / weeks, 1) for v in row] for row in cells]}


def _change(now: int, before: int) -> float | None:
    return None if before == 0 else round((now - before) / before * 100, 1)


def daily_totals(conn: Connection, park: Park, now: int, days: int = 30) -> list[dict[str, Any]]:
    """People entering per local day for the last ``days`` days (today included), and the same weekday a year before."""
    first = park_today(park, now) - dt.timedelta(days=days - 1)
    year_before = first - dt.timedelta(days=YEAR_DAYS)
    counts = _entered(conn, park, people_days, [days_bounds(park, first, days), days_bounds(park, year_before, days)])
    result = []
    for offset in range(days):
        day = midnight(first + dt.timedelta(days=offset), park.timezone)
        before = midnight(year_before + dt.timedelta(days=offset), park.timezone)
        this, last = counts.get(day, 0), counts.get(before, 0)
        result.append({"day": day, "entries": this, "last_year": last, "change_pct": _change(this, last)})
    return result


def monthly_totals(conn: Connection, park: Park, now: int, months: int = 12) -> list[dict[str, Any]]:
    """People entering per local calendar month for the last ``months`` months, with the same month a year before."""
    today = park_today(park, now)
    last = today.year * 12 + today.month - 1  # months since year 0, this month
    first = last - (months - 1) - 12  # a year before the first month shown
    start = month_start(first // 12, first % 12 + 1, park.timezone)
    end = month_start(today.year, today.month + 1, park.timezone)
    totals: dict[int, int] = defaultdict(int)
    for day, people in _entered(conn, park, people_days, [(start, end)]).items():
        moment = local(day, park.timezone)
        totals[moment.year * 12 + moment.month - 1] += people
    result = []
    for index in range(last - months + 1, last + 1):
        this, before = totals.get(index, 0), totals.get(index - 12, 0)
        result.append(
            {
                "month": f"{index // 12:04d}-{index % 12 + 1:02d}",
                "entries": this,
                "last_year": before,
                "change_pct": _change(this, before),
            }
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
            event_days.c.day >= day_start(start, park.timezone),
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
    sees both. Only the last two days' offline admissions are read (``ix_events_offline_entries``).
    """
    since = (now - CONFLICT_LOOKBACK_S) * 1000
    # OFFLINE_ENTRY as text, unqualified (hence the subquery of events alone): ix_events_offline_entries
    # is used only when the query repeats that index's condition word for word
    offline = (
        sa.select(
            events.c.permit_id,
            events.c.gate_id,
            events.c.occurred_at,
            events.c.people,
            *(
                sa.func.lag(column).over(partition_by=events.c.permit_id, order_by=events.c.occurred_at).label(name)
                for column, name in ((events.c.gate_id, "first_gate_id"), (events.c.occurred_at, "first_at"))
            ),
        )
        .where(events.c.park_id == park.id, events.c.occurred_at >= since, sa.text(OFFLINE_ENTRY))
        .subquery()
    )
    first, second = gates.alias("first_gate"), gates.alias("second_gate")
    rows = conn.execute(
        sa.select(offline.c.permit_id, first.c.slug, offline.c.first_at, second.c.slug, offline.c.occurred_at)
        .add_columns(offline.c.people)
        .join(first, first.c.id == offline.c.first_gate_id)
        .join(second, second.c.id == offline.c.gate_id)
        .where(
            offline.c.first_gate_id != offline.c.gate_id,
            offline.c.occurred_at - offline.c.first_at <= PASSBACK_WINDOW_S * 1000,
        )
        .order_by(offline.c.permit_id, offline.c.occurred_at)
    )
    return [
        {
            "permit_id": permit_id,
            "first_gate": first_gate,
            "first_at": first_at // 1000,
            "second_gate": second_gate,
            "second_at": second_at // 1000,
            "people": int(people),
        }
        for permit_id, first_gate, first_at, second_gate, second_at, people in rows
    ]


def refused_panel(conn: Connection, park: Park, limit: int = REFUSED_SHOWN) -> dict[str, Any]:
    """How many events the park's gates sent that the server refused (``server.events``), and the newest ones
    with the gate, the event id and the reason."""
    count = conn.execute(
        sa.select(sa.func.count()).select_from(refused_events).where(refused_events.c.park_id == park.id)
    ).scalar_one()
    rows = conn.execute(
        sa.select(refused_events.c.event_id, refused_events.c.reason, refused_events.c.received_at, gates.c.slug)
        .join(gates, gates.c.id == refused_events.c.gate_id)
        .where(refused_events.c.park_id == park.id)
        .order_by(refused_events.c.received_at.desc(), refused_events.c.id.desc())
        .limit(limit)
    )
    recent = [
        {"gate": row.slug, "event_id": row.event_id, "reason": row.reason, "received_at": row.received_at}
        for row in rows
    ]
    return {"count": int(count), "recent": recent}


def dashboard(conn: Connection, park: Park, now: int | None = None) -> dict[str, Any]:
    """Everything the dashboard page shows for ``park``."""
    now = int(time.time()) if now is None else now
    today = park_today(park, now)
    return {
        "park": park.public(),
        "now": now_panel(conn, park, now),
        "gates": gates_panel(conn, park, now),
        "hourly": hourly_profile(conn, park, now),
        "heatmap": heatmap(conn, park, now),
        "daily": daily_totals(conn, park, now),
        "monthly": monthly_totals(conn, park, now),
        "breakdown_today": breakdown(conn, park, *days_bounds(park, today, 1)),
        "breakdown_30d": breakdown(conn, park, *days_bounds(park, today - dt.timedelta(days=29), 30)),
        "conflicts": offline_conflicts(conn, park, now),
        "refused": refused_panel(conn, park),
    }
