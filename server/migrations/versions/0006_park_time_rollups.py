"""Park-local days by the park's time zone; people in and out per gate by hour and day; offline entries index.

``event_days`` was keyed by a fixed UTC+5 midnight; it is rebuilt here from the hourly ``event_counts``
with each park's own zone (``parks.timezone``: Asia/Almaty was UTC+6 before 2024-03-01), as
``server.park_time`` now defines a park's day everywhere. ``people_hours`` and ``people_days`` hold only
the people admitted in and out per gate, the dashboard's load numbers, filled from the two roll-ups.
``ix_events_offline_entries`` is a partial index of the offline admissions the conflict review reads.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ADMITTING = "('granted', 'granted_unlisted', 'manual')"  # protocol.Reason.admits when this was written
OFFLINE_ENTRY = "direction = 'entry' AND granted AND permit_id IS NOT NULL AND flags LIKE '%offline%'"
OLD_OFFSET_S = 5 * 3600  # revision 0004's fixed park-local day


def _people_rollup(name: str, time_column: str) -> None:
    op.create_table(
        name,
        sa.Column("park_id", sa.Integer, sa.ForeignKey("parks.id"), primary_key=True),
        sa.Column(time_column, sa.BigInteger, primary_key=True),
        sa.Column("gate_id", sa.Integer, sa.ForeignKey("gates.id"), primary_key=True),
        sa.Column("entered", sa.BigInteger, nullable=False),
        sa.Column("exited", sa.BigInteger, nullable=False),
    )


def _rebuild_event_days(conn: sa.Connection) -> None:
    """``event_days`` again from ``event_counts``, each hour in the local day of its park's zone."""
    conn.execute(sa.text("DELETE FROM event_days"))
    for park_id, timezone in conn.execute(sa.text("SELECT id, timezone FROM parks")).all():
        zone = ZoneInfo(timezone)
        days: dict[int, int] = {}
        totals: dict[tuple[int, int, str, str, str], list[int]] = defaultdict(lambda: [0, 0])
        rows = conn.execute(
            sa.text(
                "SELECT hour, gate_id, direction, reason, category, events, people FROM event_counts "
                "WHERE park_id = :park"
            ),
            {"park": park_id},
        )
        for hour, gate_id, direction, reason, category, events, people in rows:
            day = days.get(hour)
            if day is None:
                local = dt.datetime.fromtimestamp(hour, zone).date()
                day = days[hour] = int(dt.datetime.combine(local, dt.time(), zone).timestamp())
            total = totals[(day, gate_id, direction, reason, category)]
            total[0] += events
            total[1] += people
        if totals:
            conn.execute(
                sa.text(
                    "INSERT INTO event_days (park_id, day, gate_id, direction, reason, category, events, people) "
                    "VALUES (:park, :day, :gate, :direction, :reason, :category, :events, :people)"
                ),
                [
                    {"park": park_id, "day": d, "gate": g, "direction": di, "reason": r, "category": c}
                    | {"events": n, "people": p}
                    for (d, g, di, r, c), (n, p) in totals.items()
                ],
            )


def _fill_people(table: str, source: str, column: str) -> None:
    op.execute(
        f"INSERT INTO {table} (park_id, {column}, gate_id, entered, exited) "
        f"SELECT park_id, {column}, gate_id, "
        "sum(CASE WHEN direction = 'entry' THEN people ELSE 0 END), "
        "sum(CASE WHEN direction = 'exit' THEN people ELSE 0 END) "
        f"FROM {source} WHERE reason IN {ADMITTING} GROUP BY park_id, {column}, gate_id"
    )


def upgrade() -> None:
    _rebuild_event_days(op.get_bind())
    _people_rollup("people_hours", "hour")
    _people_rollup("people_days", "day")
    _fill_people("people_hours", "event_counts", "hour")
    _fill_people("people_days", "event_days", "day")
    op.create_index(
        "ix_events_offline_entries",
        "events",
        ["park_id", "occurred_at"],
        sqlite_where=sa.text(OFFLINE_ENTRY),
        postgresql_where=sa.text(OFFLINE_ENTRY),
    )


def downgrade() -> None:
    op.drop_index("ix_events_offline_entries", "events")
    op.drop_table("people_days")
    op.drop_table("people_hours")
    op.execute("DELETE FROM event_days")
    day = f"(hour + {OLD_OFFSET_S}) / 86400 * 86400 - {OLD_OFFSET_S}"
    op.execute(
        "INSERT INTO event_days (park_id, day, gate_id, direction, reason, category, events, people) "
        f"SELECT park_id, {day}, gate_id, direction, reason, category, sum(events), sum(people) "
        f"FROM event_counts GROUP BY park_id, {day}, gate_id, direction, reason, category"
    )
