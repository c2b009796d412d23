"""Dashboard: roll-ups by gate and category (hourly and daily), gate health, web sessions.

``event_counts`` gains ``gate_id`` and ``category`` in its key (the dashboard breaks load down by gate and
category, the open-data export by category); ``event_days`` holds the same per park-local day so long
ranges (year on year, occupancy over all time) read a few hundred rows instead of tens of thousands. Both
are rebuilt from ``events`` here. ``gate_health`` keeps what each gate last said about itself when it
synced; ``web_sessions`` holds the server-side sessions of the web pages.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

LOCAL_OFFSET_S = 5 * 3600  # Kazakhstan: UTC+5, as server.stats


def _rollup(name: str, time_column: str) -> None:
    op.create_table(
        name,
        sa.Column("park_id", sa.Integer, sa.ForeignKey("parks.id"), primary_key=True),
        sa.Column(time_column, sa.BigInteger, primary_key=True),
        sa.Column("gate_id", sa.Integer, sa.ForeignKey("gates.id"), primary_key=True),
        sa.Column("direction", sa.String(8), primary_key=True),
        sa.Column("reason", sa.String(32), primary_key=True),
        sa.Column("category", sa.String(32), primary_key=True),
        sa.Column("events", sa.BigInteger, nullable=False),
        sa.Column("people", sa.BigInteger, nullable=False),
    )


def upgrade() -> None:
    op.drop_table("event_counts")
    _rollup("event_counts", "hour")
    _rollup("event_days", "day")
    # integer division of BIGINT floors on both databases for the non-negative times we store
    for table, bucket in (
        ("event_counts", "occurred_at / 3600000 * 3600"),
        ("event_days", f"(occurred_at / 1000 + {LOCAL_OFFSET_S}) / 86400 * 86400 - {LOCAL_OFFSET_S}"),
    ):
        column = "hour" if table == "event_counts" else "day"
        op.execute(
            f"INSERT INTO {table} (park_id, {column}, gate_id, direction, reason, category, events, people) "
            f"SELECT park_id, {bucket}, gate_id, direction, reason, COALESCE(category, ''), count(*), sum(people) "
            f"FROM events GROUP BY park_id, {bucket}, gate_id, direction, reason, COALESCE(category, '')"
        )
    op.create_table(
        "gate_health",
        sa.Column("gate_id", sa.Integer, sa.ForeignKey("gates.id"), primary_key=True),
        sa.Column("last_seen_at", sa.BigInteger, nullable=False),
        sa.Column("outbox", sa.Integer, nullable=True),
        sa.Column("readers", sa.Text, nullable=True),
        sa.Column("software", sa.String(64), nullable=True),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("web_sessions")
    op.drop_table("gate_health")
    op.drop_table("event_days")
    op.drop_table("event_counts")
    op.create_table(
        "event_counts",
        sa.Column("park_id", sa.Integer, sa.ForeignKey("parks.id"), primary_key=True),
        sa.Column("hour", sa.BigInteger, primary_key=True),
        sa.Column("direction", sa.String(8), primary_key=True),
        sa.Column("reason", sa.String(32), primary_key=True),
        sa.Column("events", sa.BigInteger, nullable=False),
        sa.Column("people", sa.BigInteger, nullable=False),
    )
    op.execute(
        "INSERT INTO event_counts (park_id, hour, direction, reason, events, people) "
        "SELECT park_id, occurred_at / 3600000 * 3600, direction, reason, count(*), sum(people) "
        "FROM events GROUP BY park_id, occurred_at / 3600000 * 3600, direction, reason"
    )
