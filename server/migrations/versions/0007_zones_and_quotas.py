"""Capacity: zones of a park with their own limits and gates, how early a slot booking admits, and who
issued a permit beyond a quota.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "zones",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("park_id", sa.Integer, sa.ForeignKey("parks.id"), nullable=False),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("daily_quota", sa.Integer, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("park_id", "slug", name="uq_zones_park_slug"),
    )
    op.create_table(
        "zone_gates",
        sa.Column("gate_id", sa.Integer, sa.ForeignKey("gates.id"), primary_key=True),
        sa.Column("zone_id", sa.Integer, sa.ForeignKey("zones.id"), nullable=False),
    )
    op.create_index("ix_zone_gates_zone", "zone_gates", ["zone_id"])
    # plain columns with a default: no table copy on SQLite
    op.add_column("parks", sa.Column("slot_early_minutes", sa.Integer, nullable=False, server_default="0"))
    op.add_column("permits", sa.Column("quota_override_by", sa.String(100), nullable=True))


def downgrade() -> None:
    op.drop_column("permits", "quota_override_by")
    op.drop_column("parks", "slot_early_minutes")
    op.drop_index("ix_zone_gates_zone", table_name="zone_gates")
    op.drop_table("zone_gates")
    op.drop_table("zones")
