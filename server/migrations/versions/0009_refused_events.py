"""Refused events: what a gate sent that the server did not store, and why; gates report what they set aside.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "refused_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("park_id", sa.Integer, sa.ForeignKey("parks.id"), nullable=False),
        sa.Column("gate_id", sa.Integer, sa.ForeignKey("gates.id"), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=True),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("event", sa.Text, nullable=False),
        sa.Column("received_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("gate_id", "event_id", name="uq_refused_events_gate_event"),
    )
    op.create_index("ix_refused_events_park_received", "refused_events", ["park_id", "received_at"])
    # a plain nullable column: no table copy on SQLite
    op.add_column("gate_health", sa.Column("refused", sa.Integer, nullable=True))


def downgrade() -> None:
    op.drop_column("gate_health", "refused")
    op.drop_index("ix_refused_events_park_received", "refused_events")
    op.drop_table("refused_events")
