"""Ingest of gate events: each event checked alone, idempotent by the gate-made event id, with every roll-up
kept in step.

A batch is read leniently: the envelope must be a list of 1 to 1000 items, then each item is checked on its
own (``protocol.GateEvent``, then the dates against the server's clock). A bad event is refused alone, with a
sentence naming the field, and recorded in ``refused_events`` where managers see it; the rest of its batch is
stored. A batch of good events (the common case) is validated in one pass straight from the JSON bytes.

New events are counted into ``event_counts`` (UTC hour) and ``event_days`` (park-local day) by gate,
direction, reason and category, and their admitted people into ``people_hours`` and ``people_days``, in the
same transaction as the events themselves.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from protocol import (
    MAX_EVENTS_PER_BATCH,
    Direction,
    EventBatch,
    EventBatchResult,
    GateEvent,
    Reason,
    RefusedEvent,
    refusal_reason,
)
from protocol.schemas import EventId
from server.db import event_counts, event_days, events, parks, people_days, people_hours, refused_events
from server.park_time import HOUR, day_start
from server.parks import Gate

# No gate ran before 2024 (Qaqpa did not exist): an event dated earlier comes from a clock that lost its time
# (a Pi without its RTC battery starts in 1970). A fixed date rather than when the gate was registered: a gate
# registered again on the server (a Pi replaced, its SD card moved) still hands over what its outbox held.
EARLIEST_EVENT_MS = int(dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp() * 1000)
# a gate's clock may run ahead of the server's (gate.clock checks it at each sync): a day is far more than a
# clock that was once right drifts offline, and an event later than that (a clock that jumped years) would be
# counted inside the park until that day came
MAX_AHEAD_MS = 24 * 3600 * 1000
MAX_EXCERPT_CHARS = 2000  # refused_events.event

_EVENT_ID: TypeAdapter[str] = TypeAdapter(EventId)


class _Envelope(BaseModel):
    """A batch read leniently: the list's bounds only; each event is checked alone."""

    model_config = ConfigDict(extra="forbid")

    events: Annotated[list[Any], Field(min_length=1, max_length=MAX_EVENTS_PER_BATCH)]


@dataclass(frozen=True)
class Refusal:
    index: int  # position in the batch
    event_id: str | None  # None when the id itself is unreadable
    reason: str  # English, naming the field
    event: str  # the event as sent: ASCII JSON, cut short


@dataclass(frozen=True)
class CheckedBatch:
    events: list[tuple[int, GateEvent]]  # the events that passed, with their positions in the batch
    refused: list[Refusal]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _excerpt(item: Any) -> str:
    # ASCII: a NUL, a bidi override or a lone surrogate becomes an escape that any database and page can hold
    return _cut(json.dumps(item, ensure_ascii=True, default=str), MAX_EXCERPT_CHARS)


def _readable_id(item: Any) -> str | None:
    if not isinstance(item, dict):
        return None
    try:
        return _EVENT_ID.validate_python(item.get("id"))
    except ValidationError:
        return None


def check_batch(body: bytes) -> CheckedBatch:
    """The events of a ``POST /gate/events`` body, each checked alone; ValidationError when the body is not a
    batch at all (not JSON, not ``{"events": [...]}``, no events or more than ``MAX_EVENTS_PER_BATCH``)."""
    try:
        # one pass from bytes to objects: validating from JSON is twice as fast as loads() then validate
        batch = EventBatch.model_validate_json(body)
    except ValidationError:
        pass
    else:
        return CheckedBatch(list(enumerate(batch.events)), [])
    envelope = _Envelope.model_validate_json(body)
    passed: list[tuple[int, GateEvent]] = []
    refused: list[Refusal] = []
    for index, item in enumerate(envelope.events):
        try:
            passed.append((index, GateEvent.model_validate(item)))
        except ValidationError as err:
            refused.append(Refusal(index, _readable_id(item), refusal_reason(err), _excerpt(item)))
    return CheckedBatch(passed, refused)


def _moment(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _implausible_time(event: GateEvent, now_ms: int) -> str | None:
    """Why the server cannot believe when ``event`` happened, or None (see EARLIEST_EVENT_MS, MAX_AHEAD_MS)."""
    at = event.occurred_at
    if at < EARLIEST_EVENT_MS:
        return (
            f"occurred_at: {_moment(at)} is before {_moment(EARLIEST_EVENT_MS)}, when no gate ran; "
            "the gate's clock had lost its time"
        )
    if at > now_ms + MAX_AHEAD_MS:
        return f"occurred_at: {_moment(at)} is more than a day after the server's clock ({_moment(now_ms)})"
    return None


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


def _record_refused(conn: Connection, gate: Gate, refused: list[Refusal], received_at: int) -> None:
    rows = [
        {
            "park_id": gate.park_id,
            "gate_id": gate.id,
            "event_id": r.event_id,
            "reason": r.reason,
            "event": r.event,
            "received_at": received_at,
        }
        for r in refused
    ]
    # the first refusal of an event is kept: a gate retrying it (a release that knows no refusals) adds nothing
    stmt = _insert(conn, refused_events).on_conflict_do_nothing(
        index_elements=[refused_events.c.gate_id, refused_events.c.event_id]
    )
    conn.execute(stmt, rows)


def ingest(conn: Connection, gate: Gate, batch: CheckedBatch, now: int | None = None) -> EventBatchResult:
    """Store the events the server does not have yet and record the refused ones; report which ids were new,
    which duplicates, and which were refused and why."""
    received_at = int(time.time()) if now is None else now
    refused = list(batch.refused)
    accepted: list[GateEvent] = []
    for index, e in batch.events:
        problem = _implausible_time(e, received_at * 1000)
        if problem is None:
            accepted.append(e)
        else:
            refused.append(Refusal(index, e.id, problem, _excerpt(e.model_dump(mode="json"))))
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
        for e in accepted
    ]
    new_ids = _insert_new(conn, rows) if rows else set()
    hours: dict[tuple[int, str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    counted: set[str] = set()
    for e in accepted:
        if e.id in new_ids and e.id not in counted:
            counted.add(e.id)
            hour = hours[(e.occurred_at // 1000 // HOUR * HOUR, e.direction.value, e.reason.value, e.category or "")]
            hour[0] += 1
            hour[1] += e.people
    if hours:
        _add_rollups(conn, gate, hours)
    if refused:
        refused.sort(key=lambda r: r.index)
        _record_refused(conn, gate, refused, received_at)
    new: list[str] = []
    duplicates: list[str] = []
    seen: set[str] = set()
    for e in accepted:
        if e.id in seen:
            continue
        seen.add(e.id)
        (new if e.id in new_ids else duplicates).append(e.id)
    return EventBatchResult(
        new=new,
        duplicates=duplicates,
        refused=[RefusedEvent(id=r.event_id, index=r.index, reason=r.reason) for r in refused],
    )
