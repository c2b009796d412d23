"""Ingest of gate events: idempotent by the gate-made event id, with the hourly and daily roll-ups kept in step."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import orjson
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from protocol import EventBatch, EventBatchResult
from server.db import event_counts, event_days, events
from server.parks import Gate
from server.stats import local_day_start


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


def _add_to_rollup(
    conn: Connection, table: Any, column: str, gate: Gate, totals: dict[tuple[int, str, str, str], list[int]]
) -> None:
    upsert = _insert(conn, table)
    upsert = upsert.on_conflict_do_update(
        index_elements=[
            table.c.park_id,
            table.c[column],
            table.c.gate_id,
            table.c.direction,
            table.c.reason,
            table.c.category,
        ],
        set_={"events": table.c.events + upsert.excluded.events, "people": table.c.people + upsert.excluded.people},
    )
    # sorted, so concurrent batches lock roll-up rows in the same order and cannot deadlock
    conn.execute(
        upsert,
        [
            {
                "park_id": gate.park_id,
                column: t,
                "gate_id": gate.id,
                "direction": d,
                "reason": r,
                "category": c,
                "events": n,
                "people": p,
            }
            for (t, d, r, c), (n, p) in sorted(totals.items())
        ],
    )


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
    counted: set[str] = set()
    hours: dict[tuple[int, str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    days: dict[tuple[int, str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for e in batch.events:
        if e.id in new_ids and e.id not in counted:
            counted.add(e.id)
            seconds = e.occurred_at // 1000
            key = (e.direction.value, e.reason.value, e.category or "")
            hour = hours[(seconds // 3600 * 3600, *key)]
            hour[0] += 1
            hour[1] += e.people
            day = days[(local_day_start(seconds), *key)]
            day[0] += 1
            day[1] += e.people
    for table, column, totals in ((event_counts, "hour", hours), (event_days, "day", days)):
        if totals:
            _add_to_rollup(conn, table, column, gate, totals)
    new: list[str] = []
    duplicates: list[str] = []
    seen: set[str] = set()
    for e in batch.events:
        if e.id in seen:
            continue
        seen.add(e.id)
        (new if e.id in new_ids else duplicates).append(e.id)
    return EventBatchResult(new=new, duplicates=duplicates)
