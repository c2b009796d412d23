"""Public booking: entry time slots of parks, and bookings beside the permits they produced.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "booking_slots",
        sa.Column("park_id", sa.Integer, sa.ForeignKey("parks.id"), primary_key=True),
        sa.Column("start_minute", sa.Integer, primary_key=True),
        sa.Column("minutes", sa.Integer, nullable=False),
        sa.Column("quota", sa.Integer, nullable=False),
    )
    op.create_table(
        "bookings",
        sa.Column("permit_id", sa.String(16), sa.ForeignKey("permits.id"), primary_key=True),
        sa.Column("park_id", sa.Integer, sa.ForeignKey("parks.id"), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("slot_minute", sa.Integer, nullable=True),
        sa.Column("people", sa.Integer, nullable=False),
        sa.Column("party", sa.String(200), nullable=False),
        sa.Column("price_tiyn", sa.BigInteger, nullable=False),
        sa.Column("payment_reference", sa.String(64), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_bookings_park_day", "bookings", ["park_id", "day"])


def downgrade() -> None:
    op.drop_index("ix_bookings_park_day", table_name="bookings")
    op.drop_table("bookings")
    op.drop_table("booking_slots")
