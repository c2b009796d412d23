"""Zones: when each gate joined its zone, so a gate moved in counts for the zone only from then on.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain column with a default: no table copy on SQLite; 0 keeps the gates already placed counting as before
    op.add_column("zone_gates", sa.Column("joined_at", sa.BigInteger, nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("zone_gates", "joined_at")
