"""Ingest of gate events: idempotent by the gate-made event id, with every roll-up kept in step.

New events are counted into ``event_counts`` (UTC hour) and ``event_days`` (park-local day) by gate,
direction, reason and category, and their admitted people into ``people_hours`` and ``people_days``, in the
same transaction as the events themselves.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from protocol import Direction, EventBatch, EventBatchResult, Reason
from server.db import event_counts, event_days, events, parks, people_days, people_hours
from server.park_time import HOUR, day_start
from server.parks import Gate


def _insert(conn: Connection, table: Any) -> Any:
    # ON CONFLICT is dialect syntax; both dialects SQLAlchemy offers it for are the two we run on
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


# PostgreSQL: the whole batch as one JSON parameter, unpacked by the server. A multi-row VALUES list with
# 14 × 500 placeholders spends most of its time in the driver converting the query and its parameters.
_PG_INSERT = (
    "INSERT INTO events SELECT * FROM json_populate_recordset(NULL::events, %s) "
    "ON CONFLICT (id) DO NOTHING RETURNING id"
)


def _insert_new(conn: Connection, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the rows whose id is not stored yet; return the ids that were inserted."""
    if conn.dialect.name == "postgresql":
        return {row[0] for row in conn.exec_driver_sql(_PG_INSERT, (orjson.dumps(rows).decode(),))}
    stmt = sqlite.insert(events).on_conflict_do_nothing(index_elements=[events.c.id]).returning(events.c.id)
    return set(conn.execute(stmt, rows).scalars().all())


def _add(conn: Connection, table: Any, rows: list[dict[str, Any]], counters: tuple[str, ...]) -> None:
    """Upsert ``rows`` into a roll-up, adding their ``counters`` to the stored ones (all else is the key)."""
    upsert = _insert(conn, table)
    keys = [table.c[name] for name in rows[0] if name not in counters]
    upsert = upsert.on_conflict_do_update(
        index_elements=keys, set_={name: table.c[name] + upsert.excluded[name] for name in counters}
    )
    conn.execute(upsert, rows)


def _rollup_rows(gate: Gate, column: str, totals: dict[tuple[Any, ...], list[int]]) -> list[dict[str, Any]]:
    # sorted, so concurrent batches lock roll-up rows in the same order and cannot deadlock
    return [
        {"park_id": gate.park_id, column: t, "gate_id": gate.id, "direction": d, "reason": r, "category": c}
        | {"events": n, "people": p}
        for (t, d, r, c), (n, p) in sorted(totals.items())
    ]


def _people_rows(gate: Gate, column: str, totals: dict[int, list[int]]) -> list[dict[str, Any]]:
    return [
        {"park_id": gate.park_id, column: t, "gate_id": gate.id, "entered": entered, "exited": exited}
        for t, (entered, exited) in sorted(totals.items())
    ]


def _park_timezone(conn: Connection, gate: Gate) -> str:
    return str(conn.execute(sa.select(parks.c.timezone).where(parks.c.id == gate.park_id)).scalar_one())


def _add_rollups(conn: Connection, gate: Gate, hours: dict[tuple[int, str, str, str], list[int]]) -> None:
    """Add new events, counted by (UTC hour, direction, reason, category), to every roll-up."""
    # a park-local midnight is a UTC hour boundary (server.park_time), so each hour lies in one local day
    timezone = _park_timezone(conn, gate)
    day_of = {hour: day_start(hour, timezone) for hour, *_ in hours}
    days: dict[tuple[int, str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    in_out_by_hour: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    in_out_by_day: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for (hour, direction, reason, category), (n, people) in hours.items():
        day = days[(day_of[hour], direction, reason, category)]
        day[0] += n
        day[1] += people
        if Reason(reason).admits:
            side = 0 if direction == Direction.ENTRY.value else 1
            in_out_by_hour[hour][side] += people
            in_out_by_day[day_of[hour]][side] += people
    _add(conn, event_counts, _rollup_rows(gate, "hour", hours), ("events", "people"))
    _add(conn, event_days, _rollup_rows(gate, "day", days), ("events", "people"))
    if in_out_by_hour:
        _add(conn, people_hours, _people_rows(gate, "hour", in_out_by_hour), ("entered", "exited"))
        _add(conn, people_days, _people_rows(gate, "day", in_out_by_day), ("entered", "exited"))


def ingest(conn: Connection, gate: Gate, batch: EventBatch, now: int | None = None) -> EventBatchResult:
    """Store the events the server does not have yet; report which ids were new and which duplicates."""
    received_at = int(time.time()) if now is None else now
    rows = [
        {
            "id": e.id,
            "park_id": gate.park_id,
            "gate_id": gate.id,
            "occurred_at": e.occurred_at,
            "direction": e.direction.value,
            "credential": e.credential.value,
            "reason": e.reason.value,
            "granted": e.granted,
            "people": e.people,
            "permit_id": e.permit_id,
            "category": e.category,
            "flags": ",".join(e.flags),
            "note": e.note,
            "received_at": received_at,
            "card_uid": e.card_uid,
            "plate": e.plate,
        }
        for e in batch.events
    ]
    new_ids = _insert_new(conn, rows)
    hours: dict[tuple[int, str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    counted: set[str] = set()
    for e in batch.events:
        if e.id in new_ids and e.id not in counted:
            counted.add(e.id)
            hour = hours[(e.occurred_at // 1000 // HOUR * HOUR, e.direction.value, e.reason.value, e.category or "")]
            hour[0] += 1
            hour[1] += e.people
    if hours:
        _add_rollups(conn, gate, hours)
    new: list[str] = []
    duplicates: list[str] = []
    seen: set[str] = set()
    for e in batch.events:
        if e.id in seen:
            continue
        seen.add(e.id)
        (new if e.id in new_ids else duplicates).append(e.id)
    return EventBatchResult(new=new, duplicates=duplicates)
