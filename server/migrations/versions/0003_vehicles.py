"""Vehicles: vehicle passes by plate and the parks they open, passes in the change feed, plates on events.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vehicle_passes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("plate", sa.String(16), nullable=False, unique=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("vehicle_class", sa.String(16), nullable=False),
        sa.Column("valid_from", sa.BigInteger, nullable=True),
        sa.Column("valid_until", sa.BigInteger, nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "vehicle_pass_parks",
        sa.Column("pass_id", sa.Integer, sa.ForeignKey("vehicle_passes.id"), primary_key=True),
        sa.Column("park_id", sa.Integer, sa.ForeignKey("parks.id"), primary_key=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("change_seq", sa.BigInteger, nullable=False, unique=True),
    )
    op.create_index("ix_vehicle_pass_parks_park_change", "vehicle_pass_parks", ["park_id", "change_seq"])
    # a plain nullable column: no table copy on SQLite, and the AUTOINCREMENT sequence is kept
    op.add_column("change_seq", sa.Column("pass_id", sa.Integer, nullable=True))
    op.add_column("events", sa.Column("plate", sa.String(16), nullable=True))


def downgrade() -> None:
    op.drop_column("events", "plate")
    op.execute("DELETE FROM change_seq WHERE pass_id IS NOT NULL")
    with op.batch_alter_table("change_seq", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_column("pass_id")
    op.drop_index("ix_vehicle_pass_parks_park_change", table_name="vehicle_pass_parks")
    op.drop_table("vehicle_pass_parks")
    op.drop_table("vehicle_passes")
